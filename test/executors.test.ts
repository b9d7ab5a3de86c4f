/**
 * Flow executors: what they keep warm and when they forget it, that two
 * flows never share one, that the run index catches up within a second, and
 * that their storage migrates itself.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { FlowConfigCache, type FlowConfig } from '../src/runs/flow-config';
import { MIGRATIONS } from '../src/runs/executor/schema';
import { runExecutor } from '../src/runs/executors';
import { executorOfRun } from '../src/runs/run-ids';
import { call, callJson, createFlow, flowBody, token } from './helpers/api';
import { executorObject, fakeUrl, listedRuns, received, runToEnd, setSecret, setVariable, stepOf, uniquePath, until } from './helpers/runs';

let tok: string;
beforeAll(async () => {
  tok = await token({ tenant: 'executors' });
});

const getRun = (runId: string) => callJson('GET', `/v1/runs/${runId}`, { token: tok });
const start = async (flowId: string) => (await callJson('POST', `/v1/flows/${flowId}/runs`, { token: tok, body: {} })).body.id as string;

/** A flow that logs a variable and sends a secret to the fake API. */
async function warmFlow(path: string) {
  const flow = await createFlow(tok, {
    blocks: [
      { id: 'say', type: 'log', params: { message: 'region={{VARIABLES.region}}' } },
      {
        id: 'send',
        type: 'http_request',
        params: { method: 'POST', url: fakeUrl(path), headers: { 'X-Key': '{{SECRETS.api_key}}' }, body: {} },
      },
    ],
  });
  await setVariable(tok, flow.id, 'region', 'eu-west');
  await setSecret(tok, flow.id, 'api_key', 'first-secret-value-1');
  return flow;
}

describe('the warm cache', () => {
  it('a run started right after a write uses it: a variable, a secret, the definition', async () => {
    const path = uniquePath('echo');
    const flow = await warmFlow(path);
    const first = await runToEnd(tok, flow.id); // the executors are warm from here on
    expect(first.run.status).toBe('succeeded');
    expect(stepOf(first.run, 'say').output.message).toBe('region=eu-west');

    await setVariable(tok, flow.id, 'region', 'us-east');
    expect(stepOf((await runToEnd(tok, flow.id)).run, 'say').output.message).toBe('region=us-east');

    await setSecret(tok, flow.id, 'api_key', 'second-secret-value-2');
    await runToEnd(tok, flow.id);
    expect((await received(path)).map((r) => r.headers['x-key'])).toEqual([
      'first-secret-value-1',
      'first-secret-value-1',
      'second-secret-value-2',
    ]);

    const v2 = await callJson('PUT', `/v1/flows/${flow.id}`, {
      token: tok,
      body: flowBody({ blocks: [{ id: 'say', type: 'log', params: { message: 'version two' } }] }),
    });
    expect(v2.status).toBe(200);
    const after = (await runToEnd(tok, flow.id)).run;
    expect(after.flowVersion).toBe(2);
    expect(stepOf(after, 'say').output.message).toBe('version two');

    expect((await call('DELETE', `/v1/flows/${flow.id}/variables/region`, { token: tok })).status).toBe(204);
    expect(
      (
        await call('PUT', `/v1/flows/${flow.id}`, {
          token: tok,
          body: flowBody({ blocks: [{ id: 'say', type: 'log', params: { message: '{{VARIABLES.region}}' } }] }),
        })
      ).status,
    ).toBe(200);
    expect(stepOf((await runToEnd(tok, flow.id)).run, 'say').error).toMatch(/variable "region" is not set/);
  });

  it('a run started before a write keeps its version and variables; a secret rotated while it waits is used when it wakes', async () => {
    const path = uniquePath('echo');
    const flow = await createFlow(tok, {
      blocks: [
        { id: 'pause', type: 'delay', params: { seconds: 1 } },
        { id: 'say', type: 'log', params: { message: 'region={{VARIABLES.region}}' } },
        {
          id: 'send',
          type: 'http_request',
          params: { method: 'POST', url: fakeUrl(path), headers: { 'X-Key': '{{SECRETS.api_key}}' }, body: {} },
        },
      ],
    });
    await setVariable(tok, flow.id, 'region', 'eu-west');
    await setSecret(tok, flow.id, 'api_key', 'first-secret-value-1');
    const runId = await start(flow.id);
    await until(
      () => getRun(runId),
      (r) => r.body.status === 'waiting',
    );
    await setVariable(tok, flow.id, 'region', 'us-east');
    await setSecret(tok, flow.id, 'api_key', 'second-secret-value-2');
    await callJson('PUT', `/v1/flows/${flow.id}`, { token: tok, body: flowBody({ blocks: [] }) });

    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'succeeded',
    );
    expect(done.body.flowVersion).toBe(1);
    expect(stepOf(done.body, 'say').output.message).toBe('region=eu-west');
    expect((await received(path)).map((r) => r.headers['x-key'])).toEqual(['second-secret-value-2']);
  });

  it('deleting the flow takes the secrets away from runs in flight: nothing is sent after the key is shredded', async () => {
    const path = uniquePath('echo');
    const flow = await createFlow(tok, {
      blocks: [
        { id: 'pause', type: 'delay', params: { seconds: 1 } },
        {
          id: 'send',
          type: 'http_request',
          params: { method: 'POST', url: fakeUrl(path), headers: { 'X-Key': '{{SECRETS.api_key}}' }, body: {} },
        },
      ],
    });
    await setSecret(tok, flow.id, 'api_key', 'doomed-secret-value-3');
    const runId = await start(flow.id);
    await until(
      () => getRun(runId),
      (r) => r.body.status === 'waiting',
    );
    expect((await call('DELETE', `/v1/flows/${flow.id}`, { token: tok })).status).toBe(204);

    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'failed',
    );
    expect(stepOf(done.body, 'send').error).toBe("cannot open the flow's secrets: the flow no longer exists");
    expect(await received(path)).toEqual([]);
    expect((await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} })).status).toBe(404);
  });
});

