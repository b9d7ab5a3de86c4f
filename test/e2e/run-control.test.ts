/**
 * Run control survives a SIGKILL of wrangler dev: a run waiting for an
 * event, and a step waiting out a retry's backoff, hold nothing in memory;
 * after the restart the event is delivered and the retry runs once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../helpers/fake-api';
import { api, type DevServer, killAndRestart, startDevServer, until } from './harness';

describe('run control across a SIGKILL', () => {
  let outside: FakeApi;
  beforeAll(async () => {
    outside = await startFakeApi();
  });
  afterAll(() => outside?.close());

  async function withServer(use: (server: DevServer) => Promise<DevServer>) {
    const server = await startDevServer();
    let last = server;
    try {
      last = await use(server);
    } finally {
      await last.stop();
    }
  }

  it('a run waiting for an event: after the restart, its callback URL still ends the wait', () =>
    withServer(async (server) => {
      const flow = await api(server, 'POST', '/v1/flows', {
        name: 'approval',
        trigger: { type: 'manual' },
        blocks: [
          {
            id: 'ask',
            type: 'http_request',
            params: { method: 'POST', url: `${outside.url}/echo?approval`, body: { url: '{{callbacks.approve}}' }, retries: 0 },
          },
          { id: 'approve', type: 'wait_for_event', params: { timeoutSeconds: 600 } },
          { id: 'done', type: 'log', params: { message: 'approved by {{steps.approve.data.by}}' } },
        ],
      });
      const runId = (await api(server, 'POST', `/v1/flows/${flow.body.id}/runs`, {})).body.id as string;
      await until(
        () => api(server, 'GET', `/v1/runs/${runId}`),
        (r) => r.body.status === 'waiting',
        20_000,
      );
      const url = new URL(JSON.parse(outside.requests.find((r) => r.query === '?approval')!.body).url as string);
      expect(url.origin).toBe(server.url); // PUBLIC_URL is npm start's own origin

      const restarted = await killAndRestart(server);
      const sent = await fetch(`${restarted.url}${url.pathname}${url.search}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ by: 'ana' }),
      });
      expect(sent.status).toBe(202);
      const run = await until(
        () => api(restarted, 'GET', `/v1/runs/${runId}`),
        (r) => r.body.status === 'succeeded',
        30_000,
      );
      expect(run.body.steps.find((s: { blockId: string }) => s.blockId === 'done').output.message).toBe('approved by ana');
      expect(outside.requests.filter((r) => r.query === '?approval')).toHaveLength(1);
      return restarted;
    }));

  it("a step waiting out its retry's backoff: after the restart it is tried once more, and succeeds", () =>
    withServer(async (server) => {
      const key = crypto.randomUUID();
      const flow = await api(server, 'POST', '/v1/flows', {
        name: 'retrying',
        trigger: { type: 'manual' },
        blocks: [
          {
            id: 'call',
            type: 'http_request',
            params: { method: 'GET', url: `${outside.url}/flaky/${key}/1/503`, retries: 0 },
            retry: { attempts: 2, backoffSeconds: 6 },
          },
        ],
      });
      const runId = (await api(server, 'POST', `/v1/flows/${flow.body.id}/runs`, {})).body.id as string;
      await until(
        () => api(server, 'GET', `/v1/runs/${runId}`),
        (r) => r.body.status === 'waiting',
        20_000,
      );

      const restarted = await killAndRestart(server);
      const run = await until(
        () => api(restarted, 'GET', `/v1/runs/${runId}`),
        (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
        40_000,
      );
      expect(run.body.status).toBe('succeeded');
      expect(run.body.steps[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(outside.requests.filter((r) => r.path === `/flaky/${key}/1/503`)).toHaveLength(2);
      return restarted;
    }));
});
