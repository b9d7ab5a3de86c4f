import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../helpers/fake-api';
import { api, type DevServer, startDevServer, until, killAndRestart } from './harness';

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

    const restarted = await killAndRestart(server);
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

describe('killing wrangler dev while a parent waits for a child', () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the child sleeping in a delay wakes after the restart, and the waiting parent ends with its output', async () => {
    const child = await api(server, 'POST', '/v1/flows', {
      name: 'child',
      trigger: { type: 'flow' },
      blocks: [
        { id: 'nap', type: 'delay', params: { seconds: 3 } },
        { id: 'done', type: 'log', params: { message: 'child of {{trigger.parentRunId}} done' } },
      ],
    });
    const parent = await api(server, 'POST', '/v1/flows', {
      name: 'parent',
      trigger: { type: 'manual' },
      blocks: [{ id: 'start', type: 'trigger_flow', params: { flowId: child.body.id, wait: true, timeoutSeconds: 120 } }],
    });
    const runId = (await api(server, 'POST', `/v1/flows/${parent.body.id}/runs`, {})).body.id as string;
    const waiting = await until(
      () => api(server, 'GET', `/v1/runs/${runId}`),
      (r) => r.body.status === 'waiting',
      15_000,
    );
    const childRunId = waiting.body.steps[0].output.runId as string;

    const restarted = await killAndRestart(server);
    try {
      const run = (
        await until(
          () => api(restarted, 'GET', `/v1/runs/${runId}`),
          (r) => r.body.status === 'succeeded',
          60_000,
        )
      ).body;
      expect(run.steps[0].output).toEqual({ runId: childRunId, status: 'succeeded', output: { message: `child of ${runId} done` } });
      const childRun = (await api(restarted, 'GET', `/v1/runs/${childRunId}`)).body;
      expect(childRun.parentRunId).toBe(runId);
    } finally {
      await restarted.stop();
    }
  });
});
