import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startDevServer, until, type DevServer } from './harness';

describe('triggers under npm start (wrangler dev)', () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(() => server?.stop());

  it('an upload through the API starts the matching upload flow once, with trigger.key (local event emulation)', async () => {
    const flow = await api(server, 'POST', '/v1/flows', {
      name: 'on upload',
      trigger: { type: 'r2_upload', prefix: 'images/', suffix: '.jpg' },
      blocks: [
        { id: 'look', type: 'r2_object', params: { action: 'head', key: '{{trigger.key}}' } },
        {
          id: 'say',
          type: 'log',
          params: { message: 'uploaded {{trigger.key}}, {{steps.look.size}} bytes of {{steps.look.contentType}}' },
        },
      ],
    });
    const other = await api(server, 'POST', '/v1/flows', {
      name: 'pdf only',
      trigger: { type: 'r2_upload', suffix: '.pdf' },
      blocks: [],
    });
    const bytes = Buffer.alloc(2048, 7);
    const upload = await fetch(`${server.url}/v1/uploads/images/cat.jpg`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'image/jpeg' },
      body: bytes,
    });
    expect(upload.status).toBe(201);
    expect(await upload.json()).toMatchObject({ key: 'images/cat.jpg', size: 2048 });

    const runs = await until(
      () => api(server, 'GET', `/v1/flows/${flow.body.id}/runs`),
      (r) => r.body.items[0]?.status === 'succeeded',
      30_000,
    );
    expect(runs.body.items).toHaveLength(1);
    expect(runs.body.items[0].trigger).toMatchObject({ type: 'r2_upload', key: 'images/cat.jpg', size: 2048, action: 'PutObject' });
    const run = await api(server, 'GET', `/v1/runs/${runs.body.items[0].id}`);
    expect(run.body.steps[1].output.message).toBe('uploaded images/cat.jpg, 2048 bytes of image/jpeg');
    expect((await api(server, 'GET', `/v1/flows/${other.body.id}/runs`)).body.items).toEqual([]);
  });

  it('a webhook starts its flow without a token', async () => {
    const flow = await api(server, 'POST', '/v1/flows', {
      name: 'hooked',
      trigger: { type: 'webhook' },
      blocks: [{ id: 'say', type: 'log', params: { message: 'order {{trigger.body.order}}' } }],
    });
    const res = await fetch(`${server.url}${flow.body.hookUrl}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ order: 17 }),
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const run = await until(
      () => api(server, 'GET', `/v1/runs/${runId}`),
      (r) => r.body.status === 'succeeded',
      15_000,
    );
    expect(run.body.steps[0].output.message).toBe('order 17');
  });

  it('a schedule flow runs at the next minute, fired by npm start', async () => {
    const flow = await api(server, 'POST', '/v1/flows', {
      name: 'every minute',
      trigger: { type: 'schedule', cron: '* * * * *' },
      blocks: [{ id: 'tick', type: 'log', params: { message: 'tick at {{trigger.scheduledTime}}' } }],
    });
    const runs = await until(
      () => api(server, 'GET', `/v1/flows/${flow.body.id}/runs`),
      (r) => r.body.items.length > 0,
      75_000,
    );
    expect(runs.body.items[0].trigger).toMatchObject({ type: 'schedule', cron: '* * * * *' });
    expect(runs.body.items[0].trigger.scheduledTime).toMatch(/:00\.000Z$/);
  });
});
