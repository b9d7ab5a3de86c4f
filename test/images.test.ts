import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { imageTransformBlock, MAX_IMAGE_BYTES } from '../src/blocks/images';
import { WRITTEN_BY_FLOW } from '../src/blocks/r2-object';
import worker from '../src/index';
import { callJson, createFlow, token } from './helpers/api';
import { listedRuns, runBlocks, stepOf, until } from './helpers/runs';
import { stepContext } from './helpers/step-context';

const TENANT = 'pixels';
let tok: string;
const bytes = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
const images = inject('testImages');
const jpeg = bytes(images.jpeg);
const png = bytes(images.png);

/** Puts an object into the tenant's namespace; answers its eTag. */
async function put(key: string, body: Uint8Array | string, contentType?: string): Promise<string> {
  const object = await env.UPLOADS.put(`${TENANT}/${key}`, body, contentType ? { httpMetadata: { contentType } } : {});
  return object!.etag;
}

beforeAll(async () => {
  tok = await token({ tenant: TENANT });
  await put('in/photo.jpg', jpeg, 'image/jpeg');
  await put('in/diagram.png', png, 'image/png');
});

const info = (id: string, key: string) => ({ id, type: 'image_info', params: { key } });
const transform = (id: string, params: Record<string, unknown>) => ({
  id,
  type: 'image_transform',
  params: { key: 'in/photo.jpg', ...params },
});

describe('image_info', () => {
  it('reads the dimensions, format and size of a JPEG and a PNG', async () => {
    const { run } = await runBlocks(tok, [info('photo', 'in/photo.jpg'), info('diagram', '{{trigger.key}}')], { key: 'in/diagram.png' });
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'photo').output).toEqual({
      key: 'in/photo.jpg',
      width: 1200,
      height: 800,
      format: 'image/jpeg',
      size: jpeg.byteLength,
    });
    expect(stepOf(run, 'diagram').output).toEqual({
      key: 'in/diagram.png',
      width: 640,
      height: 480,
      format: 'image/png',
      size: png.byteLength,
    });
  });

  it('fails cleanly on a text file, a missing object, an object over 20 MiB and a key outside the namespace', async () => {
    await put('in/notes.txt', 'just some words, not an image', 'text/plain');
    await put('in/huge.jpg', new Uint8Array(21 * 1024 * 1024), 'image/jpeg');
    const { run } = await runBlocks(tok, [
      { ...info('text', 'in/notes.txt'), onError: 'missing' },
      { ...info('missing', 'in/nothing.jpg'), onError: 'huge' },
      { ...info('huge', 'in/huge.jpg'), onError: 'escape' },
      { ...info('escape', '../other-tenant/photo.jpg'), onError: 'done' },
      { id: 'done', type: 'log', params: { message: 'handled' } },
    ]);
    expect(stepOf(run, 'text').error).toMatch(/^"in\/notes\.txt" is not an image \(JPEG, PNG, GIF, WebP, AVIF or SVG\)/);
    // The local binding's stack (paths, line numbers) stays out of it.
    expect(stepOf(run, 'text').error).not.toMatch(/\n|node_modules|\bat /);
    expect(stepOf(run, 'missing').error).toBe('no object at "in/nothing.jpg"');
    expect(stepOf(run, 'huge').error).toBe('"in/huge.jpg" is 21.0 MiB: image blocks read images of at most 20.0 MiB');
    expect(stepOf(run, 'escape').error).toMatch(/\.\. segments/);
    expect(MAX_IMAGE_BYTES).toBe(20 * 1024 * 1024);
  });
});

