/**
 * The image blocks, on the Cloudflare Images binding (`IMAGES`): `image_info`
 * reads an object's dimensions and format, `image_transform` writes a derived
 * image (resized, rotated, re-encoded) next to it.
 *
 * Keys are relative to the tenant's namespace (resolved as `r2_object` does).
 * A source streams from R2 into the binding; only the derived image is held
 * in memory, because R2 needs its length before it can be written. Derived
 * objects carry WRITTEN_BY_FLOW, so they never start the flow that made them.
 */
import { z } from '@hono/zod-openapi';
import { resolveKey, WRITTEN_BY_FLOW } from './r2-object';
import { asText } from './text';
import { StepError, type BlockSpec, type StepContext } from './types';

/** Sources over this size fail the step before a byte is read; so do derived images over it. */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/** The formats a derived image may have (the contract's `format`). */
export const IMAGE_FORMATS = ['image/jpeg', 'image/png', 'image/webp', 'image/avif'] as const;
export const IMAGE_FITS = ['scale-down', 'contain', 'cover', 'crop', 'pad'] as const;
const SVG = 'image/svg+xml';

const objectKey = z.string().min(1).max(1024);
const dimension = z.number().int().min(1).max(8192);

export const imageInfoParams = z.object({ key: objectKey.describe('template, relative to the tenant namespace') }).strict();

export const imageTransformParams = z
  .object({
    key: objectKey.describe('template, relative to the tenant namespace: the source image'),
    destinationKey: objectKey.describe('template, relative to the tenant namespace: where the derived image is written'),
    width: dimension.optional().describe('pixels, 1–8192'),
    height: dimension.optional().describe('pixels, 1–8192'),
    fit: z.enum(IMAGE_FITS).optional().describe('how width and height apply (default scale-down)'),
    format: z.enum(IMAGE_FORMATS).optional().describe("default: the source's format (PNG for a GIF)"),
    quality: z.number().int().min(1).max(100).optional().describe('1–100, for JPEG, WebP and AVIF'),
    rotate: z
      .union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)])
      .optional()
      .describe('degrees clockwise'),
  })
  .strict();

type InfoParams = z.infer<typeof imageInfoParams>;
type TransformParams = z.infer<typeof imageTransformParams>;
type Format = (typeof IMAGE_FORMATS)[number];

interface ImageFacts {
  format: string;
  width: number | null;
  height: number | null;
}

const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/** The first line of a binding error, without the local binding's stack or HTTP wrapper. */
function cause(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = (message.split('\n')[0] ?? '').replace(/^Unexpected error response \d+: /, '').replace(/^(Error|ERROR): /, '');
  return line.slice(0, 200);
}

/** Whether a binding error says the bytes are no image it can read (code 9412 in production, 415 or sharp's words locally). */
const notAnImage = (err: unknown): boolean =>
  (err as { code?: unknown } | null)?.code === 9412 || /unsupported image|not an image|9412|9520|415/i.test(cause(err));

/** Opens a source object of at most MAX_IMAGE_BYTES; a missing or larger one fails the step. */
async function openSource(context: StepContext, key: string): Promise<R2ObjectBody> {
  const object = await context.env.UPLOADS.get(resolveKey(context, key));
  if (!object) throw new StepError(`no object at "${key}"`);
  if (object.size > MAX_IMAGE_BYTES) {
    await object.body.cancel();
    throw new StepError(`"${key}" is ${mib(object.size)}: image blocks read images of at most ${mib(MAX_IMAGE_BYTES)}`);
  }
  return object;
}

/** Dimensions and format of an image, read by the binding as the bytes stream in. */
async function readFacts(context: StepContext, key: string, stream: ReadableStream<Uint8Array>): Promise<ImageFacts> {
  let info: ImageInfoResponse;
  try {
    info = await context.env.IMAGES.info(stream);
  } catch (err) {
    if (notAnImage(err)) throw new StepError(`"${key}" is not an image (JPEG, PNG, GIF, WebP, AVIF or SVG): ${cause(err)}`);
    throw new StepError(`the Images binding could not read "${key}": ${cause(err)}`);
  }
  if (!('width' in info)) return { format: info.format, width: null, height: null };
  return { format: info.format, width: info.width, height: info.height };
}

