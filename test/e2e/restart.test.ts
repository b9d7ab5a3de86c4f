import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../helpers/fake-api';
import { api, startDevServer, stepOf, until, type DevServer, killAndRestart } from './harness';

describe('killing wrangler dev mid-run', () => {
  let server: DevServer;
  let outside: FakeApi;
  beforeAll(async () => {
    [server, outside] = await Promise.all([startDevServer(), startFakeApi()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), outside?.close()]);
  });

  it('every run resumes after a SIGKILL and restart: mid-delay and mid-step, finished steps not run again, none lost', async () => {
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
    const start = async (flowId: string) => (await api(server, 'POST', `/v1/flows/${flowId}/runs`, {})).body.id as string;
    const delayedRuns = await Promise.all([1, 2, 3].map(() => start(delayed.body.id)));
    const slowRuns = await Promise.all([1, 2, 3].map(() => start(slow.body.id)));
    for (const runId of delayedRuns)
      await until(
        () => api(server, 'GET', `/v1/runs/${runId}`),
        (r) => r.body.status === 'waiting',
        15_000,
      );
    await until(
      async () => outside.requests.filter((r) => r.path === '/slow/4000').length,
      (n) => n === 3,
      15_000,
    );

    const restarted = await killAndRestart(server);
    try {
      const finished = async (runId: string) =>
        (
          await until(
            () => api(restarted, 'GET', `/v1/runs/${runId}`),
            (r) => r.body.status === 'succeeded',
            60_000,
          )
        ).body;
      for (const run of await Promise.all(delayedRuns.map(finished))) expect(stepOf(run, 'before').attempts).toBe(1);
      expect(outside.requests.filter((r) => r.path === '/email')).toHaveLength(3);
      for (const run of await Promise.all(slowRuns.map(finished))) {
        expect(stepOf(run, 'first').attempts).toBe(1);
        expect(stepOf(run, 'call').attempts).toBe(2);
      }
      expect(outside.requests.filter((r) => r.path === '/slow/4000')).toHaveLength(6);

      for (const runId of [...delayedRuns, ...slowRuns]) {
        const logs = await api(restarted, 'GET', `/v1/runs/${runId}/logs?limit=1000`);
        const seqs = logs.body.items.map((e: { seq: number }) => e.seq);
        expect(seqs).toEqual(seqs.map((_: number, i: number) => i + 1));
      }
      for (const runId of delayedRuns) {
        const beforeLogs = (await api(restarted, 'GET', `/v1/runs/${runId}/logs`)).body.items.filter(
          (e: { type: string; blockId: string }) => e.type === 'log' && e.blockId === 'before',
        );
        expect(beforeLogs).toHaveLength(1);
      }
      // The index catches up within a second (checked to the millisecond in test/executors.test.ts); a busy machine gets two.
      const statuses = async () =>
        (await api(restarted, 'GET', `/v1/flows/${slow.body.id}/runs`)).body.items.map((r: { status: string }) => r.status);
      expect(await until(statuses, (s) => s.join() === 'succeeded,succeeded,succeeded', 2000)).toHaveLength(3);
    } finally {
      await restarted.stop();
    }
  });
});