describe('the cache itself', () => {
  it('does not hand out a load that an invalidation overtook: it loads again', async () => {
    const answers = ['read before the write', 'read after the write'];
    const pending: Array<(value: string) => void> = [];
    const cache = new FlowConfigCache(
      () => new Promise((resolve) => pending.push((name) => resolve({ tenantId: 'acme', name } as unknown as FlowConfig))),
      60_000,
    );
    const got = cache.get('acme', Date.now());
    cache.invalidate(); // the write lands while the first load is in flight
    pending.shift()!(answers[0]!);
    await new Promise((resolve) => setTimeout(resolve, 0));
    pending.shift()!(answers[1]!);
    expect(((await got) as unknown as { name: string }).name).toBe('read after the write');
  });
});

describe('memory', () => {
  it('a waiting run is not held in memory; its alarm reads it back and it finishes', async () => {
    const flow = await createFlow(tok, {
      blocks: [
        { id: 'pause', type: 'delay', params: { seconds: 1 } },
        { id: 'say', type: 'log', params: { message: 'woke' } },
      ],
    });
    const runId = await start(flow.id);
    await until(
      () => getRun(runId),
      (r) => r.body.status === 'waiting',
    );
    const held = await (await runExecutor(env, runId)!.operations()).heldRuns();
    expect(held).not.toContain(runId);
    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'succeeded',
    );
    expect(stepOf(done.body, 'say').output.message).toBe('woke');
  });
});

