import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../src/index';
import { verifyToken } from '../src/http/auth';
import { shardCount } from '../src/runs/executors';
import { createFlow, token } from './helpers/api';
import { indexCaughtUp, runToEnd } from './helpers/runs';

describe('POST /dev/token', () => {
  it('does not exist outside development, and neither do the executor counters', async () => {
    expect(env.ENVIRONMENT).not.toBe('development');
    const res = await SELF.fetch('http://x/dev/token', { method: 'POST' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await SELF.fetch('http://x/dev/flows/flw_01KA0000000000000000000000/executor-stats')).status).toBe(404);
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

describe('GET /dev/flows/:flowId/executor-stats', () => {
  it("in development, adds up what the flow's executors did: runs, D1 reads and index batches", async () => {
    const tok = await token({ tenant: 'dev-stats' });
    const flow = await createFlow(tok);
    await runToEnd(tok, flow.id);
    await runToEnd(tok, flow.id);
    await indexCaughtUp(flow.id);
    const devEnv = { ...env, ENVIRONMENT: 'development' };
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await worker.fetch(new Request(`http://x/dev/flows/${flow.id}/executor-stats`), devEnv, ctx);
    const stats = (await res.json()) as Record<string, number>;
    expect(stats).toMatchObject({ runsStarted: 2, indexedChanges: 2 });
    expect(stats.configLoads).toBeGreaterThanOrEqual(1);
    expect(stats.configLoads).toBeLessThanOrEqual(shardCount(env)); // once per warm shard, not per run
    expect(stats.indexBatches).toBeGreaterThanOrEqual(1);
    expect(stats.indexBatches).toBeLessThanOrEqual(2);
    const bad = await worker.fetch(new Request('http://x/dev/flows/not-a-flow/executor-stats'), devEnv, ctx);
    expect(bad.status).toBe(404);
  });
});
