import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { callJson, createFlow, flowBody, token } from './helpers/api';
import { allEvents, executorObject, fakeUrl, listedRuns, received, setSecret, stepOf, uniquePath, until } from './helpers/runs';

const SECRET = 'restart-secret-value-93ac';
let tok: string;
beforeAll(async () => {
  tok = await token({ tenant: 'durable' });
});

const stubOf = executorObject;
const getRun = (runId: string) => callJson('GET', `/v1/runs/${runId}`, { token: tok });

async function start(blocks: unknown[], setup?: (flowId: string) => Promise<void>) {
  const flow = await createFlow(tok, { blocks });
  await setup?.(flow.id);
  const res = await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} });
  return res.body.id as string;
}

/** Reads the executor's storage directly, without waking its step loop. */
async function storageDump(runId: string): Promise<string> {
  return runInDurableObject(stubOf(runId), (_instance, state) => {
    const tables = ['runs', 'steps', 'events', 'snapshots', 'index_outbox'];
    return JSON.stringify(tables.map((t) => state.storage.sql.exec(`SELECT * FROM ${t}`).toArray()));
  });
}

describe('runs survive their object being aborted', () => {
  it('mid-delay: the alarm resumes the run, earlier steps are not run again, secrets are opened again', async () => {
    const path = uniquePath('email');
    const runId = await start(
      [
        { id: 'before', type: 'log', params: { message: 'before' } },
        { id: 'pause', type: 'delay', params: { seconds: 1 } },
        {
          id: 'send',
          type: 'http_request',
          params: { method: 'POST', url: fakeUrl(path), headers: { 'X-Token': '{{SECRETS.api_key}}' }, body: { To: 'ops@example.com' } },
        },
      ],
      (flowId) => setSecret(tok, flowId, 'api_key', SECRET),
    );
    await until(
      () => getRun(runId),
      (r) => r.body.status === 'waiting',
    );
    expect(await storageDump(runId)).not.toContain(SECRET);

    await abortAllDurableObjects();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await runDurableObjectAlarm(stubOf(runId));
    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'succeeded',
    );

    expect(stepOf(done.body, 'before').attempts).toBe(1);
    expect(stepOf(done.body, 'pause')).toMatchObject({ status: 'succeeded', output: { sleptSeconds: 1 } });
    const events = await allEvents(tok, runId);
    expect(events.filter((e) => e.type === 'log' && e.blockId === 'before')).toHaveLength(1);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const requests = await received(path);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.headers['x-token']).toBe(SECRET);
    expect(await storageDump(runId)).not.toContain(SECRET);
  });

  it('mid-step: the watchdog re-runs only the interrupted step, as its next attempt', async () => {
    const key = crypto.randomUUID();
    const runId = await start([
      { id: 'first', type: 'log', params: { message: 'first' } },
      { id: 'slow', type: 'http_request', params: { method: 'GET', url: fakeUrl(`/slow/1500?k=${key}`), retries: 0 } },
      { id: 'last', type: 'log', params: { message: 'last' } },
    ]);
    await until(
      () => received('/slow/1500'),
      (reqs) => reqs.some((r) => r.query.includes(key)),
    );

    await abortAllDurableObjects();
    expect(await runDurableObjectAlarm(stubOf(runId))).toBe(true);
    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'succeeded',
    );

    expect(stepOf(done.body, 'first').attempts).toBe(1);
    expect(stepOf(done.body, 'slow')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(stepOf(done.body, 'last')).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect((await received('/slow/1500')).filter((r) => r.query.includes(key))).toHaveLength(2);
    const events = await allEvents(tok, runId);
    expect(events.filter((e) => e.type === 'log' && e.blockId === 'first')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'step' && e.blockId === 'slow' && e.status === 'running').map((e) => e.attempt)).toEqual([1, 2]);
  });

  it('after a restart, opens the secrets its pinned version references, even if the flow has changed since', async () => {
    const path = uniquePath('email');
    const flow = await createFlow(tok, {
      blocks: [
        { id: 'pause', type: 'delay', params: { seconds: 1 } },
        {
          id: 'send',
          type: 'http_request',
          params: { method: 'POST', url: fakeUrl(path), headers: { 'X-Token': '{{SECRETS.old_key}}' }, body: { To: 'x' } },
        },
      ],
    });
    await setSecret(tok, flow.id, 'old_key', SECRET);
    const runId = (await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} })).body.id;
    await until(
      () => getRun(runId),
      (r) => r.body.status === 'waiting',
    );
    const v2 = await callJson('PUT', `/v1/flows/${flow.id}`, {
      token: tok,
      body: flowBody({ blocks: [{ id: 'other', type: 'log', params: { message: 'v2' } }] }),
    });
    expect(v2.body.version).toBe(2);

    await abortAllDurableObjects();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await runDurableObjectAlarm(stubOf(runId));
    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'succeeded',
    );
    expect(done.body.flowVersion).toBe(1);
    expect((await received(path))[0]!.headers['x-token']).toBe(SECRET);
  });
});

