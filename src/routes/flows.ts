import { z } from '@hono/zod-openapi';
import { createFlow, deleteFlow, type FlowRow, listFlows, newFlowId, requireFlow, toFlow, updateFlow } from '../db/flows';
import { tenantScope } from '../db/scope';
import { newFlowKey } from '../crypto/vault';
import { type Block, BlockSchema, type FlowInput, FlowInputSchema, NotifySchema, TriggerSchema } from '../flows/definition';
import { newSecretDestinations } from '../flows/secret-destinations';
import { newRouter } from '../http/router';
import { securedRoute } from '../http/secured-route';
import { flowChanged } from '../runs/executors';
import { idPattern } from '../lib/ids';
import { ApiError, formatPath, notFound } from '../http/errors';
import { conflictError, FlowIdParam, jsonBody, jsonContent, pageOf, pageQuery } from '../http/schemas';

export const FlowSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    enabled: z.boolean(),
    version: z.number().int(),
    trigger: TriggerSchema,
    blocks: z.array(BlockSchema),
    notify: NotifySchema.nullable().openapi({ description: 'Where and when finished runs are announced (null: never)' }),
    hookUrl: z.string().optional().openapi({ description: 'Webhook flows only: `/v1/hooks/<hookId>`' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Flow');

const IfMatchHeader = z.object({
  'if-match': z
    .string()
    .optional()
    .openapi({ param: { in: 'header' }, example: '3' }),
});

const tags = ['Flows'];

const create = securedRoute({
  method: 'post',
  path: '/flows',
  tags,
  summary: 'Create a flow (version 1)',
  scope: 'flows:write',
  body: 'json',
  request: jsonBody(FlowInputSchema),
  responses: { 201: jsonContent(FlowSchema, 'The new flow') },
});

const validate = securedRoute({
  method: 'post',
  path: '/flows/validate',
  tags,
  summary: 'Check a flow definition without saving it',
  description: 'The same checks as `POST /v1/flows`: 200 `{ valid: true }`, or 422 naming every bad path. Nothing is stored.',
  scope: 'flows:read',
  body: 'json',
  request: jsonBody(FlowInputSchema),
  responses: { 200: jsonContent(z.object({ valid: z.literal(true) }).openapi('FlowValidation'), 'The definition is valid') },
});

const list = securedRoute({
  method: 'get',
  path: '/flows',
  tags,
  summary: 'List flows, newest first',
  scope: 'flows:read',
  request: { query: pageQuery(idPattern('flw')) },
  responses: { 200: jsonContent(pageOf(FlowSchema), 'A page of flows') },
});

const get = securedRoute({
  method: 'get',
  path: '/flows/{flowId}',
  tags,
  summary: 'Get a flow',
  scope: 'flows:read',
  request: { params: FlowIdParam },
  responses: { 200: jsonContent(FlowSchema, 'The flow') },
});

const update = securedRoute({
  method: 'put',
  path: '/flows/{flowId}',
  tags,
  summary: 'Replace a flow definition (version + 1)',
  description: 'With `If-Match: <version>`, answers 409 unless that is the current version.',
  scope: 'flows:write',
  body: 'json',
  request: { params: FlowIdParam, headers: IfMatchHeader, ...jsonBody(FlowInputSchema) },
  responses: { 200: jsonContent(FlowSchema, 'The updated flow'), ...conflictError },
});

const remove = securedRoute({
  method: 'delete',
  path: '/flows/{flowId}',
  tags,
  summary: 'Delete a flow and destroy its key',
  scope: 'flows:write',
  request: { params: FlowIdParam },
  responses: { 204: { description: 'Deleted; its secrets can never be read again' } },
});

export const flowRoutes = newRouter()
  .openapi(create, async (c) => {
    const scope = tenantScope(c.env, c.var.caller);
    const flowId = newFlowId();
    const row = await createFlow(scope, flowId, c.req.valid('json'), await newFlowKey(c.env, scope.tenantId, flowId));
    return c.json(toFlow(row), 201, { ETag: etag(row.version) });
  })
  // The body has passed FlowInputSchema (the 422s) by the time this runs.
  .openapi(validate, (c) => c.json({ valid: true as const }, 200))
  .openapi(list, async (c) => {
    const result = await listFlows(tenantScope(c.env, c.var.caller), c.req.valid('query'));
    return c.json({ items: result.items.map(toFlow), nextCursor: result.nextCursor }, 200);
  })
  .openapi(get, async (c) => {
    const row = await requireFlow(tenantScope(c.env, c.var.caller), c.req.valid('param').flowId);
    return c.json(toFlow(row), 200, { ETag: etag(row.version) });
  })
  .openapi(update, async (c) => {
    const expected = parseIfMatch(c.req.valid('header')['if-match']);
    const input = c.req.valid('json');
    const mayRedirectSecrets = c.var.caller.scopes.has('secrets:write');
    const result = await updateFlow(
      tenantScope(c.env, c.var.caller),
      c.req.valid('param').flowId,
      input,
      expected,
      mayRedirectSecrets ? undefined : (current) => refuseSecretRedirects(current, input),
    );
    if (!result.ok) {
      if (result.reason === 'not_found') throw notFound('flow');
      throw new ApiError('conflict', 'the flow has changed: fetch it again and retry with its version in If-Match');
    }
    await flowChanged(c.env, result.row.id);
    return c.json(toFlow(result.row), 200, { ETag: etag(result.row.version) });
  })
  .openapi(remove, async (c) => {
    const { flowId } = c.req.valid('param');
    if (!(await deleteFlow(tenantScope(c.env, c.var.caller), flowId))) throw notFound('flow');
    await flowChanged(c.env, flowId, 'deleted'); // its executors drop the flow's key, runs in flight too
    return c.body(null, 204);
  });

const etag = (version: number): string => `"${version}"`;

/**
 * Contract, "Who may redirect a secret": without `secrets:write`, a new
 * version may not send a secret to a host the previous one did not, nor to
 * a templated host. Nor may it send signatures made with a secret anywhere
 * new: notifications signed with a secret the previous version did not sign
 * with, or sent to another URL, would hand an editor HMACs of a known body
 * to test guesses of the secret against. 403 naming each block and secret.
 */
function refuseSecretRedirects(previous: Pick<FlowRow, 'blocks' | 'notify'>, next: FlowInput): void {
  const details = newSecretDestinations(previous.blocks, next.blocks as Block[]).map((d) => ({
    path: formatPath(d.path),
    message: `block "${d.blockId}" would send secret "${d.secret}" to ${d.host === null ? 'a templated host' : `${d.host}, where the previous version did not send it`}`,
  }));
  const signing = next.notify?.signingSecret;
  if (signing && (signing !== previous.notify?.signingSecret || next.notify?.url !== previous.notify?.url)) {
    details.push({
      path: 'notify',
      message: `notifications signed with secret "${signing}" would go where the previous version did not send them`,
    });
  }
  if (details.length === 0) return;
  throw new ApiError('forbidden', 'sending a secret, or a signature made with one, somewhere new needs the secrets:write scope', details);
}

/**
 * `If-Match: 3`, `"3"` or `W/"3"` name version 3; `*` matches any version.
 * Anything else can never match, so it is a conflict.
 */
function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  return match ? Number(match[1]) : -1;
}
