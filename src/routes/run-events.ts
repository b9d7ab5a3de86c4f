/**
 * Events for waiting `wait_for_event` steps (contract 1.2, "Waiting for an
 * event"): through the API with a token, or anonymously to the step's
 * callback URL, whose MAC is its proof (src/crypto/callbacks.ts).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { callbackHolds } from '../crypto/callbacks';
import { ApiError, notFound } from '../http/errors';
import { isJsonMediaType, readTextWithin } from '../http/json-body';
import { newRouter } from '../http/router';
import { jsonBody, jsonContent, RunIdParam, standardErrors } from '../http/schemas';
import { securedRoute } from '../http/secured-route';
import { enforceRateLimit, hookLimit } from '../limits/enforce';
import { MAX_JSON_DEPTH, nestingDepth } from '../lib/json-depth';
import type { EventDelivery } from '../runs/executor';
import { requireExecutor } from '../runs/executors';
import { RunSchema } from './runs';

/** An event's data, as JSON, at most this many bytes. */
export const MAX_EVENT_BYTES = 64 * 1024;

const BlockParam = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'not a block id');
/** `3` or, in a loop inside a loop, `1.3`: the loop items of the waiting step. */
const ItemsQuery = z
  .string()
  .regex(/^\d{1,4}(\.\d{1,4})?$/, 'item indexes, outer loop first, such as 3 or 1.3')
  .transform((text) => text.split('.').map(Number))
  .optional();

const send = securedRoute({
  method: 'post',
  path: '/runs/{runId}/events/{blockId}',
  tags: ['Runs'],
  summary: "Deliver an event to a run's waiting wait_for_event step",
  description:
    'Ends the step with `{ data, receivedAt, via: "api" }`. 409 when the step is not waiting (not yet, or no more: a second delivery). In a loop, `?iteration=` (or `1.3` for a loop inside a loop) says which item; without it, the one item waiting there.',
  scope: 'runs:write',
  body: 'json',
  request: {
    params: RunIdParam.extend({ blockId: BlockParam.openapi({ param: { in: 'path' } }) }),
    query: z.object({ iteration: ItemsQuery.openapi({ param: { in: 'query' } }) }),
    ...jsonBody(z.object({ data: z.unknown() }).strict().openapi('RunEventInput')),
  },
  responses: {
    202: jsonContent(RunSchema, 'Delivered; the run as it is now'),
    409: { description: 'The step is not waiting for an event (`conflict`)' },
  },
});

const callback = createRoute({
  method: 'post',
  path: '/callbacks/{runId}/{blockId}/{mac}',
  tags: ['Runs'],
  summary: "A wait_for_event step's callback URL (no token: the URL is the secret)",
  description:
    'The body (JSON, at most 64 KiB) is the event\'s data; the step ends with `{ data, receivedAt, via: "callback" }`. Single use: a second delivery is 409. A URL that does not hold is 404.',
  request: {
    params: RunIdParam.extend({
      blockId: BlockParam.openapi({ param: { in: 'path' } }),
      mac: z
        .string()
        .max(64)
        .openapi({ param: { in: 'path' } }),
    }),
    query: z.object({ items: ItemsQuery.openapi({ param: { in: 'query' } }) }),
  },
  responses: {
    202: jsonContent(z.object({ delivered: z.literal(true) }), 'Delivered'),
    400: standardErrors[400],
    404: standardErrors[404],
    409: { description: 'The step is not waiting for an event (`conflict`)' },
    413: standardErrors[413],
    429: standardErrors[429],
  },
});

/** The executor's answer as the contract's: 404, 409, or the run. */
function delivered(result: EventDelivery) {
  if (result.outcome === 'not_found') throw notFound('run or step');
  if (result.outcome === 'conflict') throw new ApiError('conflict', result.message);
  return result.run;
}

export const runEventRoutes = newRouter()
  .openapi(send, async (c) => {
    const { runId, blockId } = c.req.valid('param');
    const { data } = c.req.valid('json');
    if (new TextEncoder().encode(JSON.stringify(data ?? null)).byteLength > MAX_EVENT_BYTES)
      throw new ApiError('payload_too_large', `data is larger than ${MAX_EVENT_BYTES} bytes as JSON`);
    const items = c.req.valid('query').iteration;
    const result = await requireExecutor(c.env, runId).deliverEvent(
      c.var.caller.tenantId,
      runId,
      { blockId, ...(items ? { items } : {}) },
      data ?? null,
      'api',
    );
    return c.json(delivered(result), 202);
  })
  .openapi(callback, async (c) => {
    const { runId, blockId, mac } = c.req.valid('param');
    const items = c.req.valid('query').items ?? [];
    if (!(await callbackHolds(c.env, { runId, blockId, items }, mac))) throw notFound('callback');
    await enforceRateLimit(c.env, `callback:${runId}`, hookLimit(c.env), 'this callback');
    const text = await readTextWithin(c.req.raw, MAX_EVENT_BYTES);
    if (text !== '' && !isJsonMediaType(c.req.header('content-type')))
      throw new ApiError('unsupported_media_type', 'send the event as application/json');
    let data: unknown = null;
    if (text.trim() !== '') {
      if (nestingDepth(text) > MAX_JSON_DEPTH) throw new ApiError('invalid_json', `body is nested deeper than ${MAX_JSON_DEPTH} levels`);
      try {
        data = JSON.parse(text);
      } catch {
        throw new ApiError('invalid_json', 'body is not valid JSON');
      }
    }
    delivered(await requireExecutor(c.env, runId).deliverEvent(null, runId, { blockId, items }, data, 'callback'));
    return c.json({ delivered: true as const }, 202);
  });
