import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, callJson, createFlow, flowBody, token } from './helpers/api';
import {
  allEvents,
  fakeUrl,
  listedRuns,
  received,
  runBlocks,
  runToEnd,
  setSecret,
  setVariable,
  stepOf,
  uniquePath,
  until,
} from './helpers/runs';

const SECRET = 'pm-srv-token-4b9e1c77d2';
let tok: string;
beforeAll(async () => {
  tok = await token({ tenant: 'runner', sub: 'rita' });
});

const log = (id: string, message: string, extra: Record<string, unknown> = {}) => ({ id, type: 'log', params: { message }, ...extra });
const http = (id: string, params: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'http_request',
  params: { method: 'POST', ...params },
  ...extra,
});

function expectSeqConsecutive(events: Array<{ seq: number }>) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
}

describe('runs API', () => {
  it('POST answers 202 with the queued or running run; GET shows it finished with its steps', async () => {
    const flow = await createFlow(tok, { blocks: [log('a', 'hi')] });
    const started = await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: { input: { x: 1 } } });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ flowId: flow.id, flowVersion: 1, trigger: { type: 'manual', x: 1 } });
    expect(['queued', 'running', 'succeeded']).toContain(started.body.status);
    const done = await until(
      () => callJson('GET', `/v1/runs/${started.body.id}`, { token: tok }),
      (r) => r.body.status === 'succeeded',
    );
    expect(done.body.steps).toEqual([
      expect.objectContaining({ blockId: 'a', type: 'log', status: 'succeeded', attempts: 1, output: { message: 'hi' }, error: null }),
    ]);
    expect(Date.parse(done.body.finishedAt)).toBeGreaterThanOrEqual(Date.parse(done.body.startedAt));
  });

  it('accepts no body at all, and refuses a non-object input with 422', async () => {
    const flow = await createFlow(tok, { blocks: [] });
    const bare = await call('POST', `/v1/flows/${flow.id}/runs`, { token: tok });
    expect(bare.status).toBe(202);
    // An empty stream (what curl -X POST sends through wrangler dev), with and without a JSON type.
    const emptyStream = () => new ReadableStream({ start: (controller) => controller.close() });
    expect((await call('POST', `/v1/flows/${flow.id}/runs`, { token: tok, rawBody: emptyStream() })).status).toBe(202);
    const typed = await call('POST', `/v1/flows/${flow.id}/runs`, {
      token: tok,
      rawBody: emptyStream(),
      headers: { 'content-type': 'application/json' },
    });
    expect(typed.status).toBe(202);
    const bad = await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: { input: [1, 2] } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe('input');
    for (const wait of ['0', '31', 'x']) {
      const res = await callJson('POST', `/v1/flows/${flow.id}/runs?wait=${wait}`, { token: tok, body: {} });
      expect(res.status, wait).toBe(422);
    }
  });

  it('lists runs newest first with a status filter, and pages the logs with after/limit', async () => {
    const flow = await createFlow(tok, {
      blocks: [
        log('a', 'one'),
        log('b', 'two'),
        { id: 'c', type: 'condition', params: { left: '{{trigger.fail}}', op: 'exists' }, then: 'boom', else: null },
        http('boom', { url: '{{trigger.fail}}' }),
      ],
    });
    const ok = await runToEnd(tok, flow.id);
    const failed = await callJson('POST', `/v1/flows/${flow.id}/runs?wait=10`, { token: tok, body: { input: { fail: 'yes' } } });
    expect(failed.body.status).toBe('failed');
    const all = await listedRuns(tok, flow.id);
    expect(all.map((r: { id: string }) => r.id)).toEqual([failed.body.id, ok.run.id]);
    expect(all[0].steps).toBeUndefined();
    const onlyFailed = await listedRuns(tok, flow.id, '?status=failed');
    expect(onlyFailed.map((r: { id: string }) => r.id)).toEqual([failed.body.id]);
    expect((await callJson('GET', `/v1/flows/${flow.id}/runs?status=bogus`, { token: tok })).status).toBe(422);

    const page1 = await callJson('GET', `/v1/runs/${ok.run.id}/logs?limit=3`, { token: tok });
    expect(page1.body.items.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3]);
    expect(page1.body.nextAfter).toBe(3);
    const rest = await callJson('GET', `/v1/runs/${ok.run.id}/logs?after=3&limit=1000`, { token: tok });
    expect(rest.body.items[0].seq).toBe(4);
    const end = await callJson('GET', `/v1/runs/${ok.run.id}/logs?after=${rest.body.nextAfter}`, { token: tok });
    expect(end.body).toEqual({ items: [], nextAfter: null });
    expect((await callJson('GET', `/v1/runs/${ok.run.id}/logs?limit=1001`, { token: tok })).status).toBe(422);
  });

  it('another tenant gets 404 for every run route, and the run is untouched', async () => {
    const flow = await createFlow(tok, { blocks: [{ id: 'wait', type: 'delay', params: { seconds: 60 } }] });
    const started = await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} });
    const other = await token({ tenant: 'intruder' });
    const attempts = await Promise.all([
      callJson('POST', `/v1/flows/${flow.id}/runs`, { token: other, body: {} }),
      callJson('GET', `/v1/flows/${flow.id}/runs`, { token: other }),
      callJson('GET', `/v1/runs/${started.body.id}`, { token: other }),
      callJson('GET', `/v1/runs/${started.body.id}/logs`, { token: other }),
      callJson('POST', `/v1/runs/${started.body.id}/cancel`, { token: other }),
      callJson('GET', '/v1/runs/run_01JD3Q2V7X0000000000000000', { token: tok }),
      callJson('GET', '/v1/runs/not-a-run-id', { token: tok }),
    ]);
    for (const res of attempts) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    const mine = await until(
      () => callJson('GET', `/v1/runs/${started.body.id}`, { token: tok }),
      (r) => r.body.status === 'waiting',
    );
    expect(mine.body.status).toBe('waiting');
    await call('POST', `/v1/runs/${started.body.id}/cancel`, { token: tok });
  });

  it('needs runs:write to start or cancel and runs:read to read', async () => {
    const flow = await createFlow(tok, { blocks: [] });
    const reader = await token({ tenant: 'runner', scope: 'runs:read flows:read' });
    expect((await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: reader, body: {} })).status).toBe(403);
    const writer = await token({ tenant: 'runner', scope: 'runs:write' });
    const started = await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: writer, body: {} });
    expect(started.status).toBe(202);
    expect((await callJson('GET', `/v1/runs/${started.body.id}`, { token: writer })).status).toBe(403);
    expect((await callJson('GET', `/v1/runs/${started.body.id}`, { token: reader })).status).toBe(200);
  });
});

