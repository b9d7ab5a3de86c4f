import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../helpers/fake-api';
import { api, startDevServer, type DevServer } from './harness';

const SECRET = 'pm-e2e-8f14e45fceea167a5a36';

/** The seed flow of the README, pointed at the local fake Postmark. */
const seedFlow = (postmarkUrl: string) => ({
  name: 'Email on upload',
  trigger: { type: 'r2_upload', prefix: 'images/', suffix: '.jpg' },
  blocks: [
    { id: 'note', type: 'log', params: { message: 'New upload {{trigger.key}} ({{trigger.size}} bytes)' } },
    { id: 'leak', type: 'log', params: { message: 'the key is {{SECRETS.postmark_api_key}}' } },
    {
      id: 'email',
      type: 'http_request',
      params: {
        method: 'POST',
        url: postmarkUrl,
        headers: { 'X-Postmark-Server-Token': '{{SECRETS.postmark_api_key}}', Accept: 'application/json' },
        body: { From: 'media@example.com', To: 'ops@example.com', Subject: 'New image: {{trigger.key}}', Size: '{{trigger.size}}' },
      },
    },
  ],
});

describe('the seed story against wrangler dev', () => {
  let server: DevServer;
  let postmark: FakeApi;
  beforeAll(async () => {
    [server, postmark] = await Promise.all([startDevServer(), startFakeApi()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), postmark?.close()]);
  });

  it('emails through the fake Postmark with exactly the secret; logs show the upload and never the secret', async () => {
    const flow = await api(server, 'POST', '/v1/flows', seedFlow(`${postmark.url}/email`));
    expect(flow.status).toBe(201);
    const secret = await api(server, 'PUT', `/v1/flows/${flow.body.id}/secrets/postmark_api_key`, {
      value: SECRET,
      allowedHosts: [`127.0.0.1:${postmark.port}`],
    });
    expect(secret.status).toBe(201);

    const run = await api(server, 'POST', `/v1/flows/${flow.body.id}/runs?wait=30`, { input: { key: 'images/cat.jpg', size: 48213 } });
    expect(run.status).toBe(200);
    expect(run.body.status).toBe('succeeded');

    const emails = postmark.requests.filter((r) => r.path === '/email');
    expect(emails).toHaveLength(1);
    expect(emails[0]!.headers['x-postmark-server-token']).toBe(SECRET);
    expect(JSON.parse(emails[0]!.body)).toEqual({
      From: 'media@example.com',
      To: 'ops@example.com',
      Subject: 'New image: images/cat.jpg',
      Size: 48213,
    });

    const logs = await api(server, 'GET', `/v1/runs/${run.body.id}/logs`);
    const messages = logs.body.items.filter((e: { type: string }) => e.type === 'log').map((e: { message: string }) => e.message);
    expect(messages).toEqual(['New upload images/cat.jpg (48213 bytes)', 'the key is ***']);
    const everything = JSON.stringify([run.body, logs.body, (await api(server, 'GET', `/v1/runs/${run.body.id}`)).body]);
    expect(everything).not.toContain(SECRET);
    expect(run.body.steps.find((s: { blockId: string }) => s.blockId === 'email').output).toMatchObject({
      status: 200,
      body: { ErrorCode: 0 },
    });
  });
});