/** `image_info`: the dimensions, format and size of an image in the tenant's storage. */
export const imageInfoBlock: BlockSpec<InfoParams> = {
  type: 'image_info',
  label: 'Read Image Info',
  category: 'Media',
  description: "Reads an image's width, height, format and size (the Images binding); fails on a non-image or one over 20 MiB.",
  output: z.object({
    key: z.string(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    format: z.string().describe('a MIME type such as image/png'),
    size: z.number().int(),
  }),
  help: "Reads the width, height, format and size of an image in the tenant's storage (keys relative to the tenant), e.g. to branch on its size. A non-image or an image over 20 MiB fails the step.",
  params: imageInfoParams,
  async run(params, context) {
    const key = asText(params.key);
    const object = await openSource(context, key);
    const facts = await readFacts(context, key, object.body);
    return { output: { key, width: facts.width, height: facts.height, format: facts.format, size: object.size } };
  },
};

/** The output format: as asked, else the source's when it can be written, else PNG (a GIF's first frame). */
function outputFormat(params: TransformParams, source: ImageFacts): Format {
  if (params.format) return params.format;
  return (IMAGE_FORMATS as readonly string[]).includes(source.format) ? (source.format as Format) : 'image/png';
}

/**
 * The dimensions of an image the binding has just made. Locally, miniflare
 * cannot read back the AVIF it writes (sharp calls it HEIF): then they are
 * unknown (null) rather than the step failing.
 */
async function derivedFacts(context: StepContext, bytes: Uint8Array): Promise<Pick<ImageFacts, 'width' | 'height'>> {
  try {
    const info = await context.env.IMAGES.info(new Blob([bytes]).stream());
    return 'width' in info ? { width: info.width, height: info.height } : { width: null, height: null };
  } catch {
    return { width: null, height: null };
  }
}

/** `image_transform`: resizes, rotates and re-encodes an image into a new object of the tenant. */
export const imageTransformBlock: BlockSpec<TransformParams> = {
  type: 'image_transform',
  label: 'Transform Image',
  category: 'Media',
  description:
    'Resizes (fit), rotates and converts an image (JPEG, PNG, WebP, AVIF) into a new object, marked as written by the flow so it does not trigger it.',
  output: z.object({
    key: z.string(),
    size: z.number().int(),
    contentType: z.string(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
  }),
  help: "Resizes (width, height, fit), rotates and re-encodes (JPEG, PNG, WebP, AVIF, quality) an image into destinationKey, e.g. a 300-px WebP thumbnail at thumbs/{{trigger.key}}.webp. The object written is marked so it does not trigger this flow. Output: the written object's { key, size, contentType, width, height }.",
  params: imageTransformParams,
  async run(params, context) {
    const key = asText(params.key);
    const destination = asText(params.destinationKey);
    const destinationKey = resolveKey(context, destination); // a bad destination fails before any work
    const first = await openSource(context, key);
    const source = await readFacts(context, key, first.body);
    if (source.format === SVG) throw new StepError(`"${key}" is an SVG: image_transform works on bitmap images`);

    // The info read consumed the first stream: stream the same object again (the same version, or the step fails).
    const second = await context.env.UPLOADS.get(resolveKey(context, key), { onlyIf: { etagMatches: first.etag } });
    if (!second || !('body' in second)) throw new StepError(`"${key}" changed while it was being read`);

    const transform: ImageTransform = {};
    if (params.width !== undefined) transform.width = params.width;
    if (params.height !== undefined) transform.height = params.height;
    if (params.width !== undefined || params.height !== undefined) transform.fit = params.fit ?? 'scale-down';
    if (params.rotate !== undefined) transform.rotate = params.rotate;
    const output: ImageOutputOptions = { format: outputFormat(params, source) };
    if (params.quality !== undefined) output.quality = params.quality;

    let bytes: Uint8Array;
    let contentType: string;
    try {
      const result = await context.env.IMAGES.input(second.body).transform(transform).output(output);
      contentType = result.contentType();
      bytes = new Uint8Array(await result.response().arrayBuffer());
    } catch (err) {
      throw new StepError(`the Images binding could not transform "${key}": ${cause(err)}`);
    }
    if (bytes.byteLength > MAX_IMAGE_BYTES)
      throw new StepError(`the derived image would be ${mib(bytes.byteLength)}: at most ${mib(MAX_IMAGE_BYTES)} is written`);
    const derived = await derivedFacts(context, bytes);
    if (context.signal.aborted) throw new StepError('cancelled');

    await context.env.UPLOADS.put(destinationKey, bytes, {
      httpMetadata: { contentType },
      customMetadata: { [WRITTEN_BY_FLOW]: context.flowId },
    });
    return { output: { key: destination, size: bytes.byteLength, contentType, width: derived.width, height: derived.height } };
  },
};