describe('graph walking', () => {
  it('follows next, then/else and next: null, skipping the branch not taken and what was never reached', async () => {
    const blocks = [
      log('start', 'size {{trigger.size}}'),
      { id: 'big', type: 'condition', params: { left: '{{trigger.size}}', op: 'gt', right: '1000' }, then: 'resize', else: 'small' },
      log('resize', 'resizing', { next: 'notify' }),
      log('small', 'small enough', { next: null }),
      log('notify', 'notify'),
      log('tail', 'after notify'),
    ];
    const big = await runBlocks(tok, blocks, { size: 5000 });
    expect(big.run.status).toBe('succeeded');
    expect(big.run.steps.map((s: { blockId: string; status: string }) => `${s.blockId}:${s.status}`)).toEqual([
      'start:succeeded',
      'big:succeeded',
      'resize:succeeded',
      'small:skipped',
      'notify:succeeded',
      'tail:succeeded',
    ]);
    expect(stepOf(big.run, 'big').output).toEqual({ result: true });
    const skippedEvent = big.events.find((e) => e.type === 'step' && e.blockId === 'small');
    const resizeStart = big.events.find((e) => e.type === 'step' && e.blockId === 'resize');
    expect(skippedEvent.seq).toBeLessThan(resizeStart.seq); // marked as soon as the branch is chosen

    const small = await runToEnd(tok, big.flow.id, { size: 10 });
    expect(small.run.steps.map((s: { blockId: string; status: string }) => `${s.blockId}:${s.status}`)).toEqual([
      'start:succeeded',
      'big:succeeded',
      'resize:skipped',
      'small:succeeded',
      'notify:skipped',
      'tail:skipped',
    ]);
    expectSeqConsecutive(small.events);
  });

  it("emits the contract's events in order: run running, step running, logs, step succeeded, …, run final", async () => {
    const { run, events } = await runBlocks(tok, [log('a', 'first', { params: { message: 'first', level: 'warn' } })]);
    expect(events.map((e) => [e.type, e.status ?? e.level, e.blockId ?? null])).toEqual([
      ['run', 'running', null],
      ['step', 'running', 'a'],
      ['log', 'warn', 'a'],
      ['step', 'succeeded', 'a'],
      ['run', 'succeeded', null],
    ]);
    for (const e of events) {
      expect(e.runId).toBe(run.id);
      expect(e.ts).toMatch(/Z$/);
    }
    expect(events[2]).toEqual({
      type: 'log',
      seq: 3,
      ts: expect.any(String),
      runId: run.id,
      blockId: 'a',
      level: 'warn',
      message: 'first',
    });
    expect(events[1]).toMatchObject({ type: 'step', blockId: 'a', status: 'running', attempt: 1 });
  });

  it('an empty flow succeeds at once', async () => {
    const { run } = await runBlocks(tok, []);
    expect(run).toMatchObject({ status: 'succeeded', steps: [] });
  });
});

