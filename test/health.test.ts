import { SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';

it('GET /healthz answers ok without auth', async () => {
  const res = await SELF.fetch('http://x/healthz');
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ ok: true });
});
