import { createRoute, z } from '@hono/zod-openapi';
import { requireFlow, rotateHook, toFlow } from '../db/flows';
import { tenantScope } from '../db/scope';
import { ApiError, notFound } from '../http/errors';
import { isJsonMediaType, MAX_JSON_BYTES, readTextWithin } from '../http/json-body';
import { MAX_JSON_DEPTH, nestingDepth } from '../lib/json-depth';
import { newRouter } from '../http/router';
import { securedRoute } from '../http/secured-route';
import { FlowIdParam, jsonContent, standardErrors } from '../http/schemas';
import { enforceRateLimit, hookLimit, tenantRunLimit } from '../limits/enforce';
import { NotFoundError } from '../lib/errors';
import { flowChanged } from '../runs/executors';
import { startRun } from '../runs/start';
import { forgetHook, hookTarget } from '../triggers/hook-flows';
import { FlowSchema } from './flows';

/**
 * Headers a flow never sees: credentials of whoever called the hook
 * (authorization, cookies, signatures, and anything named like a token,
 * secret, key or auth).
 */
const isCredentialHeader = (name: string): boolean => name === 'cookie' || /token|secret|key|signature|auth/.test(name);

const HookParam = z.object({
  hookId: z
    .string()
    .max(100)
    .openapi({ param: { in: 'path' } }),
});

const trigger = createRoute({
  method: 'post',
  path: '/hooks/{hookId}',
  tags: ['Webhooks'],
  summary: "Start a run of the webhook's flow (no JWT: the hook id is the secret)",
  description:
    "The run's trigger is `{ body, headers, query }`: the body parsed when it is JSON (text otherwise, up to 1 MiB), headers without credentials (authorization, cookies, signatures, and any header named like a token, secret, key or auth). Rate limited per hook.",
  request: { params: HookParam },
  responses: {
    202: jsonContent(z.object({ runId: z.string() }), 'Run started'),
    400: standardErrors[400],
    401: standardErrors[401],
    404: standardErrors[404],
    413: standardErrors[413],
    429: standardErrors[429],
  },
});

const rotate = securedRoute({
  method: 'post',
  path: '/flows/{flowId}/hook/rotate',
  tags: ['Webhooks'],
  summary: 'Give a webhook flow a new hook URL; the old one stops working',
  scope: 'flows:write',
  request: { params: FlowIdParam },
  responses: {
    200: jsonContent(FlowSchema, 'The flow with its new hookUrl'),
    409: { description: 'The flow has no webhook trigger (`conflict`)' },
  },
});

export const hookRoutes = newRouter()
  .openapi(trigger, async (c) => {
    const { hookId } = c.req.valid('param');
    let target = await hookTarget(c.env, hookId);
    if (!target) throw notFound('hook');
    await enforceRateLimit(c.env, `hook:${hookId}`, hookLimit(c.env), 'this hook');
    await enforceRateLimit(c.env, `tenant:${target.tenantId}`, tenantRunLimit(c.env), 'this tenant');

    const text = await readTextWithin(c.req.raw, MAX_JSON_BYTES);
    let body: unknown = text;
    if (text !== '' && isJsonMediaType(c.req.header('content-type'))) {
      if (nestingDepth(text) > MAX_JSON_DEPTH) throw new ApiError('invalid_json', `body is nested deeper than ${MAX_JSON_DEPTH} levels`);
      try {
        body = JSON.parse(text);
      } catch {
        throw new ApiError('invalid_json', 'body is not valid JSON');
      }
    }
    const received: Record<string, string> = {};
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      received[name] = value;
      if (!isCredentialHeader(name)) headers[name] = value;
    });
    const query = Object.fromEntries(new URL(c.req.url).searchParams);

    const run = { type: 'webhook' as const, payload: { body, headers, query } };
    for (;;) {
      try {
        const scope = tenantScope(c.env, { tenantId: target.tenantId, sub: 'webhook' });
        // What a signed flow checks: the raw body and headers, and the message id a replay would repeat.
        const messageId = received['webhook-id'];
        const signed = { body: text, headers: received, ...(messageId ? { replayKey: `whk:${target.flowId}:${messageId}` } : {}) };
        const started = await startRun(c.env, scope, target.flowId, run, { hookId, signed });
        return c.json({ runId: 'duplicateOf' in started ? started.duplicateOf : started.id }, 202);
      } catch (err) {
        // A remembered hook the executor refused (rotated, disabled, deleted): ask D1 once.
        if (!(err instanceof NotFoundError) || !target.remembered) throw err;
        forgetHook(hookId);
        target = await hookTarget(c.env, hookId, true);
        if (!target) throw notFound('hook');
      }
    }
  })
  .openapi(rotate, async (c) => {
    const scope = tenantScope(c.env, c.var.caller);
    const { flowId } = c.req.valid('param');
    await requireFlow(scope, flowId);
    const row = await rotateHook(scope, flowId);
    if (!row) throw new ApiError('conflict', 'the flow has no webhook trigger');
    await flowChanged(c.env, flowId); // its executors stop accepting the old hook
    return c.json(toFlow(row), 200);
  });
