import type { HonoRequest, MiddlewareHandler } from 'hono';
import { MAX_JSON_DEPTH, nestingDepth } from '../lib/json-depth';
import { ApiError } from './errors';

export const MAX_JSON_BYTES = 1024 * 1024;

const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json$/i;

/**
 * Reads a request body as text, refusing it with 413 once it passes `limit`
 * bytes: by `Content-Length` before reading, and while reading when the
 * header is absent or lies, so a huge body is never buffered whole.
 */
export async function readTextWithin(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? 'NaN');
  if (declared > limit) throw tooLarge(limit);
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError('invalid_json', 'body is not valid UTF-8');
  }
}

const tooLarge = (limit: number) => new ApiError('payload_too_large', `body is larger than ${limit} bytes`);

export const isJsonMediaType = (contentType: string | undefined): boolean =>
  JSON_MEDIA_TYPE.test((contentType ?? '').split(';')[0]!.trim());

/**
 * Body handling for JSON routes, before the route's zod validator runs:
 * 415 for a body that is not declared JSON, 413 past 1 MiB, 400 for malformed
 * JSON or a non-object. An absent body passes when `required` is false (the
 * route's schema then sees `{}`). The checked text replaces the request's
 * stream, so the route's validator reads it like any body.
 */
export function readJsonBody({ required = true }: { required?: boolean } = {}): MiddlewareHandler {
  return async (c, next) => {
    const contentType = c.req.header('content-type');
    const text = await readTextWithin(c.req.raw, MAX_JSON_BYTES);
    if (text.trim() === '') {
      if (required) throw new ApiError('invalid_json', 'a JSON object body is required');
      replaceBody(c.req, isJsonMediaType(contentType) ? '{}' : null);
      return next();
    }
    if (!isJsonMediaType(contentType)) {
      throw new ApiError('unsupported_media_type', 'send the body as application/json');
    }
    if (nestingDepth(text) > MAX_JSON_DEPTH) {
      throw new ApiError('invalid_json', `body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError('invalid_json', 'body is not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ApiError('invalid_json', 'body must be a JSON object');
    }
    replaceBody(c.req, text);
    return next();
  };
}

function replaceBody(req: HonoRequest, text: string | null): void {
  req.raw = new Request(req.raw, { body: text });
}
