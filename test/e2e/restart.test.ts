import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../helpers/fake-api';
import { api, startDevServer, type DevServer } from './harness';

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(value).slice(0, 800)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const stepOf = (run: { steps: Array<{ blockId: string }> }, id: string): any => run.steps.find((s) => s.blockId === id);

describe('killing wrangler dev mid-run', () => {
  let server: DevServer;
  let outside: FakeApi;
  beforeAll(async () => {
    [server, outside] = await Promise.all([startDevServer(), startFakeApi()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), outside?.close()]);
  });

  it('runs resume after a SIGKILL and restart: mid-delay and mid-step, finished steps not run again', async () => {
    const delayed = await api(server, 'POST', '/v1/flows', {
      name: 'delayed',
      trigger: { type: 'manual' },
      blocks: [
        { id: 'before', type: 'log', params: { message: 'before the delay' } },
        { id: 'pause', type: 'delay', params: { seconds: 3 } },
        { id: 'email', type: 'http_request', params: { method: 'POST', url: `${outside.url}/email`, body: { To: 'a@example.com' } } },
      ],
    });
    const slow = await api(server, 'POST', '/v1/flows', {
      name: 'slow',
      trigger: { type: 'manual' },
      blocks: [
        { id: 'first', type: 'log', params: { message: 'first' } },
        { id: 'call', type: 'http_request', params: { method: 'GET', url: `${outside.url}/slow/4000`, timeoutMs: 20000, retries: 0 } },
        { id: 'last', type: 'log', params: { message: 'last' } },
      ],
    });
    const runA = (await api(server, 'POST', `/v1/flows/${delayed.body.id}/runs`, {})).body.id;
    const runB = (await api(server, 'POST', `/v1/flows/${slow.body.id}/runs`, {})).body.id;
    await until(() => api(server, 'GET', `/v1/runs/${runA}`), (r) => r.body.status === 'waiting', 15_000);
    await until(async () => outside.requests.filter((r) => r.path === '/slow/4000').length, (n) => n === 1, 15_000);

    await server.kill();
    const restarted = await startDevServer({ stateDir: server.stateDir });
    try {
      const a = await until(() => api(restarted, 'GET', `/v1/runs/${runA}`), (r) => r.body.status === 'succeeded', 60_000);
      const b = await until(() => api(restarted, 'GET', `/v1/runs/${runB}`), (r) => r.body.status === 'succeeded', 60_000);

      expect(stepOf(a.body, 'before').attempts).toBe(1);
      expect(outside.requests.filter((r) => r.path === '/email')).toHaveLength(1);
      expect(stepOf(b.body, 'first').attempts).toBe(1);
      expect(stepOf(b.body, 'call').attempts).toBe(2);
      expect(outside.requests.filter((r) => r.path === '/slow/4000')).toHaveLength(2);

      for (const runId of [runA, runB]) {
        const logs = await api(restarted, 'GET', `/v1/runs/${runId}/logs?limit=1000`);
        const seqs = logs.body.items.map((e: { seq: number }) => e.seq);
        expect(seqs).toEqual(seqs.map((_: number, i: number) => i + 1));
      }
      const beforeLogs = (await api(restarted, 'GET', `/v1/runs/${runA}/logs`)).body.items.filter(
        (e: { type: string; blockId: string }) => e.type === 'log' && e.blockId === 'before',
      );
      expect(beforeLogs).toHaveLength(1);
    } finally {
      await restarted.stop();
    }
  });
});
