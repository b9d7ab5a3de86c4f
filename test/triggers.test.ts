import {
  abortAllDurableObjects,
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../src/index';
import type { StartRequest } from '../src/runs/executor';
import { tenantRunLimit } from '../src/limits/enforce';
import { sweep } from '../src/runs/sweep';
import { UNKNOWN_DUE } from '../src/triggers/cron';
import { call, callJson, createFlow, flowBody, token } from './helpers/api';
import { fakeUrl, listedRuns, received, runToEnd, stepOf, until } from './helpers/runs';

let acme: string;
let globex: string;
beforeAll(async () => {
  acme = await token({ tenant: 'acme-up' });
  globex = await token({ tenant: 'globex-up' });
});

const logBlock = [{ id: 'say', type: 'log', params: { message: 'got {{trigger.key}}' } }];

const event = (key: string, extra: Record<string, unknown> = {}) => ({
  account: 'acct',
  action: 'PutObject',
  bucket: 'powerflows-uploads',
  object: { key, size: 1234, eTag: `etag-${key}` },
  eventTime: '2026-11-26T12:00:00.000Z',
  ...extra,
});

const runsOf = (tok: string, flowId: string) => listedRuns(tok, flowId);

/** The run's row in the D1 index (written in batches by its executor, within a second). */
const indexRow = (runId: string) => env.DB.prepare('SELECT status FROM runs WHERE id = ?').bind(runId).first<{ status: string }>();

async function deliver(messages: Array<{ id: string; body: unknown }>, bindings: typeof env = env) {
  const batch = createMessageBatch(
    'upload-events',
    messages.map((m) => ({ ...m, timestamp: new Date(), attempts: 1 })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, bindings);
  return getQueueResult(batch, ctx);
}

/**
 * The real bindings, except that the platform refuses to start the runs
 * `refused` picks, with the error an overloaded Durable Object gives: a
 * transient failure outside our code.
 */
function withOverloadedExecutors(refused: (payload: Record<string, unknown>) => boolean): typeof env {
  const executors = env.EXECUTORS;
  const get = (id: DurableObjectId) =>
    new Proxy(executors.get(id), {
      get(stub, prop) {
        if (prop !== 'start') return Reflect.get(stub, prop);
        return async (request: StartRequest) => {
          if (request.trigger && refused(request.trigger.payload))
            throw new Error('Durable Object is overloaded. Too many requests queued.');
          return stub.start(request);
        };
      },
    });
  return { ...env, EXECUTORS: { ...executors, idFromName: (name: string) => executors.idFromName(name), get } as typeof executors };
}

describe('upload events from the queue', () => {
  it("start one run per matching enabled flow of the key's tenant, and nothing else", async () => {
    const jpg = await createFlow(acme, { trigger: { type: 'r2_upload', prefix: 'images/', suffix: '.jpg' }, blocks: logBlock });
    const any = await createFlow(acme, { trigger: { type: 'r2_upload' }, blocks: logBlock });
    const disabled = await createFlow(acme, { trigger: { type: 'r2_upload' }, blocks: logBlock, enabled: false });
    const manual = await createFlow(acme, { blocks: logBlock });
    const theirs = await createFlow(globex, { trigger: { type: 'r2_upload', prefix: 'images/' }, blocks: logBlock });

    const result = await deliver([
      { id: 'm1', body: event('acme-up/images/cat.jpg') },
      { id: 'm2', body: event('acme-up/docs/report.pdf') },
      { id: 'm3', body: event('globex-up/images/dog.png') },
      { id: 'm4', body: event('nobody/images/cat.jpg') },
      { id: 'm5', body: event('acme-up/images/gone.jpg', { action: 'DeleteObject' }) },
      { id: 'm6', body: { not: 'an event' } },
      { id: 'm7', body: 'not even json' },
      { id: 'm8', body: event('no-slash-key') },
    ]);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);

    const jpgRuns = await runsOf(acme, jpg.id);
    expect(jpgRuns).toHaveLength(1);
    expect(jpgRuns[0].trigger).toEqual({
      type: 'r2_upload',
      bucket: 'powerflows-uploads',
      key: 'images/cat.jpg',
      size: 1234,
      eTag: 'etag-acme-up/images/cat.jpg',
      action: 'PutObject',
      eventTime: '2026-11-26T12:00:00.000Z',
    });
    expect((await runsOf(acme, any.id)).map((r) => r.trigger.key).sort()).toEqual(['docs/report.pdf', 'images/cat.jpg']);
    expect(await runsOf(acme, disabled.id)).toEqual([]);
    expect(await runsOf(acme, manual.id)).toEqual([]);
    expect((await runsOf(globex, theirs.id)).map((r) => r.trigger.key)).toEqual(['images/dog.png']);

    const done = await until(
      () => callJson('GET', `/v1/runs/${jpgRuns[0].id}`, { token: acme }),
      (r) => r.body.status === 'succeeded',
    );
    expect(stepOf(done.body, 'say').output.message).toBe('got images/cat.jpg');
  });

  it('a redelivered event never starts a second run', async () => {
    const flow = await createFlow(acme, { trigger: { type: 'r2_upload', prefix: 'twice/' }, blocks: logBlock });
    const body = event('acme-up/twice/a.jpg');
    await deliver([
      { id: 'a', body },
      { id: 'b', body },
    ]);
    await deliver([{ id: 'c', body }]);
    expect(await runsOf(acme, flow.id)).toHaveLength(1);
    // A new version of the object (another eTag) is another event.
    await deliver([{ id: 'd', body: event('acme-up/twice/a.jpg', { object: { key: 'acme-up/twice/a.jpg', size: 1, eTag: 'v2' } }) }]);
    expect(await runsOf(acme, flow.id)).toHaveLength(2);
  });

  it('a transient failure retries only the message that failed', async () => {
    const flow = await createFlow(acme, { trigger: { type: 'r2_upload', prefix: 'flaky/' }, blocks: logBlock });
    const result = await deliver(
      [
        { id: 'ok', body: event('acme-up/flaky/fine.jpg') },
        { id: 'bad', body: event('acme-up/flaky/boom.jpg') },
      ],
      withOverloadedExecutors((payload) => payload.key === 'flaky/boom.jpg'),
    );
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['bad']);
    expect(result.explicitAcks).toEqual(['ok']);
    const retried = await deliver([{ id: 'bad', body: event('acme-up/flaky/boom.jpg') }]);
    expect(retried.explicitAcks).toEqual(['bad']);
    expect((await runsOf(acme, flow.id)).map((r) => r.trigger.key).sort()).toEqual(['flaky/boom.jpg', 'flaky/fine.jpg']);
  });
});