describe('image_transform', () => {
  it('makes a 300×200 WebP, marked as written by the flow, which image_info then reads as such', async () => {
    const { flow, run } = await runBlocks(tok, [
      transform('thumb', { destinationKey: 'out/photo-300.webp', width: 300, height: 200, format: 'image/webp' }),
      info('check', '{{steps.thumb.key}}'),
    ]);
    expect(run.status).toBe('succeeded');
    const thumb = stepOf(run, 'thumb').output;
    expect(thumb).toEqual({ key: 'out/photo-300.webp', size: expect.any(Number), contentType: 'image/webp', width: 300, height: 200 });
    expect(stepOf(run, 'check').output).toEqual({
      key: 'out/photo-300.webp',
      width: 300,
      height: 200,
      format: 'image/webp',
      size: thumb.size,
    });
    const stored = await env.UPLOADS.head(`${TENANT}/out/photo-300.webp`);
    expect(stored?.size).toBe(thumb.size);
    expect(stored?.httpMetadata?.contentType).toBe('image/webp');
    expect(stored?.customMetadata).toEqual({ [WRITTEN_BY_FLOW]: flow.id });
  });

  it('keeps the aspect ratio with one dimension, rotates, and keeps the source format unless told', async () => {
    const { run } = await runBlocks(tok, [
      transform('wide', { destinationKey: 'out/w150.jpg', width: 150 }),
      transform('turned', { destinationKey: 'out/turned.png', key: 'in/diagram.png', rotate: 90 }),
      transform('avif', { destinationKey: 'out/tiny.avif', key: 'in/diagram.png', height: 48, format: 'image/avif' }),
    ]);
    expect(run.status, JSON.stringify(run.steps)).toBe('succeeded');
    expect(stepOf(run, 'wide').output).toMatchObject({ contentType: 'image/jpeg', width: 150, height: 100 });
    expect(stepOf(run, 'turned').output).toMatchObject({ contentType: 'image/png', width: 480, height: 640 });
    // Locally the binding cannot read back the AVIF it wrote (sharp calls it HEIF), so its dimensions are null there.
    expect(stepOf(run, 'avif').output).toMatchObject({ key: 'out/tiny.avif', contentType: 'image/avif' });
    const avif = new Uint8Array(await (await env.UPLOADS.get(`${TENANT}/out/tiny.avif`))!.arrayBuffer());
    expect(new TextDecoder().decode(avif.slice(4, 12))).toBe('ftypavif');
  });

  it('fails cleanly on a text file, an object over 20 MiB and a destination outside the namespace, writing nothing', async () => {
    const { run } = await runBlocks(tok, [
      { ...transform('text', { key: 'in/notes.txt', destinationKey: 'out/notes.webp', width: 10 }), onError: 'huge' },
      { ...transform('huge', { key: 'in/huge.jpg', destinationKey: 'out/huge.webp', width: 10 }), onError: 'escape' },
      { ...transform('escape', { destinationKey: '../globex/x.webp', width: 10 }), onError: 'done' },
      { id: 'done', type: 'log', params: { message: 'handled' } },
    ]);
    expect(stepOf(run, 'text').error).toMatch(/^"in\/notes\.txt" is not an image/);
    expect(stepOf(run, 'huge').error).toMatch(/^"in\/huge\.jpg" is 21\.0 MiB/);
    expect(stepOf(run, 'escape').error).toMatch(/\.\. segments/);
    expect((await env.UPLOADS.list({ prefix: `${TENANT}/out/notes` })).objects).toEqual([]);
    expect((await env.UPLOADS.list({ prefix: `${TENANT}/out/huge` })).objects).toEqual([]);
  });

  it('refuses params outside the contract at save time (422)', async () => {
    for (const params of [
      { destinationKey: 'x.webp', width: 0 },
      { destinationKey: 'x.webp', height: 8193 },
      { destinationKey: 'x.webp', fit: 'stretch' },
      { destinationKey: 'x.webp', format: 'image/gif' },
      { destinationKey: 'x.webp', quality: 101 },
      { destinationKey: 'x.webp', rotate: 45 },
      {},
    ]) {
      const res = await callJson('POST', '/v1/flows', {
        token: tok,
        body: { name: 'bad', trigger: { type: 'manual' }, blocks: [transform('t', params)] },
      });
      expect(res.status, JSON.stringify(params)).toBe(422);
    }
  });

  /**
   * `fit` and `quality` go to the binding as the contract says; miniflare's
   * local binding ignores both (it always fits `contain`, and encodes at
   * sharp's default quality), so what the binding is asked is what is checked.
   */
  describe('what the binding is asked (fit, quality, rotate)', () => {
    const asked: Array<{ transform: ImageTransform; output: ImageOutputOptions }> = [];
    const recording: ImagesBinding = {
      info: (stream, options) => env.IMAGES.info(stream, options),
      get hosted() {
        return env.IMAGES.hosted;
      },
      input(stream, options) {
        const real = env.IMAGES.input(stream, options);
        const entry = { transform: {} as ImageTransform, output: { format: 'image/png' } as ImageOutputOptions };
        asked.push(entry);
        const transformer: ImageTransformer = {
          transform(t) {
            entry.transform = { ...entry.transform, ...t };
            real.transform(t);
            return transformer;
          },
          draw: () => {
            throw new Error('not used');
          },
          output(options) {
            entry.output = options;
            return real.output(options);
          },
        };
        return transformer;
      },
    };
    const context = () =>
      stepContext({ env: { ...env, IMAGES: recording }, tenantId: TENANT, flowId: 'flw_direct', regexBudget: { left: 0 } });

    it('passes fit (default scale-down), quality and rotate on', async () => {
      asked.length = 0;
      const run = (params: Record<string, unknown>) =>
        imageTransformBlock.run({ key: 'in/photo.jpg', destinationKey: 'out/direct.webp', ...params } as never, context());
      await run({ width: 300, height: 300, fit: 'cover', format: 'image/webp', quality: 30 });
      await run({ width: 300, format: 'image/webp', quality: 95, rotate: 180 });
      await run({ rotate: 270 });
      expect(asked).toEqual([
        { transform: { width: 300, height: 300, fit: 'cover' }, output: { format: 'image/webp', quality: 30 } },
        { transform: { width: 300, fit: 'scale-down', rotate: 180 }, output: { format: 'image/webp', quality: 95 } },
        { transform: { rotate: 270 }, output: { format: 'image/jpeg' } },
      ]);
    });

    it('reports the dimensions of what was written, whatever the binding made of fit', async () => {
      const out = (await imageTransformBlock.run(
        { key: 'in/photo.jpg', destinationKey: 'out/square.png', width: 200, height: 200, fit: 'pad', format: 'image/png' },
        context(),
      )) as { output: { width: number; height: number; size: number } };
      const stored = await env.UPLOADS.get(`${TENANT}/out/square.png`);
      const facts = await env.IMAGES.info(stored!.body);
      expect(facts).toMatchObject({ width: out.output.width, height: out.output.height, format: 'image/png' });
      expect(out.output.width).toBeLessThanOrEqual(200);
      expect(out.output.height).toBeLessThanOrEqual(200);
    });
  });
});

