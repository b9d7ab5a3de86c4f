/**
 * Run control (contract 1.2): a retry policy on any block, waiting for an
 * event, re-running and replaying runs, concurrency limits, against the
 * real executor, D1 and the fake outside API.
 */
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { callJson, createFlow, token } from './helpers/api';
import { fakeUrl, received, runToEnd, stepOf, uniquePath, until } from './helpers/runs';

let tok: string;
beforeAll(async () => {
  tok = await token({ tenant: 'control' });
});

const getRun = (runId: string) => callJson('GET', `/v1/runs/${runId}`, { token: tok });

describe('retry policy on any block', () => {
  it('tries a failed step again after its backoff, the run waiting durably meanwhile; attempts count the tries', async () => {
    const key = crypto.randomUUID();
    const flow = await createFlow(tok, {
      blocks: [
        {
          id: 'call',
          type: 'http_request',
          params: { method: 'GET', url: fakeUrl(`/flaky/${key}/2/500`), retries: 0 },
          retry: { attempts: 3, backoffSeconds: 1, factor: 1 },
        },
      ],
    });
    const runId = (await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} })).body.id as string;
    const waiting = await until(
      () => getRun(runId),
      (r) => r.body.status === 'waiting',
    );
    expect(stepOf(waiting.body, 'call')).toMatchObject({
      status: 'waiting',
      error: `HTTP 500 from 127.0.0.1:${new URL(fakeUrl('/')).port} after 1 attempt`,
    });
    expect(Date.parse(stepOf(waiting.body, 'call').waitingUntil)).toBeGreaterThan(Date.now() - 1000);
    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
      15_000,
    );
    expect(done.body.status).toBe('succeeded');
    expect(stepOf(done.body, 'call')).toMatchObject({ status: 'succeeded', attempts: 3, output: { status: 200 } });
  });

  it('onError applies after the last attempt', async () => {
    const path = uniquePath('always-500');
    const { run } = await runToEnd(
      tok,
      (
        await createFlow(tok, {
          blocks: [
            {
              id: 'call',
              type: 'http_request',
              params: { method: 'GET', url: fakeUrl(`/status/500?${path}`), retries: 0 },
              retry: { attempts: 1, backoffSeconds: 1 },
              onError: 'alert',
            },
            { id: 'after', type: 'log', params: { message: 'not reached' } },
            { id: 'alert', type: 'log', params: { message: 'gave up: {{error.message}}' } },
          ],
        })
      ).id,
    );
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'call')).toMatchObject({ status: 'failed', attempts: 2 });
    expect(stepOf(run, 'after').status).toBe('skipped');
    expect((await received('/status/500')).filter((r) => r.query.includes(path))).toHaveLength(2);
  });

  it('refuses a bad policy with 422 naming it', async () => {
    const bad = await callJson('POST', '/v1/flows', {
      token: tok,
      body: {
        name: 'x',
        trigger: { type: 'manual' },
        blocks: [{ id: 'a', type: 'log', params: { message: 'a' }, retry: { attempts: 11 } }],
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe('blocks[0].retry.attempts');
  });
});

describe('waiting for an event', () => {
  const approval = (extra: Record<string, unknown> = {}) => [
    {
      id: 'ask',
      type: 'http_request',
      params: { method: 'POST', url: fakeUrl(`/echo?${crypto.randomUUID()}`), body: { approveAt: '{{callbacks.approve}}' }, retries: 0 },
    },
    { id: 'approve', type: 'wait_for_event', params: { timeoutSeconds: 600, ...extra } },
    { id: 'done', type: 'log', params: { message: 'approved by {{steps.approve.data.by}}' } },
  ];

  async function waitingRun(blocks: unknown[]) {
    const flow = await createFlow(tok, { blocks });
    const runId = (await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} })).body.id as string;
    const run = await until(
      () => getRun(runId),
      (r) => r.body.status === 'waiting',
    );
    return { flow, runId, run: run.body };
  }

  it('an earlier block sends the callback URL; a POST to it ends the wait once, and the run goes on', async () => {
    const { runId, run } = await waitingRun(approval());
    expect(stepOf(run, 'approve')).toMatchObject({ status: 'waiting', output: null });
    const url = JSON.parse(stepOf(run, 'ask').output.body.body).approveAt as string;
    expect(url).toMatch(new RegExp(`^https://powerflows\\.test/v1/callbacks/${runId}/approve/[A-Za-z0-9_-]{43}$`));

    const forged = await SELF.fetch(url.replace(/.{4}$/, 'AAAA'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(forged.status).toBe(404);
    const first = await SELF.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ana' }),
    });
    expect(first.status).toBe(202);
    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'succeeded',
    );
    expect(stepOf(done.body, 'approve').output).toEqual({ data: { by: 'ana' }, receivedAt: expect.any(String), via: 'callback' });
    expect(stepOf(done.body, 'done').output.message).toBe('approved by ana');
    const again = await SELF.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"by":"eve"}' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('conflict');
  });

  it('through the API: 202 and the run goes on; a second delivery is 409; other tenants 404; a reader 403; bad bodies 4xx', async () => {
    const { runId } = await waitingRun(approval());
    const path = `/v1/runs/${runId}/events/approve`;
    expect((await callJson('POST', path, { token: await token({ tenant: 'someone-else' }), body: { data: 1 } })).status).toBe(404);
    expect(
      (await callJson('POST', path, { token: await token({ tenant: 'control', scope: 'runs:read' }), body: { data: 1 } })).status,
    ).toBe(403);
    expect((await callJson('POST', path, { token: tok, body: { data: 'x'.repeat(70_000) } })).status).toBe(413);
    expect(
      (await callJson('POST', path, { token: tok, rawBody: '{"data":', headers: { 'content-type': 'application/json' } })).status,
    ).toBe(400);
    expect((await callJson('POST', `/v1/runs/${runId}/events/nope`, { token: tok, body: { data: 1 } })).status).toBe(404);

    const sent = await callJson('POST', path, { token: tok, body: { data: { by: 'bo' } } });
    expect(sent.status).toBe(202);
    expect(stepOf(sent.body, 'approve').output).toMatchObject({ data: { by: 'bo' }, via: 'api' });
    const second = await callJson('POST', path, { token: tok, body: { data: { by: 'cy' } } });
    expect(second.status).toBe(409);
    expect(
      (
        await until(
          () => getRun(runId),
          (r) => r.body.status === 'succeeded',
        )
      ).body.status,
    ).toBe('succeeded');
  });

  it('an event before the step waits is 409', async () => {
    const { runId } = await waitingRun([{ id: 'nap', type: 'delay', params: { seconds: 60 } }, ...approval()]);
    const early = await callJson('POST', `/v1/runs/${runId}/events/approve`, { token: tok, body: { data: 1 } });
    expect(early.status).toBe(409);
    expect(early.body.error.message).toMatch(/not waiting/);
    await callJson('POST', `/v1/runs/${runId}/cancel`, { token: tok });
  });

  it('times out: fails by default, or continues with no data', async () => {
    const failing = await waitingRun([{ id: 'approve', type: 'wait_for_event', params: { timeoutSeconds: 1 } }]);
    const failed = await until(
      () => getRun(failing.runId),
      (r) => r.body.status === 'failed',
      15_000,
    );
    expect(stepOf(failed.body, 'approve').error).toBe('no event arrived within 1 s');
    const going = await waitingRun([{ id: 'approve', type: 'wait_for_event', params: { timeoutSeconds: 1, onTimeout: 'continue' } }]);
    const continued = await until(
      () => getRun(going.runId),
      (r) => r.body.status === 'succeeded',
      15_000,
    );
    expect(stepOf(continued.body, 'approve').output).toEqual({ data: null, receivedAt: null, via: 'timeout' });
  });

  it('in a loop each item has its own callback; the API needs ?iteration= when several wait', async () => {
    const { runId, run } = await waitingRun([
      {
        id: 'each',
        type: 'for_each',
        params: { items: [1, 2], concurrency: 2, blocks: approval() },
      },
    ]);
    const urls = run.steps
      .filter((s: { blockId: string }) => s.blockId === 'ask')
      .map((s: any) => JSON.parse(s.output.body.body).approveAt);
    expect(urls).toHaveLength(2);
    expect(urls[1]).toMatch(/\?items=1$/);
    const vague = await callJson('POST', `/v1/runs/${runId}/events/approve`, { token: tok, body: { data: 1 } });
    expect(vague.status).toBe(409);
    expect(vague.body.error.message).toMatch(/2 items of the loop wait/);
    expect(
      (await callJson('POST', `/v1/runs/${runId}/events/approve?iteration=1`, { token: tok, body: { data: { by: 'one' } } })).status,
    ).toBe(202);
    expect(
      (await SELF.fetch(urls[0], { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"by":"zero"}' })).status,
    ).toBe(202);
    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'succeeded',
    );
    expect(done.body.steps.filter((s: { blockId: string }) => s.blockId === 'done').map((s: any) => s.output.message)).toEqual([
      'approved by zero',
      'approved by one',
    ]);
  });

  it('refuses {{callbacks.<id>}} of a block that is not there or takes no events', async () => {
    for (const target of ['nope', 'done']) {
      const res = await callJson('POST', '/v1/flows', {
        token: tok,
        body: {
          name: 'x',
          trigger: { type: 'manual' },
          blocks: [{ id: 'done', type: 'log', params: { message: `{{callbacks.${target}}}` } }],
        },
      });
      expect(res.status, target).toBe(422);
    }
  });
});