describe('upload filters: content type and size', () => {
  it('start a flow only when every filter it gives matches the object (image/*, exact types, min and max size)', async () => {
    const tok = await token({ tenant: 'filters-up' });
    const images = await createFlow(tok, { trigger: { type: 'r2_upload', contentTypes: ['image/*'] }, blocks: logBlock });
    const documents = await createFlow(tok, {
      trigger: { type: 'r2_upload', contentTypes: ['application/pdf', 'video/mp4'] },
      blocks: logBlock,
    });
    const small = await createFlow(tok, { trigger: { type: 'r2_upload', minSize: 10, maxSize: 100 }, blocks: logBlock });
    const bigImages = await createFlow(tok, {
      trigger: { type: 'r2_upload', prefix: 'in/', contentTypes: ['IMAGE/*'], minSize: 1000 },
      blocks: logBlock,
    });
    const objects: Array<[key: string, contentType: string | undefined, size: number]> = [
      ['in/a.png', 'image/png', 50],
      ['in/b.txt', 'text/plain', 50],
      ['in/c.pdf', 'Application/PDF; charset=binary', 500],
      ['in/d.jpg', 'image/jpeg', 2000],
      ['in/e.bin', undefined, 5],
      ['out/f.webp', 'image/webp', 5000],
    ];
    const messages = [];
    for (const [key, contentType, size] of objects) {
      const full = `filters-up/${key}`;
      const put = await env.UPLOADS.put(full, new Uint8Array(size), contentType ? { httpMetadata: { contentType } } : {});
      messages.push({ id: key, body: event(full, { object: { key: full, size, eTag: put!.etag } }) });
    }
    const result = await deliver(messages);
    expect(result.explicitAcks).toHaveLength(objects.length);
    const keys = async (flowId: string) => (await runsOf(tok, flowId)).map((r) => r.trigger.key).sort();
    expect(await keys(images.id)).toEqual(['in/a.png', 'in/d.jpg', 'out/f.webp']);
    expect(await keys(documents.id)).toEqual(['in/c.pdf']);
    expect(await keys(small.id)).toEqual(['in/a.png', 'in/b.txt']);
    expect(await keys(bigImages.id)).toEqual(['in/d.jpg']);
  });

  it('refuse malformed filters (422)', async () => {
    const tok = await token({ tenant: 'filters-422' });
    const cases: Array<[trigger: Record<string, unknown>, path: string]> = [
      [{ contentTypes: ['*/*'] }, 'trigger.contentTypes[0]'],
      [{ contentTypes: ['image'] }, 'trigger.contentTypes[0]'],
      [{ contentTypes: ['im*/png'] }, 'trigger.contentTypes[0]'],
      [{ contentTypes: [] }, 'trigger.contentTypes'],
      [{ minSize: -1 }, 'trigger.minSize'],
      [{ maxSize: 1.5 }, 'trigger.maxSize'],
      [{ minSize: 10, maxSize: 9 }, 'trigger.maxSize'],
    ];
    for (const [filters, path] of cases) {
      const res = await callJson('POST', '/v1/flows', { token: tok, body: flowBody({ trigger: { type: 'r2_upload', ...filters } }) });
      expect(res.status, JSON.stringify(filters)).toBe(422);
      expect(
        res.body.error.details.map((d: { path: string }) => d.path),
        JSON.stringify(filters),
      ).toContain(path);
    }
  });
});