describe('uploads of images through the queue consumer', () => {
  async function deliver(keys: string[]) {
    const messages = await Promise.all(
      keys.map(async (key, i) => {
        const head = await env.UPLOADS.head(`${TENANT}/${key}`);
        return {
          id: `m${i}-${key}`,
          timestamp: new Date(),
          attempts: 1,
          body: {
            action: 'PutObject',
            bucket: 'powerflows-uploads',
            object: { key: `${TENANT}/${key}`, size: head!.size, eTag: head!.etag },
            eventTime: new Date().toISOString(),
          },
        };
      }),
    );
    const batch = createMessageBatch('upload-events', messages);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    return getQueueResult(batch, ctx);
  }

  it('an image/png upload starts a flow filtered on image/*, a text/plain one does not, and a thumbnail never starts the flow that made it', async () => {
    const thumbnails = await createFlow(tok, {
      trigger: { type: 'r2_upload', prefix: 'uploads/', contentTypes: ['image/*'] },
      blocks: [
        transform('thumb', { key: '{{trigger.key}}', destinationKey: '{{trigger.key}}.thumb.webp', width: 300, format: 'image/webp' }),
      ],
    });
    const watcher = await createFlow(tok, {
      trigger: { type: 'r2_upload', prefix: 'uploads/', contentTypes: ['image/*'] },
      blocks: [{ id: 'saw', type: 'log', params: { message: '{{trigger.key}}' } }],
    });
    await put('uploads/chart.png', png, 'image/png');
    await put('uploads/readme.txt', 'hello', 'text/plain');
    expect((await deliver(['uploads/chart.png', 'uploads/readme.txt'])).retryMessages).toEqual([]);

    const [first] = await listedRuns(tok, thumbnails.id);
    expect((await listedRuns(tok, thumbnails.id)).map((r) => r.trigger.key)).toEqual(['uploads/chart.png']);
    const done = await until(
      () => callJson('GET', `/v1/runs/${first.id}`, { token: tok }),
      (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
    );
    expect(stepOf(done.body, 'thumb').output).toMatchObject({ key: 'uploads/chart.png.thumb.webp', width: 300, height: 225 });

    // R2 announces the thumbnail like any new object: the flow that wrote it does not start; the other image flow does.
    await deliver(['uploads/chart.png.thumb.webp']);
    expect((await listedRuns(tok, thumbnails.id)).map((r) => r.trigger.key)).toEqual(['uploads/chart.png']);
    expect((await listedRuns(tok, watcher.id)).map((r) => r.trigger.key).sort()).toEqual([
      'uploads/chart.png',
      'uploads/chart.png.thumb.webp',
    ]);
  });
});
