import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../helpers/fake-api';
import { allRunsOf, api, type DevServer, killAndRestart, startDevServer, until } from './harness';

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

describe('killing wrangler dev while steps inside a loop wait', () => {
  let server: DevServer;
  let outside: FakeApi;
  beforeAll(async () => {
    [server, outside] = await Promise.all([startDevServer(), startFakeApi()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), outside?.close()]);
  });

  it('a delay in a loop resumes after the restart: it does not sleep from zero, and no step before it runs again', async () => {
    const flow = await api(server, 'POST', '/v1/flows', {
      name: 'loop with a nap',
      trigger: { type: 'manual' },
      blocks: [
        {
          id: 'each',
          type: 'for_each',
          params: {
            items: '{{trigger.items}}',
            concurrency: 2,
            blocks: [
              {
                id: 'before',
                type: 'http_request',
                params: { method: 'GET', url: `${outside.url}/status/200?before={{item}}`, retries: 0 },
              },
              { id: 'nap', type: 'delay', params: { seconds: 8 } },
              { id: 'after', type: 'http_request', params: { method: 'GET', url: `${outside.url}/status/200?after={{item}}`, retries: 0 } },
            ],
          },
        },
      ],
    });
    const runId = (await api(server, 'POST', `/v1/flows/${flow.body.id}/runs`, { input: { items: [0, 1] } })).body.id as string;
    await until(
      () => api(server, 'GET', `/v1/runs/${runId}`),
      (r) => r.body.status === 'waiting',
      20_000,
    );

    const restarted = await killAndRestart(server);
    const restartedAt = Date.now();
    try {
      const run = (
        await until(
          () => api(restarted, 'GET', `/v1/runs/${runId}`),
          (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
          60_000,
        )
      ).body;
      expect(run.status).toBe('succeeded');
      const naps = run.steps.filter((s: { blockId: string }) => s.blockId === 'nap');
      expect(naps).toHaveLength(2);
      for (const nap of naps) {
        expect(nap.attempts).toBe(1);
        // Sleeping from zero after the restart would end 8 s after it at the earliest.
        expect(Date.parse(nap.finishedAt)).toBeLessThan(restartedAt + 8000);
        expect(Date.parse(nap.finishedAt) - Date.parse(nap.startedAt)).toBeGreaterThanOrEqual(8000);
      }
      const calls = (prefix: string) =>
        outside.requests
          .filter((r) => r.query.startsWith(prefix))
          .map((r) => r.query)
          .sort();
      expect(calls('?before=')).toEqual(['?before=0', '?before=1']);
      expect(calls('?after=')).toEqual(['?after=0', '?after=1']);
    } finally {
      await restarted.stop();
    }
  });
});

describe('killing wrangler dev while loop items wait for child runs', () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a trigger_flow with wait in a loop: after the restart each item waits on the child it started, started once', async () => {
    const child = await api(server, 'POST', '/v1/flows', {
      name: 'slow child',
      trigger: { type: 'flow' },
      blocks: [
        { id: 'nap', type: 'delay', params: { seconds: 4 } },
        { id: 'done', type: 'log', params: { message: 'child {{trigger.input.n}} done' } },
      ],
    });
    const parent = await api(server, 'POST', '/v1/flows', {
      name: 'parent of many',
      trigger: { type: 'manual' },
      blocks: [
        {
          id: 'each',
          type: 'for_each',
          params: {
            items: '{{trigger.items}}',
            concurrency: 2,
            blocks: [
              {
                id: 'start',
                type: 'trigger_flow',
                params: { flowId: child.body.id, input: { n: '{{item}}' }, wait: true, timeoutSeconds: 120 },
              },
            ],
          },
        },
      ],
    });
    const runId = (await api(server, 'POST', `/v1/flows/${parent.body.id}/runs`, { input: { items: [1, 2] } })).body.id as string;
    await until(
      () => api(server, 'GET', `/v1/runs/${runId}`),
      (r) =>
        r.body.status === 'waiting' &&
        r.body.steps.filter((s: { blockId: string; output: unknown }) => s.blockId === 'start' && s.output).length === 2,
      20_000,
    );

    const restarted = await killAndRestart(server);
    try {
      const run = (
        await until(
          () => api(restarted, 'GET', `/v1/runs/${runId}`),
          (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
          90_000,
        )
      ).body;
      expect(run.status).toBe('succeeded');
      const starts = run.steps.filter((s: { blockId: string }) => s.blockId === 'start');
      expect(starts.map((s: { attempts: number }) => s.attempts)).toEqual([1, 1]);
      expect(starts.map((s: { output: { output: { message: string } } }) => s.output.output.message)).toEqual([
        'child 1 done',
        'child 2 done',
      ]);
      const children = await allRunsOf(restarted, child.body.id);
      expect(children).toHaveLength(2);
      expect(new Set(starts.map((s: { output: { runId: string } }) => s.output.runId))).toEqual(
        new Set(children.map((c: { id: string }) => c.id)),
      );
    } finally {
      await restarted.stop();
    }
  });
});