describe('signed webhooks', () => {
  const hmac = async (key: Uint8Array | string, text: string) => {
    const raw = typeof key === 'string' ? new TextEncoder().encode(key) : key;
    const k = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await crypto.subtle.sign('HMAC', k, new TextEncoder().encode(text)));
  };
  const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
  const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

  async function signedFlow(verify: Record<string, string>, secret: string) {
    const flow = await createFlow(acme, { trigger: { type: 'webhook', verify }, blocks: logBlock });
    const put = await callJson('PUT', `/v1/flows/${flow.id}/secrets/${verify.secret}`, { token: acme, body: { value: secret } });
    expect(put.status).toBe(201);
    return flow;
  }

  async function standard(key: Uint8Array | string, id: string, body: string, ageSeconds = 0) {
    const timestamp = String(Math.floor(Date.now() / 1000) - ageSeconds);
    const signature = b64(await hmac(key, `${id}.${timestamp}.${body}`));
    return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}`, 'content-type': 'application/json' };
  }

  it('Standard Webhooks: a good signature starts a run; a bad one, a stale one or none is 401 and starts nothing; a replay answers the first run', async () => {
    const secret = 'hook-signing-secret-93d1';
    const flow = await signedFlow({ scheme: 'standard-webhooks', secret: 'signing' }, secret);
    const body = '{"order":17}';
    const good = await callJson('POST', flow.hookUrl, { rawBody: body, headers: await standard(secret, 'msg_1', body) });
    expect(good.status).toBe(202);
    const replay = await callJson('POST', flow.hookUrl, { rawBody: body, headers: await standard(secret, 'msg_1', body) });
    expect(replay.body.runId).toBe(good.body.runId);

    const refusals = [
      await standard('not-the-secret-000', 'msg_2', body),
      await standard(secret, 'msg_3', body, 6 * 60),
      { ...(await standard(secret, 'msg_4', body)), 'webhook-signature': 'v1,AAAA' },
      { 'content-type': 'application/json' },
    ];
    const strict = await signedFlow({ scheme: 'standard-webhooks', secret: 'signing' }, secret); // hooks allow 5 calls a minute in tests
    for (const headers of refusals) {
      const res = await callJson('POST', strict.hookUrl, { rawBody: body, headers });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    const tampered = await callJson('POST', flow.hookUrl, { rawBody: '{"order":18}', headers: await standard(secret, 'msg_5', body) });
    expect(tampered.status).toBe(401);
    const runs = await runsOf(acme, flow.id);
    expect(runs.map((r) => r.id)).toEqual([good.body.runId]);
    expect(await runsOf(acme, strict.id)).toEqual([]);
    expect(Object.keys(runs[0].trigger.headers)).not.toContain('webhook-signature');
  });

  it('Standard Webhooks with a whsec_ secret signs with its decoded bytes, as standard libraries do', async () => {
    const raw = crypto.getRandomValues(new Uint8Array(24));
    const flow = await signedFlow({ scheme: 'standard-webhooks', secret: 'signing' }, `whsec_${b64(raw)}`);
    const res = await callJson('POST', flow.hookUrl, { rawBody: '{}', headers: await standard(raw, 'msg_w', '{}') });
    expect(res.status).toBe(202);
  });

  it("hmac-sha256 (GitHub's form): the named header must carry sha256=<hex> of the raw body", async () => {
    const secret = 'github-hook-secret-1c9a';
    const flow = await signedFlow({ scheme: 'hmac-sha256', secret: 'gh', header: 'X-Hub-Signature-256' }, secret);
    const body = '{"action":"opened"}';
    const ok = await callJson('POST', flow.hookUrl, {
      rawBody: body,
      headers: { 'x-hub-signature-256': `sha256=${hex(await hmac(secret, body))}` },
    });
    expect(ok.status).toBe(202);
    const wrong = await callJson('POST', flow.hookUrl, {
      rawBody: body,
      headers: { 'x-hub-signature-256': `sha256=${hex(await hmac('other-secret-000', body))}` },
    });
    expect(wrong.status).toBe(401);
    expect((await callJson('POST', flow.hookUrl, { rawBody: body })).status).toBe(401);
  });

  it('a flow whose signing secret is not set refuses every request; an unsigned flow is unaffected', async () => {
    const flow = await createFlow(acme, {
      trigger: { type: 'webhook', verify: { scheme: 'standard-webhooks', secret: 'missing' } },
      blocks: logBlock,
    });
    const res = await callJson('POST', flow.hookUrl, { rawBody: '{}', headers: await standard('anything-at-all-1', 'msg_m', '{}') });
    expect(res.status).toBe(401);
    const plain = await createFlow(acme, { trigger: { type: 'webhook' }, blocks: logBlock });
    expect((await callJson('POST', plain.hookUrl, { body: {}, headers: { 'webhook-id': 'msg_p' } })).status).toBe(202);
  });
});

describe('upload events: limits and loops', () => {
  it('count against the tenant rate limit: a limited message is retried later and starts nothing', async () => {
    const tok = await token({ tenant: 'queue-greedy' });
    const flow = await createFlow(tok, { trigger: { type: 'r2_upload' }, blocks: logBlock });
    const limit = tenantRunLimit(env);
    const limiter = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName('tenant:queue-greedy'));
    while ((await limiter.take(limit)).allowed);
    const result = await deliver([{ id: 'q1', body: event('queue-greedy/a.jpg') }]);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['q1']);
    expect(await runsOf(tok, flow.id)).toEqual([]);
  });

  it('never start the flow whose own run wrote the object (no endless copy loop), but do start others', async () => {
    const tok = await token({ tenant: 'looper' });
    const copier = await createFlow(tok, {
      trigger: { type: 'r2_upload', prefix: 'in/' },
      blocks: [
        { id: 'copy', type: 'r2_object', params: { action: 'copy', key: '{{trigger.key}}', destinationKey: 'in/copy-of-{{run.id}}.jpg' } },
      ],
    });
    const watcher = await createFlow(tok, { trigger: { type: 'r2_upload', prefix: 'in/' }, blocks: logBlock });
    await env.UPLOADS.put('looper/in/original.jpg', 'x');
    await deliver([{ id: 'u1', body: event('looper/in/original.jpg') }]);
    const [first] = await runsOf(tok, copier.id);
    await until(
      () => callJson('GET', `/v1/runs/${first.id}`, { token: tok }),
      (r) => r.body.status === 'succeeded',
    );
    const copyKey = `looper/in/copy-of-${first.id}.jpg`;
    expect((await env.UPLOADS.head(copyKey))!.customMetadata).toMatchObject({ 'powerflows-flow': copier.id });

    // Production's notification for the copy: the copier must not run again, the watcher must.
    await deliver([{ id: 'u2', body: event(copyKey, { action: 'PutObject' }) }]);
    expect(await runsOf(tok, copier.id)).toHaveLength(1);
    expect((await runsOf(tok, watcher.id)).map((r) => r.trigger.key).sort()).toEqual([`in/copy-of-${first.id}.jpg`, 'in/original.jpg']);
  });
});

describe('PUT /v1/uploads/<path>', () => {
  it('stores the body under the tenant namespace with its content type', async () => {
    const bytes = new Uint8Array(3000).map((_, i) => i % 251);
    const res = await callJson('PUT', '/v1/uploads/images/2026/cat%20one.jpg', {
      token: acme,
      rawBody: bytes,
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ key: 'images/2026/cat one.jpg', size: 3000, eTag: expect.any(String) });
    const stored = await env.UPLOADS.get('acme-up/images/2026/cat one.jpg');
    expect(stored!.httpMetadata?.contentType).toBe('image/jpeg');
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(bytes);
    expect(await env.UPLOADS.head('images/2026/cat one.jpg')).toBeNull();
  });

  it('refuses uploads over MAX_UPLOAD_BYTES with 413 and stores nothing', async () => {
    const res = await callJson('PUT', '/v1/uploads/big.bin', { token: acme, rawBody: new Uint8Array(1024 * 1024 + 1) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(await env.UPLOADS.head('acme-up/big.bin')).toBeNull();
    const exact = await callJson('PUT', '/v1/uploads/exact.bin', { token: acme, rawBody: new Uint8Array(1024 * 1024) });
    expect(exact.status).toBe(201);
  });

  it('asks for a length when the body is a stream of unknown size (411)', async () => {
    const stream = new ReadableStream({
      start: (c) => {
        c.enqueue(new Uint8Array(10));
        c.close();
      },
    });
    const res = await callJson('PUT', '/v1/uploads/stream.bin', { token: acme, rawBody: stream });
    expect(res.status).toBe(411);
    expect(res.body.error.code).toBe('length_required');
  });

  it.each([
    ['..%2Fother-tenant%2Fx.jpg'],
    ['a//b.jpg'],
    ['dir/'],
    ['a/%2E%2E%2Fb'],
    ['%2Fabs.jpg'],
    [`${'x'.repeat(1020)}.jpg`],
    ['bad%ZZ'],
  ])('refuses the path %s with 422', async (path) => {
    const res = await callJson('PUT', `/v1/uploads/${path}`, { token: acme, rawBody: 'x' });
    expect(res.status).toBe(422);
    expect(res.body.error.details[0].path).toBe('path');
  });

  it('needs flows:write', async () => {
    const reader = await token({ tenant: 'acme-up', scope: 'flows:read' });
    expect((await callJson('PUT', '/v1/uploads/x.jpg', { token: reader, rawBody: 'x' })).status).toBe(403);
    expect((await callJson('PUT', '/v1/uploads/x.jpg', { rawBody: 'x' })).status).toBe(401);
  });
});

describe('webhooks', () => {
  async function hookFlow(
    tok = acme,
    blocks: unknown[] = [
      { id: 'say', type: 'log', params: { message: 'x={{trigger.body.x}} q={{trigger.query.q}} h={{trigger.headers.x-custom}}' } },
    ],
  ) {
    return createFlow(tok, { trigger: { type: 'webhook' }, blocks });
  }

  it('start a run with body, headers (no credentials) and query', async () => {
    const flow = await hookFlow();
    const res = await callJson('POST', `${flow.hookUrl}?q=search`, {
      body: { x: 42 },
      headers: { 'x-custom': 'hello', authorization: 'Bearer caller-token', cookie: 'session=abc' },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ runId: expect.stringMatching(/^run_/) });
    const run = await until(
      () => callJson('GET', `/v1/runs/${res.body.runId}`, { token: acme }),
      (r) => r.body.status === 'succeeded',
    );
    expect(run.body.trigger.type).toBe('webhook');
    expect(run.body.trigger.body).toEqual({ x: 42 });
    expect(run.body.trigger.query).toEqual({ q: 'search' });
    expect(run.body.trigger.headers['x-custom']).toBe('hello');
    expect(run.body.trigger.headers.authorization).toBeUndefined();
    expect(run.body.trigger.headers.cookie).toBeUndefined();
    expect(stepOf(run.body, 'say').output.message).toBe('x=42 q=search h=hello');
  });

  it('never hand the flow a credential header: authorization, cookies, signatures, anything named like a token, secret, key or auth', async () => {
    const flow = await hookFlow();
    const credentials = {
      'x-api-key': 'k-1',
      'x-auth-token': 't-1',
      'x-client-secret': 's-1',
      'x-hub-signature-256': 'sha256=00',
      'webhook-signature': 'v1,abc',
      'proxy-authorization': 'Basic eA==',
      'x-authorization-context': 'a-1',
      cookie: 'session=abc',
    };
    const res = await callJson('POST', flow.hookUrl, { body: {}, headers: { ...credentials, 'x-custom': 'kept', 'webhook-id': 'msg_1' } });
    const run = await until(
      () => callJson('GET', `/v1/runs/${res.body.runId}`, { token: acme }),
      (r) => r.body.status === 'succeeded',
    );
    const headers = run.body.trigger.headers as Record<string, string>;
    for (const name of Object.keys(credentials)) expect(headers[name], name).toBeUndefined();
    expect(headers['x-custom']).toBe('kept');
    expect(headers['webhook-id']).toBe('msg_1');
  });

  it('keep a non-JSON body as text; malformed JSON is 400; over 1 MiB is 413', async () => {
    const flow = await hookFlow();
    const text = await callJson('POST', flow.hookUrl, { rawBody: 'plain words', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(202);
    const run = await until(
      () => callJson('GET', `/v1/runs/${text.body.runId}`, { token: acme }),
      (r) => r.body.status === 'succeeded',
    );
    expect(run.body.trigger.body).toBe('plain words');
    const flow2 = await hookFlow();
    expect((await callJson('POST', flow2.hookUrl, { rawBody: '{"x":', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    const flow3 = await hookFlow();
    const big = await callJson('POST', flow3.hookUrl, { rawBody: 'x'.repeat(1024 * 1024 + 1) });
    expect(big.status).toBe(413);
    const deep = await callJson('POST', flow3.hookUrl, {
      rawBody: `${'['.repeat(5000)}${']'.repeat(5000)}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(deep.status).toBe(400);
    expect(deep.body.error.message).toMatch(/nested/);
  });

  it('keep a large payload whole in the run, and only a marker in the shared index', async () => {
    const flow = await hookFlow();
    const res = await callJson('POST', flow.hookUrl, { body: { x: 1, filler: 'f'.repeat(20_000) } });
    const run = await until(
      () => callJson('GET', `/v1/runs/${res.body.runId}`, { token: acme }),
      (r) => r.body.status === 'succeeded',
    );
    expect(run.body.trigger.body.filler).toHaveLength(20_000);
    const [indexed] = await runsOf(acme, flow.id);
    expect(indexed.trigger).toEqual({ type: 'webhook', truncated: true, bytes: expect.any(Number) });
  });

  it('unknown, disabled or no-longer-webhook flows are 404, at once even when the hook was just used', async () => {
    expect((await callJson('POST', '/v1/hooks/hook_doesnotexist', { body: {} })).status).toBe(404);
    const disabled = await createFlow(acme, { trigger: { type: 'webhook' }, blocks: logBlock, enabled: false });
    expect((await callJson('POST', disabled.hookUrl, { body: {} })).status).toBe(404);
    const changed = await hookFlow();
    expect((await callJson('POST', changed.hookUrl, { body: {} })).status).toBe(202); // remembered and warm from here
    await callJson('PUT', `/v1/flows/${changed.id}`, { token: acme, body: flowBody({ trigger: { type: 'manual' } }) });
    expect((await callJson('POST', changed.hookUrl, { body: {} })).status).toBe(404);
    const switchedOff = await hookFlow();
    expect((await callJson('POST', switchedOff.hookUrl, { body: {} })).status).toBe(202);
    await callJson('PUT', `/v1/flows/${switchedOff.id}`, { token: acme, body: flowBody({ trigger: { type: 'webhook' }, enabled: false }) });
    expect((await callJson('POST', switchedOff.hookUrl, { body: {} })).status).toBe(404);
    await callJson('PUT', `/v1/flows/${switchedOff.id}`, { token: acme, body: flowBody({ trigger: { type: 'webhook' } }) });
    expect((await callJson('POST', switchedOff.hookUrl, { body: {} })).status).toBe(202);
    const deleted = await hookFlow();
    expect((await callJson('POST', deleted.hookUrl, { body: {} })).status).toBe(202);
    await call('DELETE', `/v1/flows/${deleted.id}`, { token: acme });
    expect((await callJson('POST', deleted.hookUrl, { body: {} })).status).toBe(404);
  });

  it('are rate limited per hook with Retry-After (HOOK_RATE_LIMIT=5/60 in tests)', async () => {
    const flow = await hookFlow();
    const other = await hookFlow();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call('POST', flow.hookUrl, { body: {} })).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    const limited = await call('POST', flow.hookUrl, { body: {} });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await limited.json()) as any).error.code).toBe('rate_limited');
    expect((await call('POST', other.hookUrl, { body: {} })).status).toBe(202);
  });

  it('rotating the hook invalidates the old URL, at once even when it was just used', async () => {
    const flow = await hookFlow();
    expect((await callJson('POST', flow.hookUrl, { body: {} })).status).toBe(202);
    const rotated = await callJson('POST', `/v1/flows/${flow.id}/hook/rotate`, { token: acme });
    expect(rotated.status).toBe(200);
    expect(rotated.body.hookUrl).toMatch(/^\/v1\/hooks\/hook_/);
    expect(rotated.body.hookUrl).not.toBe(flow.hookUrl);
    expect((await callJson('POST', flow.hookUrl, { body: {} })).status).toBe(404);
    expect((await callJson('POST', rotated.body.hookUrl, { body: {} })).status).toBe(202);
    expect((await callJson('POST', `/v1/flows/${flow.id}/hook/rotate`, { token: globex })).status).toBe(404);
    const manual = await createFlow(acme);
    expect((await callJson('POST', `/v1/flows/${manual.id}/hook/rotate`, { token: acme })).status).toBe(409);
  });
});

