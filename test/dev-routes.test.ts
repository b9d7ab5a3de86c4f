import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../src/index';
import { verifyToken } from '../src/http/auth';

describe('POST /dev/token', () => {
  it('does not exist outside development', async () => {
    expect(env.ENVIRONMENT).not.toBe('development');
    const res = await SELF.fetch('http://x/dev/token', { method: 'POST' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('in development, mints a working token for tenant demo', async () => {
    const devEnv = { ...env, ENVIRONMENT: 'development' };
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await worker.fetch(new Request('http://x/dev/token', { method: 'POST' }), devEnv, ctx);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string };
    const caller = await verifyToken(body.token, devEnv);
    expect(caller.tenantId).toBe('demo');
    expect([...caller.scopes]).toContain('flows:write');
  });
});