describe('re-running a run', () => {
  const rerun = (runId: string, body?: unknown, token = tok) =>
    callJson('POST', `/v1/runs/${runId}/rerun`, { token, ...(body ? { body } : {}) });

  it('from the failed step after fixing a URL: steps before it are carried over and not executed again', async () => {
    const path = uniquePath('rerun');
    const blocks = (failingUrl: string) => [
      {
        id: 'notify',
        type: 'http_request',
        params: { method: 'POST', url: fakeUrl(`/echo?${path}`), body: { key: '{{trigger.key}}' }, retries: 0 },
      },
      { id: 'check', type: 'condition', params: { left: '{{trigger.size}}', op: 'gt', right: '100' }, then: 'store', else: 'small' },
      { id: 'store', type: 'http_request', params: { method: 'GET', url: failingUrl, retries: 0 } },
      { id: 'done', type: 'log', params: { message: 'stored {{trigger.key}}' }, next: null },
      { id: 'small', type: 'log', params: { message: 'too small' } },
    ];
    const flow = await createFlow(tok, { blocks: blocks(fakeUrl('/status/500')) });
    const { run: failed } = await runToEnd(tok, flow.id, { key: 'cat.jpg', size: 4096 });
    expect(failed.status).toBe('failed');
    expect((await rerun(failed.id, { from: 'failed', version: 'current' })).status).toBe(202); // the same URL: fails again, but fine to ask

    const fixed = await callJson('PUT', `/v1/flows/${flow.id}`, {
      token: tok,
      body: { name: 'rerun', trigger: { type: 'manual' }, blocks: blocks(fakeUrl('/status/200')) },
    });
    expect(fixed.status).toBe(200);
    const started = await rerun(failed.id, { from: 'failed', version: 'current' });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ rerunOf: failed.id, trigger: { key: 'cat.jpg', size: 4096 }, flowVersion: 2 });
    const run = (
      await until(
        () => getRun(started.body.id),
        (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
      )
    ).body;
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'notify')).toMatchObject({ status: 'succeeded', reused: true, output: stepOf(failed, 'notify').output });
    expect(stepOf(run, 'check')).toMatchObject({ status: 'succeeded', reused: true });
    expect(stepOf(run, 'store')).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(stepOf(run, 'store').reused).toBeUndefined();
    expect(stepOf(run, 'small').status).toBe('skipped');
    // The outside call before the failure ran once in all: only the failed run made it.
    expect((await received('/echo')).filter((r) => r.query.includes(path))).toHaveLength(1);
  });

  it('in a loop, starts at the failed item: items that finished are carried over', async () => {
    const key = crypto.randomUUID();
    const flow = await createFlow(tok, {
      blocks: [
        {
          id: 'each',
          type: 'for_each',
          params: {
            items: '{{trigger.items}}',
            blocks: [
              {
                id: 'call',
                type: 'http_request',
                params: { method: 'GET', url: fakeUrl(`/flaky/${key}-{{index}}/{{item.failures}}/500`), retries: 0 },
              },
            ],
          },
        },
      ],
    });
    const { run: failed } = await runToEnd(tok, flow.id, { items: [{ failures: 0 }, { failures: 1 }, { failures: 0 }] });
    expect(failed.status).toBe('failed');
    const started = await rerun(failed.id, { from: 'failed' });
    const run = (
      await until(
        () => getRun(started.body.id),
        (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
      )
    ).body;
    expect(run.status).toBe('succeeded');
    const calls = run.steps.filter((s: { blockId: string }) => s.blockId === 'call');
    expect(calls.map((s: { iteration: number; reused?: boolean }) => [s.iteration, s.reused ?? false])).toEqual([
      [0, true],
      [1, false],
      [2, false],
    ]);
    const byItem = async (i: number) => (await received(`/flaky/${key}-${i}/`)).length;
    expect([await byItem(0), await byItem(1), await byItem(2)]).toEqual([1, 2, 1]);
  });

  it('from the start on the pinned version: a new run of the same input', async () => {
    const flow = await createFlow(tok, { blocks: [{ id: 'say', type: 'log', params: { message: 'hi {{trigger.name}}' } }] });
    const { run: first } = await runToEnd(tok, flow.id, { name: 'ada' });
    await callJson('PUT', `/v1/flows/${flow.id}`, {
      token: tok,
      body: { name: 'x', trigger: { type: 'manual' }, blocks: [{ id: 'say', type: 'log', params: { message: 'bye {{trigger.name}}' } }] },
    });
    const again = await rerun(first.id);
    const run = (
      await until(
        () => getRun(again.body.id),
        (r) => r.body.status === 'succeeded',
      )
    ).body;
    expect(run).toMatchObject({ rerunOf: first.id, flowVersion: 1 });
    expect(stepOf(run, 'say')).toMatchObject({ output: { message: 'hi ada' } });
    expect(stepOf(run, 'say').reused).toBeUndefined();
  });

  it('refuses: 409 from the failed step of a run that succeeded or whose failed block is gone; 404 across tenants; 403 for a reader; 422 a bad body', async () => {
    const flow = await createFlow(tok, {
      blocks: [{ id: 'boom', type: 'http_request', params: { method: 'GET', url: fakeUrl('/status/500'), retries: 0 } }],
    });
    const { run: failed } = await runToEnd(tok, flow.id);
    const ok = await createFlow(tok, { blocks: [{ id: 'say', type: 'log', params: { message: 'hi' } }] });
    const { run: succeeded } = await runToEnd(tok, ok.id);
    expect((await rerun(succeeded.id, { from: 'failed' })).status).toBe(409);
    await callJson('PUT', `/v1/flows/${flow.id}`, {
      token: tok,
      body: { name: 'x', trigger: { type: 'manual' }, blocks: [{ id: 'other', type: 'log', params: { message: 'x' } }] },
    });
    const gone = await rerun(failed.id, { from: 'failed', version: 'current' });
    expect(gone.status).toBe(409);
    expect(gone.body.error.message).toMatch(/no block "boom"/);
    expect((await rerun(failed.id, { from: 'failed' }, await token({ tenant: 'someone-else' }))).status).toBe(404);
    expect((await rerun(failed.id, undefined, await token({ tenant: 'control', scope: 'runs:read' }))).status).toBe(403);
    expect((await rerun(failed.id, { from: 'middle' })).status).toBe(422);
    expect((await rerun('run_nope')).status).toBe(404);
  });
});