describe('schedules', () => {
  async function fire(at: string) {
    const controller = createScheduledController({ scheduledTime: new Date(at), cron: '* * * * *' });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
  }

  /** A minute of an hour at least an hour from now: ticks are never in the past. */
  const later = (() => {
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 + 2 * 3_600_000;
    return (minutes: number, seconds = 0) => new Date(hour + minutes * 60_000 + seconds * 1000).toISOString();
  })();
  const dueOf = (flowId: string) =>
    env.DB.prepare('SELECT next_due_at AS due FROM flows WHERE id = ?').bind(flowId).first<string | null>('due');
  const setDue = (flowId: string, due: string) => env.DB.prepare('UPDATE flows SET next_due_at = ? WHERE id = ?').bind(due, flowId).run();

  it('store each flow its next due minute when it is saved: only enabled schedules have one', async () => {
    const tok = await token({ tenant: 'cron-due' });
    const before = Date.now();
    const every5 = await createFlow(tok, { trigger: { type: 'schedule', cron: '*/5 * * * *' }, blocks: logBlock });
    const off = await createFlow(tok, { trigger: { type: 'schedule', cron: '* * * * *' }, blocks: logBlock, enabled: false });
    const manual = await createFlow(tok, { blocks: logBlock });
    const due = Date.parse((await dueOf(every5.id))!);
    expect(due).toBeGreaterThan(before);
    expect(due - before).toBeLessThanOrEqual(5 * 60_000);
    expect(new Date(due).getUTCMinutes() % 5).toBe(0);
    expect(await dueOf(off.id)).toBeNull();
    expect(await dueOf(manual.id)).toBeNull();
    // Enabling it (a new version) gives it one; so does changing the expression.
    const enabled = await callJson('PUT', `/v1/flows/${off.id}`, {
      token: tok,
      body: flowBody({ trigger: off.trigger, blocks: logBlock }),
    });
    expect(enabled.status).toBe(200);
    expect(Date.parse((await dueOf(off.id))!) - Date.now()).toBeLessThanOrEqual(60_000);
    // In a time zone: 09:00 in Berlin is 08:00 UTC in winter (and 07:00 in summer).
    const berlin = await createFlow(tok, { trigger: { type: 'schedule', cron: '0 9 * * *', timezone: 'Europe/Berlin' }, blocks: logBlock });
    expect(await dueOf(berlin.id)).toMatch(/T08:00:00\.000Z$/);
  });

  it('start due flows once per minute, not others, even when the handler runs twice', async () => {
    const tok = await token({ tenant: 'cron-tenant' });
    const every5 = await createFlow(tok, { trigger: { type: 'schedule', cron: '*/5 * * * *' }, blocks: logBlock });
    const every7 = await createFlow(tok, { trigger: { type: 'schedule', cron: '*/7 * * * *' }, blocks: logBlock });
    const off = await createFlow(tok, { trigger: { type: 'schedule', cron: '* * * * *' }, blocks: logBlock, enabled: false });
    // As if saved just before: due at their next minutes after later(4).
    await setDue(every5.id, later(5));
    await setDue(every7.id, later(7));

    await fire(later(5));
    await fire(later(5, 30));
    const runs = await runsOf(tok, every5.id);
    expect(runs).toHaveLength(1);
    expect(runs[0].trigger).toEqual({ type: 'schedule', cron: '*/5 * * * *', scheduledTime: later(5) });
    expect(await runsOf(tok, every7.id)).toEqual([]);
    expect(await runsOf(tok, off.id)).toEqual([]);
    expect(await dueOf(every5.id)).toBe(later(10));
    expect(await dueOf(every7.id)).toBe(later(7));

    await fire(later(7));
    expect(await runsOf(tok, every7.id)).toHaveLength(1);
    expect(await runsOf(tok, every5.id)).toHaveLength(1);
    await fire(later(10));
    expect(await runsOf(tok, every5.id)).toHaveLength(2);
    expect(await dueOf(every7.id)).toBe(later(14));
  });

  it('start a due minute the tick missed, late, within 5 minutes; skip older ones', async () => {
    const tok = await token({ tenant: 'cron-late' });
    const flow = await createFlow(tok, { trigger: { type: 'schedule', cron: '*/5 * * * *' }, blocks: logBlock });
    await setDue(flow.id, later(20));
    await fire(later(23));
    const runs = await runsOf(tok, flow.id);
    expect(runs.map((r) => r.trigger.scheduledTime)).toEqual([later(20)]);
    expect(await dueOf(flow.id)).toBe(later(25));

    await setDue(flow.id, later(30));
    await fire(later(40));
    expect(await runsOf(tok, flow.id)).toHaveLength(1);
    expect(await dueOf(flow.id)).toBe(later(45));
  });

  it('fire a schedule saved before due times were kept when its expression matches the minute', async () => {
    const tok = await token({ tenant: 'cron-migrated' });
    const flow = await createFlow(tok, { trigger: { type: 'schedule', cron: '*/5 * * * *' }, blocks: logBlock });
    await setDue(flow.id, UNKNOWN_DUE); // what migration 0004 stores for them
    await fire(later(3));
    expect(await runsOf(tok, flow.id)).toEqual([]);
    expect(await dueOf(flow.id)).toBe(later(5));
    await setDue(flow.id, UNKNOWN_DUE);
    await fire(later(5));
    expect((await runsOf(tok, flow.id)).map((r) => r.trigger.scheduledTime)).toEqual([later(5)]);
  });

  it('run a Europe/Berlin schedule at its UTC minute, and move it on across the change to summer time', async () => {
    const tok = await token({ tenant: 'cron-berlin' });
    const flow = await createFlow(tok, { trigger: { type: 'schedule', cron: '0 9 * * *', timezone: 'Europe/Berlin' }, blocks: logBlock });
    // 2027-03-28 is the last Sunday of March: 09:00 in Berlin is 08:00 UTC the day before, 07:00 UTC that day.
    await setDue(flow.id, '2027-03-27T08:00:00.000Z');
    await fire('2027-03-27T08:00:00.000Z');
    const runs = await runsOf(tok, flow.id);
    expect(runs.map((r) => r.trigger)).toEqual([
      { type: 'schedule', cron: '0 9 * * *', timezone: 'Europe/Berlin', scheduledTime: '2027-03-27T08:00:00.000Z' },
    ]);
    expect(await dueOf(flow.id)).toBe('2027-03-28T07:00:00.000Z');
    await fire('2027-03-28T07:00:00.000Z');
    expect(await runsOf(tok, flow.id)).toHaveLength(2);
    expect(await dueOf(flow.id)).toBe('2027-03-29T07:00:00.000Z');
  });

  it('refuse an unknown time zone, and a cron expression that is invalid in any zone (422)', async () => {
    const tok = await token({ tenant: 'cron-422' });
    const bad = await callJson('POST', '/v1/flows', {
      token: tok,
      body: flowBody({ trigger: { type: 'schedule', cron: '0 9 * * *', timezone: 'Europe/Atlantis' } }),
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details).toEqual([
      { path: 'trigger.timezone', message: expect.stringMatching(/unknown time zone 'Europe\/Atlantis'/) },
    ]);
    const badCron = await callJson('POST', '/v1/flows', {
      token: tok,
      body: flowBody({ trigger: { type: 'schedule', cron: '0 25 * * *', timezone: 'Asia/Tokyo' } }),
    });
    expect(badCron.status).toBe(422);
    expect(badCron.body.error.details[0]).toEqual({ path: 'trigger.cron', message: 'hour field: 25 is out of range 0-23' });
  });
});

describe('the sweep', () => {
  it('nudges a run the index has shown running for minutes: its executor picks it up and re-runs the interrupted step', async () => {
    const tok = await token({ tenant: 'swept' });
    const key = crypto.randomUUID();
    const flow = await createFlow(tok, {
      blocks: [{ id: 'slow', type: 'http_request', params: { method: 'GET', url: fakeUrl(`/slow/1500?k=${key}`), retries: 0 } }],
    });
    const runId = (await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} })).body.id;
    const calls = () => received('/slow/1500').then((reqs) => reqs.filter((r) => r.query.includes(key)).length);
    await until(calls, (n) => n === 1);
    await until(
      () => indexRow(runId),
      (row) => row?.status === 'running',
    );
    await abortAllDurableObjects(); // the step loop dies mid-step; nothing but the sweep touches the run below
    await env.DB.prepare('UPDATE runs SET started_at = ? WHERE id = ?')
      .bind(new Date(Date.now() - 5 * 60_000).toISOString(), runId)
      .run();

    expect((await sweep(env)).nudged).toBeGreaterThanOrEqual(1);
    await until(calls, (n) => n === 2);
    const done = await until(
      () => callJson('GET', `/v1/runs/${runId}`, { token: tok }),
      (r) => r.body.status === 'succeeded',
    );
    expect(stepOf(done.body, 'slow').attempts).toBe(2);
  });

  it('expires index rows past retention and expired live tickets', async () => {
    const tok = await token({ tenant: 'swept2' });
    const flow = await createFlow(tok, { blocks: logBlock });
    const old = '2020-01-01T00:00:00.000Z';
    await env.DB.prepare(
      `INSERT INTO runs (id, tenant_id, flow_id, flow_version, status, trigger_type, "trigger", created_at, finished_at) VALUES (?, 'swept2', ?, 1, 'succeeded', 'manual', '{}', ?, ?)`,
    )
      .bind(`run_01DTE4YM000000000000000000${flow.id.slice(4)}0`, flow.id, old, old)
      .run();
    await env.DB.prepare(`INSERT INTO live_tickets VALUES ('h', 'swept2', 'u', 'flow', ?, ?)`).bind(flow.id, old).run();
    const recent = (await runToEnd(tok, flow.id)).run;
    await until(
      () => indexRow(recent.id),
      (row) => row?.status === 'succeeded',
    );
    await sweep(env);
    const listed = await callJson('GET', `/v1/flows/${flow.id}/runs`, { token: tok });
    expect(listed.body.items.map((r: { id: string }) => r.id)).toEqual([recent.id]);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM live_tickets WHERE tenant_id = 'swept2'").first('n')).toBe(0);
  });
});

describe('per-tenant rate limit on starting runs', () => {
  it("answers 429 with Retry-After once the tenant's bucket is empty; other tenants are unaffected", async () => {
    const tok = await token({ tenant: 'greedy' });
    const flow = await createFlow(tok, { blocks: [] });
    const limiter = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName('tenant:greedy'));
    const limit = tenantRunLimit(env);
    while ((await limiter.take(limit)).allowed);
    const res = await call('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const upload = await call('PUT', '/v1/uploads/a.jpg', { token: tok, rawBody: 'x' });
    expect(upload.status).toBe(429);
    const other = await createFlow(acme, { blocks: [] });
    expect((await call('POST', `/v1/flows/${other.id}/runs`, { token: acme, body: {} })).status).toBe(202);
  });
});