describe('templates in a run', () => {
  it('keep JSON types in request bodies and read variables, earlier steps, run and flow', async () => {
    const path = uniquePath('echo');
    const { flow, run } = await runBlocks(
      tok,
      [
        log('first', 'key={{trigger.key}}'),
        http('send', {
          url: fakeUrl(path),
          body: {
            size: '{{trigger.size}}',
            tags: '{{trigger.tags}}',
            region: '{{VARIABLES.region}}',
            prev: '{{steps.first.message}}',
            ids: '{{run.id}}|{{flow.id}}|{{flow.name}}',
            missing: '{{trigger.nope}}',
          },
        }),
        log('after', 'status {{steps.send.status}} echoed size {{steps.send.body.body}}'),
      ],
      { key: 'cat.jpg', size: 123, tags: ['a'] },
      (flowId) => setVariable(tok, flowId, 'region', 'eu-west'),
    );
    expect(run.status).toBe('succeeded');
    const [request] = await received(path);
    expect(JSON.parse(request!.body)).toEqual({
      size: 123,
      tags: ['a'],
      region: 'eu-west',
      prev: 'key=cat.jpg',
      ids: `${run.id}|${flow.id}|Email on upload`,
      missing: '',
    });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(stepOf(run, 'after').output.message).toMatch(/^status 200 echoed size /);
  });

  it('a missing variable or secret fails the step with an error naming it', async () => {
    const v = await runBlocks(tok, [log('a', 'to {{VARIABLES.notify_to}}'), log('b', 'never')]);
    expect(v.run.status).toBe('failed');
    expect(stepOf(v.run, 'a')).toMatchObject({ status: 'failed', error: expect.stringContaining('variable "notify_to" is not set') });
    expect(stepOf(v.run, 'b').status).toBe('skipped');
    expect(v.run.error).toMatch(/step "a" failed: .*notify_to/);
    expect(v.events.at(-1)).toMatchObject({ type: 'run', status: 'failed', error: v.run.error });

    const s = await runBlocks(tok, [http('a', { url: fakeUrl(uniquePath('echo')), headers: { 'X-Key': '{{SECRETS.postmark_api_key}}' } })]);
    expect(stepOf(s.run, 'a').error).toMatch(/secret "postmark_api_key" is not set/);
  });
});

