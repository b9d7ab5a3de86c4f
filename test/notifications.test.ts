import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../src/index';
import { MAX_ATTEMPTS, RETRY_DELAYS_SECONDS } from '../src/notifications/deliver';
import { call, callJson, createFlow, flowBody, token } from './helpers/api';
import { fakeUrl, indexCaughtUp, received, runToEnd, setSecret, until } from './helpers/runs';

let acme: string;
let globex: string;
beforeAll(async () => {
  acme = await token({ tenant: 'acme-notify' });
  globex = await token({ tenant: 'globex-notify' });
});

/** A path of the fake API that answers 200 (its echo route) and no other test uses. */
const hookPath = (name: string): string => `/echo/${name}/${crypto.randomUUID()}`;

const logBlock = [{ id: 'say', type: 'log', params: { message: 'hi' } }];
const failingBlock = (path: string) => [{ id: 'call', type: 'http_request', params: { method: 'GET', url: fakeUrl(path), retries: 0 } }];

interface DeliveryRecord {
  id: string;
  run_id: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string;
}

const rowOf = (runId: string) =>
  env.DB.prepare('SELECT * FROM notification_deliveries WHERE run_id = ?').bind(runId).first<DeliveryRecord>();

async function listed(tok: string, flowId: string, query = '') {
  return callJson('GET', `/v1/flows/${flowId}/notifications${query}`, { token: tok });
}