describe('a step that keeps killing its object', () => {
  it('is given up after 3 starts instead of being retried forever', async () => {
    const key = crypto.randomUUID();
    const runId = await start([
      { id: 'slow', type: 'http_request', params: { method: 'GET', url: fakeUrl(`/slow/3000?k=${key}`), retries: 0 } },
    ]);
    const calls = () => received('/slow/3000').then((reqs) => reqs.filter((r) => r.query.includes(key)).length);
    for (let crash = 1; crash <= 3; crash++) {
      await until(calls, (n) => n === crash);
      await abortAllDurableObjects();
      expect(await runDurableObjectAlarm(stubOf(runId))).toBe(true);
    }
    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'failed',
    );
    expect(stepOf(done.body, 'slow')).toMatchObject({ status: 'failed', error: 'the step was interrupted 3 times; giving up' });
    expect(await calls()).toBe(3);
  });
});

describe('cancel', () => {
  it('during a delay: ends at once as cancelled, the rest skipped', async () => {
    const runId = await start([
      { id: 'pause', type: 'delay', params: { seconds: 3600 } },
      { id: 'after', type: 'log', params: { message: 'never' } },
    ]);
    await until(
      () => getRun(runId),
      (r) => r.body.status === 'waiting',
    );
    const res = await callJson('POST', `/v1/runs/${runId}/cancel`, { token: tok });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('cancelled');
    expect(stepOf(res.body, 'pause')).toMatchObject({ status: 'failed', error: 'cancelled' });
    expect(stepOf(res.body, 'after').status).toBe('skipped');
    const events = await allEvents(tok, runId);
    expect(events.at(-1)).toMatchObject({ type: 'run', status: 'cancelled' });
    expect((await listedRuns(tok, res.body.flowId))[0].status).toBe('cancelled');
    // Cancelling again changes nothing.
    expect((await callJson('POST', `/v1/runs/${runId}/cancel`, { token: tok })).body.status).toBe('cancelled');
  });

  it('of a run orphaned mid-step (its executor died): ends it without starting the interrupted step again', async () => {
    const key = crypto.randomUUID();
    const runId = await start([
      { id: 'slow', type: 'http_request', params: { method: 'POST', url: fakeUrl(`/slow/1000?k=${key}`), retries: 0 } },
      { id: 'after', type: 'log', params: { message: 'never' } },
    ]);
    const calls = () => received('/slow/1000').then((reqs) => reqs.filter((r) => r.query.includes(key)).length);
    await until(calls, (n) => n === 1);
    await abortAllDurableObjects();
    const res = await callJson('POST', `/v1/runs/${runId}/cancel`, { token: tok });
    expect(res.status).toBe(202);
    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'cancelled',
    );
    expect(stepOf(done.body, 'slow')).toMatchObject({ status: 'failed', error: 'cancelled', attempts: 1 });
    expect(stepOf(done.body, 'after').status).toBe('skipped');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await calls()).toBe(1);
  });

  it('during a running step: the request is aborted and the run ends cancelled at that step', async () => {
    const runId = await start([
      { id: 'slow', type: 'http_request', params: { method: 'GET', url: fakeUrl('/slow/5000'), timeoutMs: 20000, retries: 0 } },
      { id: 'after', type: 'log', params: { message: 'never' } },
    ]);
    await until(
      () => getRun(runId),
      (r) => stepOf(r.body, 'slow').status === 'running',
    );
    const started = Date.now();
    await callJson('POST', `/v1/runs/${runId}/cancel`, { token: tok });
    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'cancelled',
    );
    expect(Date.now() - started).toBeLessThan(4000);
    expect(stepOf(done.body, 'slow')).toMatchObject({ status: 'failed', error: 'cancelled' });
    expect(stepOf(done.body, 'after').status).toBe('skipped');
    expect(done.body.error).toBeNull();
  });
});