describe('secrets in a run', () => {
  it('the seed story: the outside API receives exactly the secret; logs and outputs show *** instead', async () => {
    const path = uniquePath('email');
    const { flow, run, events } = await runBlocks(
      tok,
      [
        log('note', 'New upload {{trigger.key}} with key {{SECRETS.postmark_api_key}}'),
        http('email', {
          url: fakeUrl(path),
          headers: { 'X-Postmark-Server-Token': '{{SECRETS.postmark_api_key}}', Accept: 'application/json' },
          body: { From: 'media@example.com', To: 'ops@example.com', Subject: 'New image {{trigger.key}}' },
        }),
      ],
      { key: 'images/cat.jpg' },
      (flowId) => setSecret(tok, flowId, 'postmark_api_key', SECRET),
    );
    expect(run.status).toBe('succeeded');
    const requests = await received(path);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.headers['x-postmark-server-token']).toBe(SECRET);
    expect(JSON.parse(requests[0]!.body)).toEqual({
      From: 'media@example.com',
      To: 'ops@example.com',
      Subject: 'New image images/cat.jpg',
    });
    expect(stepOf(run, 'note').output.message).toBe('New upload images/cat.jpg with key ***');
    const listed = await listedRuns(tok, flow.id);
    expect(listed).toHaveLength(1);
    const everything = JSON.stringify([run, events, listed]);
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(btoa(SECRET));
    expect(events.find((e) => e.type === 'log').message).toBe('New upload images/cat.jpg with key ***');
  });

  it('masks a secret an outside API echoes back in its body and headers', async () => {
    const { run } = await runBlocks(
      tok,
      [
        http('echo', {
          url: fakeUrl(`${uniquePath('echo')}?k={{SECRETS.api_key}}`),
          headers: { 'x-echo-token': 'Bearer {{SECRETS.api_key}}', Authorization: 'Basic {{SECRETS.basic}}' },
        }),
      ],
      {},
      async (flowId) => {
        await setSecret(tok, flowId, 'api_key', SECRET);
        await setSecret(tok, flowId, 'basic', btoa(`user:${SECRET}`));
      },
    );
    const output = stepOf(run, 'echo').output;
    expect(output.headers['x-echo-token']).toBe('Bearer ***');
    const text = JSON.stringify(run);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(encodeURIComponent(SECRET));
    expect(text).not.toContain(btoa(`user:${SECRET}`));
    expect(text).toContain('***');
  });

  it('shows no secret rendered into a host in an error message', async () => {
    const { run, events } = await runBlocks(
      tok,
      [{ id: 'call', type: 'http_request', params: { method: 'GET', url: 'http://{{SECRETS.host}}/', retries: 0 } }],
      {},
      // allowedHosts lets it through the templated host, so that the request fails on the network.
      (flowId) => setSecret(tok, flowId, 'host', 'private-host-4f2a.invalid', ['private-host-4f2a.invalid']),
    );
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'call').error).toMatch(/^request to \{\{SECRETS\.host\}\} failed after 1 attempt/);
    expect(JSON.stringify([run, events])).not.toContain('private-host-4f2a');
  });

  it("a flow cannot use another flow's secret: the step fails and nothing is sent", async () => {
    const owner = await createFlow(tok);
    await setSecret(tok, owner.id, 'postmark_api_key', SECRET);
    const path = uniquePath('email');
    const { run } = await runBlocks(tok, [http('steal', { url: fakeUrl(path), headers: { 'X-Token': '{{SECRETS.postmark_api_key}}' } })]);
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'steal').error).toMatch(/secret "postmark_api_key" is not set/);
    expect(await received(path)).toHaveLength(0);
  });

  it('allowedHosts: a secret bound to another host fails the step before sending, naming secret and host', async () => {
    const path = uniquePath('email');
    const { run } = await runBlocks(
      tok,
      [http('email', { url: fakeUrl(path), body: { token: 'x-{{SECRETS.postmark_api_key}}' } })],
      {},
      (flowId) => setSecret(tok, flowId, 'postmark_api_key', SECRET, ['api.postmarkapp.com']),
    );
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'email').error).toBe(
      `secret "postmark_api_key" may not be sent to 127.0.0.1:${new URL(fakeUrl('/')).port} (allowed: api.postmarkapp.com)`,
    );
    expect(await received(path)).toHaveLength(0);
  });

  it('allowedHosts binds the rendered host, even when the secret goes in the query string', async () => {
    const path = uniquePath('echo');
    const port = new URL(fakeUrl('/')).port;
    const { run } = await runBlocks(
      tok,
      [
        http('allowed', { method: 'GET', url: `${fakeUrl(path)}?key={{SECRETS.k}}` }),
        http('denied', { method: 'GET', url: `http://localhost:${port}${path}?key={{SECRETS.k}}` }),
      ],
      {},
      (flowId) => setSecret(tok, flowId, 'k', SECRET, [`127.0.0.1:${port}`]),
    );
    expect(stepOf(run, 'allowed').status).toBe('succeeded');
    expect(stepOf(run, 'denied').error).toMatch(/may not be sent to localhost/);
    expect(await received(path)).toHaveLength(1);
  });
});