/** Waits until the run's delivery is no longer pending (delivered through the real queue). */
async function settled(tok: string, flowId: string, runId: string) {
  await indexCaughtUp(flowId);
  const items = await until(
    async () => (await listed(tok, flowId)).body.items as any[],
    (items) => items.some((d) => d.runId === runId && d.status !== 'pending'),
  );
  return items.find((d) => d.runId === runId);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Base64 HMAC-SHA256, computed here with WebCrypto (independently of the code under test). */
async function hmacBase64(key: Uint8Array, text: string): Promise<string> {
  const imported = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', imported, new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...mac));
}

/** Drives the consumer with one batch, as the queue would; returns what it asked of each message, with retry delays. */
async function consume(runIds: string[], bindings: typeof env = env) {
  const batch = createMessageBatch(
    'notifications',
    runIds.map((runId, i) => ({ id: `m${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body: { runId } })),
  );
  // getQueueResult reports which messages were retried, not after how long: note the delays on the way.
  const delays = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    Object.defineProperty(message, 'retry', {
      value: (options?: QueueRetryOptions) => {
        delays.set(message.id, options?.delaySeconds);
        retry(options);
      },
    });
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, bindings);
  return { ids: batch.messages.map((m) => m.id), result: await getQueueResult(batch, ctx), delays };
}

/** A due pending delivery written straight into D1 (as a flush writes it), with no queue message behind it. */
async function insertDelivery(
  flow: { id: string },
  tenantId: string,
  url: string,
  options: { signingSecret?: string; nextAttemptAt?: string } = {},
): Promise<{ id: string; runId: string }> {
  const runId = `run_test_${crypto.randomUUID()}`;
  const id = `ntf_T${crypto.randomUUID().replace(/-/g, '').slice(0, 25).toUpperCase()}`;
  const now = new Date().toISOString();
  const body = JSON.stringify({
    type: 'run.finished',
    runId,
    flowId: flow.id,
    status: 'succeeded',
    error: null,
    startedAt: now,
    finishedAt: now,
  });
  await env.DB.prepare(
    `INSERT INTO notification_deliveries (id, tenant_id, flow_id, run_id, status, attempts, created_at, updated_at, url, signing_secret, body, next_attempt_at)
     VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(id, tenantId, flow.id, runId, now, now, url, options.signingSecret ?? null, body, options.nextAttemptAt ?? now)
    .run();
  return { id, runId };
}

describe('flow notifications', () => {
  it('deliver once, signed with a plain secret (its UTF-8 bytes), with the run in the body', async () => {
    const path = hookPath('notify-plain');
    const secret = 'plain-signing-secret-4711';
    const flow = await createFlow(acme, { blocks: logBlock, notify: { url: fakeUrl(path), on: ['succeeded'], signingSecret: 'hook_key' } });
    expect(flow.notify).toEqual({ url: fakeUrl(path), on: ['succeeded'], signingSecret: 'hook_key' });
    await setSecret(acme, flow.id, 'hook_key', secret);

    const { run } = await runToEnd(acme, flow.id);
    expect(run.status).toBe('succeeded');
    const delivery = await settled(acme, flow.id, run.id);
    expect(delivery).toMatchObject({ runId: run.id, status: 'delivered', attempts: 1, lastStatusCode: 200, lastError: null });

    const [request, ...more] = await received(path);
    expect(more).toEqual([]);
    expect(request!.method).toBe('POST');
    expect(request!.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(request!.body)).toEqual({
      type: 'run.finished',
      runId: run.id,
      flowId: flow.id,
      status: 'succeeded',
      error: null,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
    });

    const id = request!.headers['webhook-id']!;
    const timestamp = request!.headers['webhook-timestamp']!;
    expect(id).toBe(delivery.id);
    expect(timestamp).toMatch(/^\d+$/);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    const expected = await hmacBase64(new TextEncoder().encode(secret), `${id}.${timestamp}.${request!.body}`);
    expect(request!.headers['webhook-signature']).toBe(`v1,${expected}`);
    expect(JSON.stringify(request)).not.toContain(secret);

    // Still once: a second flush or a late message sends nothing more.
    await indexCaughtUp(flow.id);
    await sleep(1500);
    expect(await received(path)).toHaveLength(1);
  });

  it('sign with the decoded key of a whsec_ secret, and carry a failed run’s error', async () => {
    const path = hookPath('notify-whsec');
    const key = crypto.getRandomValues(new Uint8Array(24));
    const secret = `whsec_${btoa(String.fromCharCode(...key))}`;
    const flow = await createFlow(acme, {
      blocks: failingBlock('/status/500'),
      notify: { url: fakeUrl(path), on: ['failed'], signingSecret: 'std_key' },
    });
    await setSecret(acme, flow.id, 'std_key', secret);

    const { run } = await runToEnd(acme, flow.id);
    expect(run.status).toBe('failed');
    expect(run.error).toBeTruthy();
    await settled(acme, flow.id, run.id);

    const [request] = await received(path);
    const body = JSON.parse(request!.body);
    expect(body).toMatchObject({ type: 'run.finished', runId: run.id, status: 'failed', error: run.error });
    const signed = `${request!.headers['webhook-id']}.${request!.headers['webhook-timestamp']}.${request!.body}`;
    expect(request!.headers['webhook-signature']).toBe(`v1,${await hmacBase64(key, signed)}`);
    // Not keyed with the text of the secret.
    expect(request!.headers['webhook-signature']).not.toBe(`v1,${await hmacBase64(new TextEncoder().encode(secret), signed)}`);
  });

  it('send no signature without a signing secret', async () => {
    const path = hookPath('notify-unsigned');
    const flow = await createFlow(acme, { blocks: logBlock, notify: { url: fakeUrl(path), on: ['succeeded'] } });
    const { run } = await runToEnd(acme, flow.id);
    await settled(acme, flow.id, run.id);
    const [request] = await received(path);
    expect(request!.headers['webhook-id']).toMatch(/^ntf_/);
    expect(request!.headers['webhook-signature']).toBeUndefined();
  });

  it('announce only the statuses listed in `on`', async () => {
    const quiet = hookPath('notify-quiet');
    const loud = hookPath('notify-loud');
    const onlyFailed = await createFlow(acme, { blocks: logBlock, notify: { url: fakeUrl(quiet), on: ['failed', 'cancelled'] } });
    const onlySucceeded = await createFlow(acme, { blocks: logBlock, notify: { url: fakeUrl(loud), on: ['succeeded'] } });
    const silent = await runToEnd(acme, onlyFailed.id);
    const heard = await runToEnd(acme, onlySucceeded.id);
    expect(silent.run.status).toBe('succeeded');
    await settled(acme, onlySucceeded.id, heard.run.id);
    await indexCaughtUp(onlyFailed.id);
    await sleep(1500);
    expect(await rowOf(silent.run.id)).toBeNull();
    expect((await listed(acme, onlyFailed.id)).body.items).toEqual([]);
    expect(await received(quiet)).toEqual([]);
    expect(await received(loud)).toHaveLength(1);
  });

  it('announce a cancelled run', async () => {
    const path = hookPath('notify-cancel');
    const flow = await createFlow(acme, {
      blocks: [{ id: 'wait', type: 'delay', params: { seconds: 600 } }],
      notify: { url: fakeUrl(path), on: ['cancelled'] },
    });
    const started = await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: acme, body: {} });
    expect(started.status).toBe(202);
    await until(
      async () => (await callJson('GET', `/v1/runs/${started.body.id}`, { token: acme })).body.status,
      (status) => status === 'waiting',
    );
    expect((await call('POST', `/v1/runs/${started.body.id}/cancel`, { token: acme })).status).toBe(202);
    await settled(acme, flow.id, started.body.id);
    const [request] = await received(path);
    expect(JSON.parse(request!.body)).toMatchObject({ runId: started.body.id, status: 'cancelled' });
  });

  it('follow the version the run ran, not a later one', async () => {
    const first = hookPath('notify-v1');
    const second = hookPath('notify-v2');
    const flow = await createFlow(acme, {
      blocks: [{ id: 'wait', type: 'delay', params: { seconds: 1 } }],
      notify: { url: fakeUrl(first), on: ['succeeded'] },
    });
    const started = await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: acme, body: {} });
    const updated = await callJson('PUT', `/v1/flows/${flow.id}`, {
      token: acme,
      body: flowBody({ blocks: logBlock, notify: { url: fakeUrl(second), on: ['succeeded'] } }),
    });
    expect(updated.status).toBe(200);
    expect(updated.body.notify.url).toBe(fakeUrl(second));
    await until(
      async () => (await callJson('GET', `/v1/runs/${started.body.id}`, { token: acme })).body.status,
      (status) => status === 'succeeded',
    );
    await settled(acme, flow.id, started.body.id);
    expect(await received(first)).toHaveLength(1);
    expect(await received(second)).toEqual([]);
  });

  it('retry a delivery answered 500 with growing delays, the same webhook-id each time, then fail it', async () => {
    const key = crypto.randomUUID();
    const path = `/flaky/${key}/100/500`;
    const flow = await createFlow(acme, { blocks: logBlock, notify: { url: fakeUrl(path), on: ['succeeded'] } });
    const { run } = await runToEnd(acme, flow.id);
    await indexCaughtUp(flow.id);

    // The first attempt comes through the real queue, which is asked to bring the message back in 30 s.
    const first = await until(
      () => rowOf(run.id),
      (row) => row !== null && row.attempts === 1,
    );
    expect(first).toMatchObject({ status: 'pending', last_status_code: 500, last_error: 'HTTP 500' });
    const dueIn = Date.parse(first!.next_attempt_at) - Date.now();
    expect(dueIn).toBeGreaterThan((RETRY_DELAYS_SECONDS[0] - 10) * 1000);
    expect(dueIn).toBeLessThanOrEqual(RETRY_DELAYS_SECONDS[0] * 1000);

    // A message that comes back early does nothing.
    const early = await consume([run.id]);
    expect(early.result.retryMessages).toEqual([]);
    expect(early.result.explicitAcks).toEqual(early.ids);
    expect((await rowOf(run.id))!.attempts).toBe(1);

    const delays: number[] = [];
    for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
      // Time passes: the delivery is due.
      await env.DB.prepare("UPDATE notification_deliveries SET next_attempt_at = '2000-01-01T00:00:00.000Z' WHERE run_id = ?")
        .bind(run.id)
        .run();
      const { ids, result, delays: asked } = await consume([run.id]);
      const row = (await rowOf(run.id))!;
      expect(row.attempts).toBe(attempt);
      expect(row.last_status_code).toBe(500);
      if (attempt < MAX_ATTEMPTS) {
        expect(row.status).toBe('pending');
        expect(result.retryMessages).toHaveLength(1);
        expect(result.retryMessages[0]!.msgId).toBe(ids[0]);
        delays.push(asked.get(ids[0]!)!);
        // The row says when the next attempt is due: as far ahead as the message comes back.
        const dueIn = Date.parse(row.next_attempt_at) - Date.now();
        expect(dueIn).toBeGreaterThan((asked.get(ids[0]!)! - 10) * 1000);
        expect(dueIn).toBeLessThanOrEqual(asked.get(ids[0]!)! * 1000);
      } else {
        expect(row.status).toBe('failed');
        expect(result.retryMessages).toEqual([]);
        expect(result.explicitAcks).toEqual(ids);
      }
    }
    expect(delays).toEqual([60, 120, 240, 480]);
    // At least five retries over at least ten minutes.
    expect(MAX_ATTEMPTS - 1).toBeGreaterThanOrEqual(5);
    expect(RETRY_DELAYS_SECONDS.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(600);

    const requests = await received(`/flaky/${key}/`);
    expect(requests).toHaveLength(MAX_ATTEMPTS);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);

    const [listedDelivery] = (await listed(acme, flow.id)).body.items;
    expect(listedDelivery).toMatchObject({
      runId: run.id,
      status: 'failed',
      attempts: MAX_ATTEMPTS,
      lastStatusCode: 500,
      lastError: 'HTTP 500',
    });

    // Failed for good: a late message sends nothing more.
    await consume([run.id]);
    expect(await received(`/flaky/${key}/`)).toHaveLength(MAX_ATTEMPTS);
  });

  it('deliver once when two messages for one delivery arrive together', async () => {
    const path = hookPath('notify-dupe');
    const flow = await createFlow(acme, { blocks: logBlock });
    const { runId } = await insertDelivery(flow, 'acme-notify', fakeUrl(path));
    const { result } = await consume([runId, runId]);
    expect(result.retryMessages).toEqual([]);
    expect(await received(path)).toHaveLength(1);
    expect(await rowOf(runId)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('send a delivery whose message was lost from the minute cron', async () => {
    const lost = hookPath('notify-lost');
    const notYet = hookPath('notify-not-yet');
    const flow = await createFlow(acme, { blocks: logBlock });
    const overdue = await insertDelivery(flow, 'acme-notify', fakeUrl(lost), {
      nextAttemptAt: new Date(Date.now() - 5 * 60_000).toISOString(),
    });
    const future = await insertDelivery(flow, 'acme-notify', fakeUrl(notYet), {
      nextAttemptAt: new Date(Date.now() + 5 * 60_000).toISOString(),
    });

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: '* * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);

    await until(
      () => rowOf(overdue.runId),
      (row) => row?.status === 'delivered',
    );
    expect(await received(lost)).toHaveLength(1);
    expect((await rowOf(future.runId))!.status).toBe('pending');
    expect(await received(notYet)).toEqual([]);
  });
});

describe('notification egress', () => {
  const production = () => ({ ...env, ENVIRONMENT: 'production', ALLOW_PRIVATE_EGRESS: 'false' }) as typeof env;

  it('refuse a private address outside development, for good, naming the host but never the secret', async () => {
    const secret = 'hostsecret-9f3a7c';
    const flow = await createFlow(acme, { blocks: logBlock });
    await setSecret(acme, flow.id, 'sig', secret);
    const path = hookPath('notify-private');

    const refused = await insertDelivery(flow, 'acme-notify', fakeUrl(path));
    const { ids, result } = await consume([refused.runId], production());
    expect(result.explicitAcks).toEqual(ids);
    expect(result.retryMessages).toEqual([]);
    expect(await rowOf(refused.runId)).toMatchObject({ status: 'failed', attempts: 1, last_status_code: null });
    expect((await rowOf(refused.runId))!.last_error).toMatch(/private, loopback or link-local.*127\.0\.0\.1/);

    // A host that carries the secret is named masked.
    const masked = await insertDelivery(flow, 'acme-notify', `http://${secret}.localhost/hook`, { signingSecret: 'sig' });
    await consume([masked.runId], production());
    const row = (await rowOf(masked.runId))!;
    expect(row.status).toBe('failed');
    expect(row.last_error).toContain('***.localhost');
    expect(row.last_error).not.toContain(secret);
    expect(row.last_error).not.toContain(secret.slice(0, 6));
    const list = await listed(acme, flow.id);
    expect(list.status).toBe(200);
    expect(list.body.items.map((d: any) => d.runId)).toContain(masked.runId);
    expect(JSON.stringify(list.body)).not.toContain(secret);

    // The same delivery in development goes out.
    const allowed = await insertDelivery(flow, 'acme-notify', fakeUrl(path));
    await consume([allowed.runId]);
    expect(await rowOf(allowed.runId)).toMatchObject({ status: 'delivered' });
    expect(await received(path)).toHaveLength(1);
  });

  it('never follow a redirect', async () => {
    const target = hookPath('notify-redirect-target');
    const flow = await createFlow(acme, { blocks: logBlock });
    const { runId } = await insertDelivery(flow, 'acme-notify', fakeUrl(`/redirect?to=${encodeURIComponent(fakeUrl(target))}`));
    const { result } = await consume([runId]);
    expect(result.retryMessages).toHaveLength(1);
    expect(await rowOf(runId)).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 302 });
    expect((await rowOf(runId))!.last_error).toMatch(/redirects are not followed/);
    expect(await received(target)).toEqual([]);
  });
});

describe('notify validation', () => {
  async function expect422(notify: unknown): Promise<string[]> {
    const res = await callJson('POST', '/v1/flows', { token: acme, body: flowBody({ notify }) });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    return res.body.error.details.map((d: { path: string }) => d.path);
  }

  it('refuse a bad url, an empty or unknown or repeated `on`, a bad secret name, unknown fields', async () => {
    expect(await expect422({ url: 'ftp://example.com/x', on: ['failed'] })).toContain('notify.url');
    expect(await expect422({ url: 'not a url', on: ['failed'] })).toContain('notify.url');
    expect(await expect422({ url: 'javascript:alert(1)', on: ['failed'] })).toContain('notify.url');
    expect(await expect422({ on: ['failed'] })).toContain('notify.url');
    expect(await expect422({ url: 'https://example.com/hook', on: [] })).toContain('notify.on');
    expect(await expect422({ url: 'https://example.com/hook', on: ['finished'] })).toContain('notify.on[0]');
    expect(await expect422({ url: 'https://example.com/hook', on: ['failed', 'running'] })).toContain('notify.on[1]');
    expect(await expect422({ url: 'https://example.com/hook', on: ['failed', 'failed'] })).toContain('notify.on');
    expect(await expect422({ url: 'https://example.com/hook' })).toContain('notify.on');
    expect(await expect422({ url: 'https://example.com/hook', on: ['failed'], signingSecret: 'not a name' })).toContain(
      'notify.signingSecret',
    );
    expect(await expect422({ url: 'https://example.com/hook', on: ['failed'], secret: 'x' })).toEqual([expect.stringMatching(/^notify/)]);
    expect(await expect422('https://example.com/hook')).toEqual(['notify']);
  });

  it('store notify, replace it with a version, and clear it', async () => {
    const notify = { url: 'https://example.com/hook', on: ['succeeded', 'failed', 'cancelled'], signingSecret: 'sig' };
    const flow = await createFlow(acme, { notify });
    expect(flow.notify).toEqual(notify);
    expect((await callJson('GET', `/v1/flows/${flow.id}`, { token: acme })).body.notify).toEqual(notify);
    const cleared = await callJson('PUT', `/v1/flows/${flow.id}`, { token: acme, body: flowBody() });
    expect(cleared.status).toBe(200);
    expect(cleared.body.notify).toBeNull();
    expect((await createFlow(acme, { notify: null })).notify).toBeNull();
    expect((await createFlow(acme)).notify).toBeNull();
  });
});

describe('GET /v1/flows/:flowId/notifications', () => {
  it('needs flows:read, shows only the caller’s tenant, and pages newest first', async () => {
    const flow = await createFlow(acme, { blocks: logBlock, notify: { url: fakeUrl(hookPath('notify-list')), on: ['succeeded'] } });
    const runIds: string[] = [];
    for (let i = 0; i < 3; i++) runIds.push((await runToEnd(acme, flow.id)).run.id);
    await indexCaughtUp(flow.id);

    const first = await listed(acme, flow.id, '?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toBe(first.body.items[1].id);
    const second = await listed(acme, flow.id, `?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    const all = [...first.body.items, ...second.body.items];
    // Newest first: by when the delivery was created (when its run's end reached the index).
    expect(all.map((d: any) => d.runId).sort()).toEqual([...runIds].sort());
    expect(all.map((d: any) => d.id)).toEqual(
      all
        .map((d: any) => d.id)
        .sort()
        .reverse(),
    );
    expect(all.map((d: any) => d.createdAt)).toEqual(
      all
        .map((d: any) => d.createdAt)
        .sort()
        .reverse(),
    );
    for (const delivery of all) {
      expect(Object.keys(delivery).sort()).toEqual(['attempts', 'createdAt', 'id', 'lastError', 'lastStatusCode', 'runId', 'status']);
      expect(['pending', 'delivered']).toContain(delivery.status);
    }
    expect((await listed(acme, flow.id)).body.items).toHaveLength(3);
    expect((await listed(acme, flow.id, '?cursor=nope')).status).toBe(422);
    expect((await listed(acme, flow.id, '?limit=0')).status).toBe(422);

    const readOnly = await token({ tenant: 'acme-notify', scope: 'flows:read' });
    expect((await listed(readOnly, flow.id)).status).toBe(200);
    const runsOnly = await token({ tenant: 'acme-notify', scope: 'runs:read runs:write flows:write' });
    const forbidden = await listed(runsOnly, flow.id);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');

    const theirs = await listed(globex, flow.id);
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.code).toBe('not_found');
    expect(JSON.stringify(theirs.body)).not.toContain(runIds[0]!);
    expect((await listed(acme, 'flw_01JD3Q2V7X0000000000000000')).status).toBe(404);
    expect((await callJson('GET', `/v1/flows/${flow.id}/notifications`)).status).toBe(401);
  });
});
