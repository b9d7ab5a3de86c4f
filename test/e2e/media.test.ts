import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../helpers/fake-api';
import { api, startDevServer, stepOf, until, type DevServer } from './harness';

const SECRET = 'pm-media-4b2d9a61c0e3f7a8';

/** The README's media flow ("On upload of an image"), its email pointed at the local fake Postmark. */
const mediaFlow = (postmarkUrl: string) => ({
  name: 'Thumbnail and email on image upload',
  trigger: { type: 'r2_upload', prefix: 'images/', contentTypes: ['image/*'] },
  blocks: [
    { id: 'info', type: 'image_info', params: { key: '{{trigger.key}}' } },
    {
      id: 'thumb',
      type: 'image_transform',
      params: { key: '{{trigger.key}}', destinationKey: '{{trigger.key}}.thumb.webp', width: 300, format: 'image/webp', quality: 80 },
    },
    {
      id: 'note',
      type: 'log',
      params: {
        message:
          '{{trigger.key}}: {{steps.info.width}}x{{steps.info.height}} {{steps.info.format}}, {{steps.info.size}} bytes; ' +
          'thumbnail {{steps.thumb.key}}: {{steps.thumb.width}}x{{steps.thumb.height}}, {{steps.thumb.size}} bytes',
      },
    },
    {
      id: 'subject',
      type: 'code',
      params: {
        source:
          "return 'New image: ' + input.trigger.key + ' (' + input.steps.info.width + 'x' + input.steps.info.height + ', ' + Math.round(input.steps.info.size / 1024) + ' KB)';",
      },
    },
    {
      id: 'email',
      type: 'http_request',
      params: {
        method: 'POST',
        url: postmarkUrl,
        headers: { 'X-Postmark-Server-Token': '{{SECRETS.postmark_api_key}}', Accept: 'application/json' },
        body: { From: 'media@example.com', To: 'ops@example.com', Subject: '{{steps.subject}}', TextBody: '{{steps.thumb.key}}' },
      },
    },
  ],
});

describe('images and code under npm start (wrangler dev)', () => {
  let server: DevServer;
  let postmark: FakeApi;
  beforeAll(async () => {
    [server, postmark] = await Promise.all([startDevServer(), startFakeApi()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), postmark?.close()]);
  });

  it('on upload of an image: reads its size, writes a 300-px WebP next to it, logs both, builds the subject in code, emails it', async () => {
    const flow = await api(server, 'POST', '/v1/flows', mediaFlow(`${postmark.url}/email`));
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    const secret = await api(server, 'PUT', `/v1/flows/${flow.body.id}/secrets/postmark_api_key`, {
      value: SECRET,
      allowedHosts: [`127.0.0.1:${postmark.port}`],
    });
    expect(secret.status).toBe(201);

    const photo = await sharp({ create: { width: 1200, height: 800, channels: 3, background: { r: 200, g: 120, b: 40 } } })
      .jpeg()
      .toBuffer();
    const upload = async (path: string, body: Uint8Array<ArrayBuffer> | string, contentType: string) =>
      fetch(`${server.url}/v1/uploads/${path}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': contentType },
        body,
      });
    expect((await upload('images/cat.jpg', new Uint8Array(photo), 'image/jpeg')).status).toBe(201);
    expect((await upload('images/notes.txt', 'not an image', 'text/plain')).status).toBe(201);

    const runs = await until(
      () => api(server, 'GET', `/v1/flows/${flow.body.id}/runs`),
      (r) => r.body.items[0]?.status === 'succeeded' || r.body.items[0]?.status === 'failed',
      60_000,
    );
    const run = (await api(server, 'GET', `/v1/runs/${runs.body.items[0].id}`)).body;
    expect(run.status, JSON.stringify(run.steps)).toBe('succeeded');
    expect(stepOf(run, 'info').output).toEqual({
      key: 'images/cat.jpg',
      width: 1200,
      height: 800,
      format: 'image/jpeg',
      size: photo.length,
    });
    expect(stepOf(run, 'thumb').output).toEqual({
      key: 'images/cat.jpg.thumb.webp',
      size: expect.any(Number),
      contentType: 'image/webp',
      width: 300,
      height: 200,
    });
    const subject = `New image: images/cat.jpg (1200x800, ${Math.round(photo.length / 1024)} KB)`;
    expect(stepOf(run, 'subject').output).toBe(subject);

    const logs = await api(server, 'GET', `/v1/runs/${run.id}/logs`);
    const messages = logs.body.items.filter((e: { type: string }) => e.type === 'log').map((e: { message: string }) => e.message);
    expect(messages).toEqual([
      `images/cat.jpg: 1200x800 image/jpeg, ${photo.length} bytes; thumbnail images/cat.jpg.thumb.webp: 300x200, ${stepOf(run, 'thumb').output.size} bytes`,
    ]);
    const emails = postmark.requests.filter((r) => r.path === '/email');
    expect(emails).toHaveLength(1);
    expect(JSON.parse(emails[0]!.body)).toMatchObject({ Subject: subject, TextBody: 'images/cat.jpg.thumb.webp' });

    // The text file matched no flow (image/* only), and the thumbnail started nothing: one run in all.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await api(server, 'GET', `/v1/flows/${flow.body.id}/runs`)).body.items).toHaveLength(1);

    // The thumbnail is where the output says, and is what it says.
    const check = await api(server, 'POST', '/v1/flows', {
      name: 'check',
      trigger: { type: 'manual' },
      blocks: [{ id: 'look', type: 'image_info', params: { key: '{{trigger.key}}' } }],
    });
    const checked = await api(server, 'POST', `/v1/flows/${check.body.id}/runs?wait=30`, { input: { key: 'images/cat.jpg.thumb.webp' } });
    expect(stepOf(checked.body, 'look').output).toMatchObject({ width: 300, height: 200, format: 'image/webp' });

    // What the code step costs here: the first one in this isolate (QuickJS instantiated) and the next ones.
    const ms = (r: any, id: string) => Date.parse(stepOf(r, id).finishedAt) - Date.parse(stepOf(r, id).startedAt);
    const again = await api(server, 'POST', `/v1/flows/${flow.body.id}/runs?wait=30`, {
      input: { key: 'images/cat.jpg', size: photo.length },
    });
    console.log(
      `under wrangler dev: code step ${ms(run, 'subject')} ms in the first run, ${ms(again.body, 'subject')} ms in the next; ` +
        `image_info ${ms(run, 'info')} ms, image_transform ${ms(run, 'thumb')} ms`,
    );
  });
});
