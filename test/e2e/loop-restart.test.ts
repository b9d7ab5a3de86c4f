import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../helpers/fake-api';
import { api, type DevServer, startDevServer, until } from './harness';

describe('killing wrangler dev mid-loop', () => {
  let server: DevServer;
  let outside: FakeApi;
  beforeAll(async () => {
    [server, outside] = await Promise.all([startDevServer(), startFakeApi()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), outside?.close()]);
  });

  it('a for_each resumes after a SIGKILL: finished items are not run again, the one in flight runs again, results stay in order', async () => {
    const flow = await api(server, 'POST', '/v1/flows', {
      name: 'loop',
      trigger: { type: 'manual' },
      blocks: [
        {
          id: 'each',
          type: 'for_each',
          params: {
            items: '{{trigger.items}}',
            blocks: [
              { id: 'note', type: 'log', params: { message: 'item {{item}}' } },
              {
                id: 'call',
                type: 'http_request',
                params: { method: 'GET', url: `${outside.url}/slow/1500?item={{item}}`, timeoutMs: 20000, retries: 0 },
              },
            ],
          },
        },
      ],
    });
    const items = [0, 1, 2, 3, 4, 5];
    const runId = (await api(server, 'POST', `/v1/flows/${flow.body.id}/runs`, { input: { items } })).body.id as string;
    const calls = () => outside.requests.filter((r) => r.path === '/slow/1500');
    await until(
      async () => calls().length,
      (n) => n === 3,
      20_000,
    );

    await server.kill();
    const restarted = await startDevServer({ stateDir: server.stateDir });
    try {
      const run = (
        await until(
          () => api(restarted, 'GET', `/v1/runs/${runId}`),
          (r) => r.body.status === 'succeeded',
          60_000,
        )
      ).body;
      const callsByItem = items.map((item) => calls().filter((r) => r.query === `?item=${item}`).length);
      expect(callsByItem).toEqual([1, 1, 2, 1, 1, 1]); // item 2 was in flight at the kill
      const steps = run.steps.filter((s: { blockId: string }) => s.blockId === 'note' || s.blockId === 'call');
      expect(steps.map((s: { blockId: string; iteration: number }) => `${s.blockId}@${s.iteration}`).sort()).toEqual(
        items.flatMap((i) => [`call@${i}`, `note@${i}`]).sort(),
      );
      const note = (i: number) => steps.find((s: { blockId: string; iteration: number }) => s.blockId === 'note' && s.iteration === i);
      for (const i of [0, 1, 2]) expect(note(i).attempts).toBe(1);
      const logs = (await api(restarted, 'GET', `/v1/runs/${runId}/logs?limit=1000`)).body.items;
      const noteLines = logs.filter((e: { type: string; blockId: string }) => e.type === 'log' && e.blockId === 'note');
      expect(noteLines.map((e: { message: string }) => e.message)).toEqual(items.map((i) => `item ${i}`));
      const loop = run.steps.find((s: { blockId: string }) => s.blockId === 'each');
      expect(loop.output.count).toBe(6);
      expect(loop.output.results.map((r: { status: number }) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    } finally {
      await restarted.stop();
    }
  });
});