describe('isolation', () => {
  it('two flows never share an executor, and an executor answers only for its own runs', async () => {
    const a = await createFlow(tok);
    const b = await createFlow(tok);
    const [runA, runB] = [(await runToEnd(tok, a.id)).run.id, (await runToEnd(tok, b.id)).run.id];
    expect(executorOfRun(runA)!.flowId).toBe(a.id);
    expect(executorOfRun(runB)!.flowId).toBe(b.id);
    const idsIn = (runId: string) =>
      runInDurableObject(executorObject(runId), (_instance, state) =>
        state.storage.sql
          .exec<{ id: string }>('SELECT id FROM runs')
          .toArray()
          .map((row) => row.id),
      );
    expect(await idsIn(runA)).not.toContain(runB);
    expect(await idsIn(runB)).not.toContain(runA);

    // A run id forged to name flow A's executor with flow B's run in it is just an unknown run there.
    const named = executorOfRun(runB)!;
    const forged = `${runB.slice(0, 30)}${a.id.slice(4)}${runB.at(-1)}`;
    expect(executorOfRun(forged)).toEqual({ flowId: a.id, shard: named.shard });
    expect((await getRun(forged)).status).toBe(404);
  });

  it('a request naming a run that never existed leaves no storage behind', async () => {
    const flow = await createFlow(tok);
    const ghost = `run_01KA0000000000000000000000${flow.id.slice(4)}1`;
    expect((await getRun(ghost)).status).toBe(404);
    const tables = await runInDurableObject(executorObject(ghost), (_instance, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
    );
    expect(tables).toEqual([]);
  });
});

describe('the run index', () => {
  it('shows a finished run with its final status in both lists within a second, without being asked to catch up', async () => {
    const flow = await createFlow(tok);
    const { run } = await runToEnd(tok, flow.id);
    const finishedAt = Date.now();
    const listedFinished = (route: string) => async () => {
      const items = (await callJson('GET', route, { token: tok })).body.items as Array<{ id: string; status: string }>;
      return items.find((item) => item.id === run.id)?.status;
    };
    await until(listedFinished(`/v1/flows/${flow.id}/runs`), (status) => status === 'succeeded', 1000);
    await until(listedFinished(`/v1/runs?flowId=${flow.id}`), (status) => status === 'succeeded', 1000);
    expect(Date.now() - finishedAt).toBeLessThan(1000);
  });

  it("GET /v1/runs lists the tenant's runs across flows, newest first, by status and flow, page by page", async () => {
    const lister = await token({ tenant: 'run-lister' });
    const one = await createFlow(lister, { blocks: [{ id: 'a', type: 'log', params: { message: 'x' } }] });
    const two = await createFlow(lister, { blocks: [{ id: 'a', type: 'log', params: { message: '{{VARIABLES.missing}}' } }] });
    const r1 = (await runToEnd(lister, one.id)).run;
    const r2 = (await runToEnd(lister, two.id)).run;
    const r3 = (await runToEnd(lister, one.id)).run;
    expect([r1.status, r2.status, r3.status]).toEqual(['succeeded', 'failed', 'succeeded']);
    await listedRuns(lister, one.id);
    await listedRuns(lister, two.id);

    const ids = async (query: string, tk = lister) => (await callJson('GET', `/v1/runs${query}`, { token: tk })).body;
    expect((await ids('')).items.map((r: { id: string }) => r.id)).toEqual([r3.id, r2.id, r1.id]);
    expect((await ids('?status=failed')).items.map((r: { id: string }) => r.id)).toEqual([r2.id]);
    expect((await ids(`?flowId=${one.id}`)).items.map((r: { id: string }) => r.id)).toEqual([r3.id, r1.id]);
    expect((await ids(`?flowId=${one.id}&status=failed`)).items).toEqual([]);
    const page1 = await ids('?limit=2');
    expect(page1.items.map((r: { id: string }) => r.id)).toEqual([r3.id, r2.id]);
    expect(page1.items[0].steps).toBeUndefined();
    const page2 = await ids(`?limit=2&cursor=${page1.nextCursor}`);
    expect(page2).toEqual({ items: [expect.objectContaining({ id: r1.id, flowId: one.id, status: 'succeeded' })], nextCursor: null });

    expect((await ids('', tok)).items.map((r: { id: string }) => r.id)).not.toContain(r1.id);
    for (const bad of ['?status=bogus', '?flowId=nope', '?cursor=run_123', '?limit=0']) {
      const res = await callJson('GET', `/v1/runs${bad}`, { token: lister });
      expect(res.status, bad).toBe(422);
    }
    expect((await callJson('GET', '/v1/runs', { token: await token({ tenant: 'run-lister', scope: 'flows:read' }) })).status).toBe(403);
  });
});

describe('executor storage', () => {
  it('is versioned, and an executor created by an older version migrates itself on first use', async () => {
    const flow = await createFlow(tok);
    const runId = (await runToEnd(tok, flow.id)).run.id;
    const versionOf = (id: string) =>
      runInDurableObject(
        executorObject(id),
        (_instance, state) => state.storage.sql.exec<{ version: number }>('SELECT version FROM schema_version').one().version,
      );
    const current = await versionOf(runId);
    expect(current).toBeGreaterThanOrEqual(1);

    // An executor left at version 0 (only the version table) by an older release.
    const other = await createFlow(tok);
    const ghost = `run_01KA0000000000000000000000${other.id.slice(4)}0`;
    await runInDurableObject(executorObject(ghost), (_instance, state) => {
      state.storage.sql.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
      state.storage.sql.exec('INSERT INTO schema_version (version) VALUES (0)');
    });
    expect((await getRun(ghost)).status).toBe(404); // reading migrates it
    expect(await versionOf(ghost)).toBe(current);
  });

  it('moves runs of engine v2 onto frames: a run waiting in a delay resumes, and nested step keys become items', async () => {
    const flow = await createFlow(tok, {
      blocks: [
        { id: 'a', type: 'log', params: { message: 'a' } },
        { id: 'pause', type: 'delay', params: { seconds: 1 } },
        {
          id: 'each',
          type: 'for_each',
          params: { items: '{{trigger.items}}', blocks: [{ id: 'note', type: 'log', params: { message: '{{item}}' } }] },
        },
      ],
    });
    const definition = (await callJson('GET', `/v1/flows/${flow.id}`, { token: tok })).body;
    // What engine v2 stored: the run's cursor at a delay it waits in, a finished loop's steps as `<block>@<index>`.
    const waiting = `run_01KB0000000000000000000000${flow.id.slice(4)}0`;
    const done = `run_01KB0000000000000000000001${flow.id.slice(4)}0`;
    const tenant = 'executors';
    const wakeAt = Date.now() + 300;
    await runInDurableObject(executorObject(waiting), (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
      for (const migration of MIGRATIONS.slice(0, 2)) sql.exec(migration);
      sql.exec('INSERT INTO schema_version (version) VALUES (2)');
      const body = JSON.stringify({ name: 'v2', trigger: { type: 'manual' }, blocks: definition.blocks });
      sql.exec('INSERT INTO snapshots (id, body) VALUES (1, ?), (2, ?), (3, ?)', body, '{}', '{}');
      const run = `INSERT INTO runs (id, tenant_id, flow_version, definition_ref, variables_ref, env_ref, trigger_type, payload, actor, created_at,
        status, cursor, started_at, finished_at, error, wake_at, cancel_requested) VALUES (?, ?, 1, 1, 2, 3, 'manual', ?, 'u', ?, ?, ?, ?, ?, NULL, ?, 0)`;
      const t = new Date().toISOString();
      sql.exec(run, waiting, tenant, '{"items":[7,8]}', t, 'waiting', 'pause', t, null, wakeAt);
      sql.exec(run, done, tenant, '{"items":[7,8]}', t, 'succeeded', null, t, t, wakeAt + 86_400_000);
      const step =
        'INSERT INTO steps (run_id, block_id, status, attempts, executions, started_at, finished_at, output) VALUES (?, ?, ?, 1, 1, ?, ?, ?)';
      sql.exec(step, waiting, 'a', 'succeeded', t, t, '{"message":"a"}');
      sql.exec(step, waiting, 'pause', 'running', t, null, '{"sleptSeconds":1}');
      for (const [id, output] of [
        ['a', '{"message":"a"}'],
        ['pause', '{"sleptSeconds":1}'],
        ['each', '{"count":2,"results":[{"message":"7"},{"message":"8"}]}'],
        ['note@0', '{"message":"7"}'],
        ['note@1', '{"message":"8"}'],
      ])
        sql.exec(step, done, id, 'succeeded', t, t, output);
      for (const [seq, id] of [
        [1, waiting],
        [1, done],
      ] as const)
        sql.exec('INSERT INTO events (run_id, seq, body) VALUES (?, ?, ?)', id, seq, '{}');
    });

    const finished = (await getRun(done)).body;
    expect(
      finished.steps
        .filter((s: { blockId: string }) => s.blockId === 'note')
        .map((s: { iteration: number; output: unknown }) => [s.iteration, s.output]),
    ).toEqual([
      [0, { message: '7' }],
      [1, { message: '8' }],
    ]);

    const resumed = await until(
      () => getRun(waiting),
      (r) => r.body.status === 'succeeded',
    );
    expect(stepOf(resumed.body, 'a').attempts).toBe(1);
    expect(stepOf(resumed.body, 'pause')).toMatchObject({ status: 'succeeded', attempts: 1, output: { sleptSeconds: 1 } });
    expect(stepOf(resumed.body, 'each').output).toEqual({ count: 2, results: [{ message: '7' }, { message: '8' }] });
  });
});
