import { createRoute, z } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { isDevelopment, settings } from '../config';
import { requireScope } from '../http/auth';
import { ApiError, validationFailed } from '../http/errors';
import type { AppEnv } from '../http/router';
import { jsonContent, standardErrors } from '../http/schemas';
import { enforceRateLimit, tenantRunLimit } from '../limits/enforce';
import { keyProblem, MAX_KEY_BYTES } from '../lib/object-keys';
import type { R2Event } from '../triggers/r2-event';

/** For the OpenAPI document (the route itself is plain Hono: its path holds slashes). */
export const uploadRouteDoc = createRoute({
  method: 'put',
  path: '/v1/uploads/{path}',
  tags: ['Uploads'],
  summary: "Upload an object into the tenant's namespace (`<tid>/<path>`)",
  description:
    'Raw body, streamed (Content-Length required; 411 without). Over MAX_UPLOAD_BYTES: 413. `path` may hold slashes; `..`, empty segments and a leading `/` are 422. Starts the matching `r2_upload` flows.',
  security: [{ bearerAuth: [] }],
  request: {
    params: z.object({ path: z.string().openapi({ param: { in: 'path' }, example: 'images/cat.jpg' }) }),
    body: { content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } }, required: true },
  },
  responses: {
    201: jsonContent(z.object({ key: z.string(), size: z.number().int(), eTag: z.string() }), 'Stored'),
    ...standardErrors,
    411: { description: 'No Content-Length (`length_required`)' },
  },
});
export const UPLOADS_BUCKET_NAME = 'powerflows-uploads';

/**
 * `PUT /v1/uploads/<path>`: streams the raw body into the uploads bucket at
 * `<tid>/<path>`, keeping its content type. The body is never buffered: R2
 * takes the request stream, whose length `Content-Length` declares (and the
 * runtime enforces), so the size limit is checked before a byte is stored.
 */
export const uploadRoutes = new Hono<AppEnv>().put('/uploads/*', requireScope('flows:write'), async (c) => {
  const caller = c.var.caller;
  const path = decodePath(c.req.path.slice('/v1/uploads/'.length));
  const problem =
    keyProblem(path) ??
    (byteLength(`${caller.tenantId}/${path}`) > MAX_KEY_BYTES
      ? `path is longer than ${MAX_KEY_BYTES - caller.tenantId.length - 1} bytes`
      : null);
  if (problem) throw validationFailed([{ path: 'path', message: problem }]);

  const limit = settings(c.env).MAX_UPLOAD_BYTES;
  const declared = c.req.header('content-length');
  if (declared === undefined) throw new ApiError('length_required', 'send Content-Length with the upload');
  const size = Number(declared);
  if (!Number.isSafeInteger(size) || size < 0) throw validationFailed([{ path: 'Content-Length', message: 'not a byte count' }]);
  if (size > limit) throw new ApiError('payload_too_large', `upload is larger than ${limit} bytes`);
  await enforceRateLimit(c.env, `tenant:${caller.tenantId}`, tenantRunLimit(c.env), 'this tenant');

  const key = `${caller.tenantId}/${path}`;
  const contentType = c.req.header('content-type');
  const object = await c.env.UPLOADS.put(key, size === 0 ? '' : c.req.raw.body, {
    httpMetadata: contentType ? { contentType } : undefined,
  });
  if (isDevelopment(c.env)) {
    // Miniflare emits no R2 event notifications: send the message production's notification rule would.
    const event: R2Event = {
      account: 'local',
      action: 'PutObject',
      bucket: UPLOADS_BUCKET_NAME,
      object: { key, size: object.size, eTag: object.etag },
      eventTime: object.uploaded.toISOString(),
    };
    await c.env.UPLOAD_EVENTS.send(event);
  }
  return c.json({ key: path, size: object.size, eTag: object.etag }, 201);
});

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw validationFailed([{ path: 'path', message: 'not a valid percent-encoded path' }]);
  }
}

const byteLength = (text: string) => new TextEncoder().encode(text).length;
