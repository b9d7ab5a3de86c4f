import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startFakeApi, type FakeApi } from '../helpers/fake-api';
import { api, startDevServer, stepOf, type DevServer } from './harness';

describe('resilience against wrangler dev', () => {
  let server: DevServer;
  let outside: FakeApi;
  beforeAll(async () => {
    [server, outside] = await Promise.all([
      startDevServer({ vars: { TENANT_RUN_RATE_LIMIT: '300/600', LIVE_MAX_UNACKED: '500' } }),
      startFakeApi(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), outside?.close()]);
  });

  async function flowOf(blocks: unknown[], token = server.token): Promise<string> {
    const res = await api(server, 'POST', '/v1/flows', { name: 'resilience', trigger: { type: 'manual' }, blocks }, token);
    expect(res.status).toBe(201);
    return res.body.id;
  }

  it('an outside API that is down, too slow or flapping: retries and timeouts as configured, attempts recorded, nothing hangs', async () => {
    const http = (id: string, params: Record<string, unknown>) => ({ id, type: 'http_request', params: { method: 'GET', ...params } });
    const closedPort = `http://127.0.0.1:9/`;
    const [down, slow, flapping] = await Promise.all([
      flowOf([http('call', { url: closedPort, retries: 2 })]),
      flowOf([http('call', { url: `${outside.url}/slow/3000`, timeoutMs: 400, retries: 1 })]),
      flowOf([http('call', { url: `${outside.url}/flaky/flap-e2e/2/503`, retries: 3 })]),
    ]);
    const started = Date.now();
    const [d, s, f] = await Promise.all([down, slow, flapping].map((id) => api(server, 'POST', `/v1/flows/${id}/runs?wait=30`, {})));
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(d!.body.status).toBe('failed');
    expect(stepOf(d!.body, 'call')).toMatchObject({ status: 'failed', attempts: 3, error: expect.stringMatching(/after 3 attempts/) });
    expect(s!.body.status).toBe('failed');
    expect(stepOf(s!.body, 'call')).toMatchObject({ attempts: 2, error: expect.stringMatching(/timed out after 400 ms/) });
    expect(f!.body.status).toBe('succeeded');
    expect(stepOf(f!.body, 'call')).toMatchObject({ attempts: 3, output: { status: 200 } });
  });

  it('200 runs started at once all finish, each with consecutive seq; the outside API gets exactly 200 calls', async () => {
    const flowId = await flowOf([
      { id: 'note', type: 'log', params: { message: 'run {{trigger.n}}' } },
      { id: 'email', type: 'http_request', params: { method: 'POST', url: `${outside.url}/email`, body: { To: 'x', n: '{{trigger.n}}' } } },
    ]);
    const before = outside.requests.filter((r) => r.path === '/email').length;
    const runs = await Promise.all(
      Array.from({ length: 200 }, (_, n) => api(server, 'POST', `/v1/flows/${flowId}/runs?wait=30`, { input: { n } })),
    );
    expect(runs.map((r) => r.body.status)).toEqual(Array(200).fill('succeeded'));
    const emails = outside.requests.filter((r) => r.path === '/email').slice(before);
    expect(emails).toHaveLength(200);
    expect(new Set(emails.map((r) => JSON.parse(r.body).n)).size).toBe(200);
    for (const run of runs.slice(0, 50)) {
      const logs = await api(server, 'GET', `/v1/runs/${run.body.id}/logs?limit=1000`);
      expect(logs.body.items.map((e: { seq: number }) => e.seq)).toEqual(logs.body.items.map((_: unknown, i: number) => i + 1));
    }
  });

  it('a live viewer that never reads does not slow runs down and is dropped', async () => {
    const watcher = await server.tokenFor('watcher');
    const flowId = await flowOf(
      [
        { id: 'a', type: 'log', params: { message: 'x' } },
        { id: 'b', type: 'log', params: { message: 'y' } },
      ],
      watcher,
    );
    const ticket = await api(server, 'POST', '/v1/live-tickets', { flowId }, watcher);
    const stalled = new WebSocket(`${server.url.replace('http', 'ws')}/v1/flows/${flowId}/live?ticket=${ticket.body.ticket}`);
    await new Promise((resolve, reject) => stalled.once('open', resolve).once('error', reject));
    const raw = (stalled as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause(); // from now on the viewer reads nothing

    const started = Date.now();
    const runs = await Promise.all(Array.from({ length: 100 }, () => api(server, 'POST', `/v1/flows/${flowId}/runs?wait=30`, {}, watcher)));
    expect(runs.every((r) => r.body.status === 'succeeded')).toBe(true);
    expect(Date.now() - started).toBeLessThan(30_000);

    let frames = 0;
    stalled.on('message', () => frames++);
    const closed = new Promise<number>((resolve) => stalled.on('close', (code) => resolve(code)));
    raw.resume();
    expect(await closed).toBe(1013);
    // 100 runs produce 800 frames; the hub stopped at its limit of 500 unacknowledged ones.
    expect(frames).toBeLessThanOrEqual(500);
    expect(frames).toBeGreaterThan(0);
  });

  it('limits run starts per tenant with 429 and Retry-After; other tenants are unaffected', async () => {
    const greedy = await server.tokenFor('greedy');
    const flowId = await flowOf([], greedy);
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 320 && !limited; i++) {
      const res = await fetch(`${server.url}/v1/flows/${flowId}/runs`, { method: 'POST', headers: { authorization: `Bearer ${greedy}` } });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    // A burst of 300, plus the half token a second that refills meanwhile.
    const accepted = statuses.filter((s) => s === 202).length;
    expect(accepted).toBeGreaterThanOrEqual(300);
    expect(accepted).toBeLessThan(310);
    expect(limited?.status).toBe(429);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await limited!.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    const upload = await fetch(`${server.url}/v1/uploads/x.jpg`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${greedy}` },
      body: 'x',
    });
    expect(upload.status).toBe(429);

    const patient = await server.tokenFor('patient');
    const other = await flowOf([], patient);
    expect((await api(server, 'POST', `/v1/flows/${other}/runs`, {}, patient)).status).toBe(202);
  });
});