describe('http_request', () => {
  it('retries 5xx with backoff and records the attempts', async () => {
    const key = crypto.randomUUID();
    const { run, events } = await runBlocks(tok, [http('call', { url: fakeUrl(`/flaky/${key}/2/503`), retries: 2 })]);
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'call')).toMatchObject({ attempts: 3, output: { status: 200, body: { attempt: 3 } } });
    const attempts = events.filter((e) => e.type === 'step' && e.status === 'running').map((e) => e.attempt);
    expect(attempts).toEqual([1, 2, 3]);
    expect(events.filter((e) => e.type === 'log' && e.level === 'warn')).toHaveLength(2);
  });

  it('gives up after the configured retries and records the final failure with its attempts', async () => {
    const key = crypto.randomUUID();
    const { run } = await runBlocks(tok, [http('call', { url: fakeUrl(`/flaky/${key}/5/500`), retries: 1 })]);
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'call')).toMatchObject({ status: 'failed', attempts: 2, output: { status: 500 } });
    expect(stepOf(run, 'call').error).toMatch(/HTTP 500 from .* after 2 attempts/);
  });

  it('honours Retry-After on 429', async () => {
    const key = crypto.randomUUID();
    const started = Date.now();
    const { run } = await runBlocks(tok, [http('call', { url: fakeUrl(`/flaky/${key}/1/429?retryAfter=1`), retries: 1 })]);
    expect(run.status).toBe('succeeded');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const calls = await received(`/flaky/${key}`);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('does not retry 4xx; failOnHttpError: false keeps the step green', async () => {
    const path = `/status/404`;
    const strict = await runBlocks(tok, [http('call', { url: fakeUrl(path) })]);
    expect(stepOf(strict.run, 'call')).toMatchObject({ status: 'failed', attempts: 1 });
    const lenient = await runBlocks(tok, [
      http('call', { url: fakeUrl(path), failOnHttpError: false }),
      log('next', 'got {{steps.call.status}}'),
    ]);
    expect(lenient.run.status).toBe('succeeded');
    expect(stepOf(lenient.run, 'next').output.message).toBe('got 404');
  });

  it('times out a slow response per attempt', async () => {
    const { run } = await runBlocks(tok, [http('call', { method: 'GET', url: fakeUrl('/slow/3000'), timeoutMs: 300, retries: 1 })]);
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'call')).toMatchObject({ attempts: 2, error: expect.stringMatching(/timed out after 300 ms/) });
  });

  it('retries network errors', async () => {
    const { run } = await runBlocks(tok, [http('call', { method: 'GET', url: 'http://127.0.0.1:9/', retries: 1 })]);
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'call')).toMatchObject({ attempts: 2, error: expect.stringMatching(/failed after 2 attempts/) });
  });
});

describe('r2_object', () => {
  it('heads, copies, sets metadata and deletes inside the tenant namespace only', async () => {
    await env.UPLOADS.put('runner/in/cat.jpg', 'JPEGDATA', { httpMetadata: { contentType: 'image/jpeg' }, customMetadata: { a: '1' } });
    await env.UPLOADS.put('victim/in/cat.jpg', 'OTHER TENANT');
    const { run } = await runBlocks(
      tok,
      [
        { id: 'head', type: 'r2_object', params: { action: 'head', key: '{{trigger.key}}' } },
        { id: 'copy', type: 'r2_object', params: { action: 'copy', key: '{{trigger.key}}', destinationKey: 'out/{{run.id}}.jpg' } },
        {
          id: 'meta',
          type: 'r2_object',
          params: { action: 'set_metadata', key: 'out/{{run.id}}.jpg', metadata: { size: '{{steps.head.size}}' } },
        },
        { id: 'check', type: 'r2_object', params: { action: 'head', key: '{{steps.copy.key}}' } },
        { id: 'del', type: 'r2_object', params: { action: 'delete', key: '{{trigger.key}}' } },
      ],
      { key: 'in/cat.jpg' },
    );
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'head').output).toMatchObject({ key: 'in/cat.jpg', size: 8, contentType: 'image/jpeg', customMetadata: { a: '1' } });
    expect(stepOf(run, 'check').output).toMatchObject({ key: `out/${run.id}.jpg`, size: 8, customMetadata: { a: '1', size: '8' } });
    expect(await env.UPLOADS.head('runner/in/cat.jpg')).toBeNull();
    expect(await (await env.UPLOADS.get(`runner/out/${run.id}.jpg`))!.text()).toBe('JPEGDATA');
    expect(await (await env.UPLOADS.get('victim/in/cat.jpg'))!.text()).toBe('OTHER TENANT');
  });

  it.each([['../victim/in/cat.jpg'], ['/victim/in/cat.jpg'], ['in/../../victim/in/cat.jpg'], ['in//cat.jpg']])(
    'refuses the escape %s',
    async (key) => {
      await env.UPLOADS.put('victim/in/cat.jpg', 'OTHER TENANT');
      const { run } = await runBlocks(tok, [{ id: 'x', type: 'r2_object', params: { action: 'delete', key: '{{trigger.key}}' } }], { key });
      expect(run.status).toBe('failed');
      expect(stepOf(run, 'x').error).toMatch(/key may not|relative/);
      expect(await env.UPLOADS.head('victim/in/cat.jpg')).not.toBeNull();
    },
  );
});

describe('versions and concurrency', () => {
  it('a run executes the version current when it was triggered', async () => {
    const flow = await createFlow(tok, { blocks: [{ id: 'wait', type: 'delay', params: { seconds: 1 } }, log('say', 'version one')] });
    const started = await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} });
    const updated = await callJson('PUT', `/v1/flows/${flow.id}`, { token: tok, body: flowBody({ blocks: [log('say', 'version two')] }) });
    expect(updated.body.version).toBe(2);
    const done = await until(
      () => callJson('GET', `/v1/runs/${started.body.id}`, { token: tok }),
      (r) => r.body.status === 'succeeded',
      15_000,
    );
    expect(done.body.flowVersion).toBe(1);
    expect(stepOf(done.body, 'say').output.message).toBe('version one');
    const next = await runToEnd(tok, flow.id);
    expect(next.run.flowVersion).toBe(2);
    expect(stepOf(next.run, 'say').output.message).toBe('version two');
  });

  it('50 runs of one flow started at once all finish, each with consecutive seq', async () => {
    const path = uniquePath('echo');
    const flow = await createFlow(tok, {
      blocks: [log('a', 'run {{run.id}}'), http('b', { url: fakeUrl(path), body: { n: '{{trigger.n}}' } }), log('c', 'done')],
    });
    const runs = await Promise.all(
      Array.from({ length: 50 }, (_, n) => callJson('POST', `/v1/flows/${flow.id}/runs?wait=30`, { token: tok, body: { input: { n } } })),
    );
    expect(runs.map((r) => r.body.status)).toEqual(Array(50).fill('succeeded'));
    for (const r of runs) expectSeqConsecutive(await allEvents(tok, r.body.id));
    const requests = await received(path);
    expect(requests.map((q) => JSON.parse(q.body).n).sort((a: number, b: number) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, n) => n),
    );
  });
});
