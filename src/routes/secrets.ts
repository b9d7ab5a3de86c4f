import { z } from '@hono/zod-openapi';
import { sealForFlow } from '../crypto/vault';
import { requireFlow } from '../db/flows';
import { deleteSecret, listSecrets, MAX_SECRETS_PER_FLOW, putSecret } from '../db/secrets';
import { secrets } from '../db/schema';
import { tenantScope } from '../db/scope';
import { slotOf } from '../db/slots';
import { notFound, validationFailed } from '../http/errors';
import { newRouter } from '../http/router';
import { securedRoute } from '../http/secured-route';
import { flowChanged } from '../runs/executors';
import { FlowIdParam, FlowNameParams, jsonBody, jsonContent } from '../http/schemas';

const MAX_SECRET_BYTES = 64 * 1024;
/**
 * Masking replaces exactly the secret, so whoever can log a guess next to it
 * learns whether the guess was right: a short value can be enumerated. New
 * values are at least 8 bytes (values stored before, down to 4, still work).
 */
const MIN_SECRET_BYTES = 8;
/** A hostname (optionally `*.` for any subdomain), lower case, optional port. */
const HOST = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:\d{1,5})?$/;

const byteLength = (text: string) => new TextEncoder().encode(text).length;

const SecretInputSchema = z
  .object({
    value: z
      .string()
      .refine((v) => byteLength(v) >= MIN_SECRET_BYTES, {
        message: `at least ${MIN_SECRET_BYTES} bytes (a shorter value could be guessed through its masking)`,
      })
      .refine((v) => byteLength(v) <= MAX_SECRET_BYTES, { message: `at most ${MAX_SECRET_BYTES} bytes` })
      .openapi({ description: 'Write-only: never returned', format: 'password' }),
    allowedHosts: z
      .array(z.string().trim().toLowerCase().regex(HOST, 'not a hostname'))
      .max(20)
      .optional()
      .openapi({ description: 'Hosts this secret may be sent to; empty or absent: any host', example: ['api.postmarkapp.com'] }),
  })
  .openapi('SecretInput');

const SecretSchema = z
  .object({
    name: z.string(),
    allowedHosts: z.array(z.string()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Secret');

const tags = ['Secrets'];

const put = securedRoute({
  method: 'put',
  path: '/flows/{flowId}/secrets/{name}',
  tags,
  summary: 'Create or replace a flow secret (write-only)',
  scope: 'secrets:write',
  body: 'json',
  request: { params: FlowNameParams, ...jsonBody(SecretInputSchema) },
  responses: {
    201: jsonContent(SecretSchema, 'Created'),
    200: jsonContent(SecretSchema, 'Replaced'),
  },
});

const list = securedRoute({
  method: 'get',
  path: '/flows/{flowId}/secrets',
  tags,
  summary: "A flow's secrets: names and allowed hosts, never values",
  scope: 'flows:read',
  request: { params: FlowIdParam },
  responses: { 200: jsonContent(z.object({ items: z.array(SecretSchema) }), 'The secrets') },
});

const remove = securedRoute({
  method: 'delete',
  path: '/flows/{flowId}/secrets/{name}',
  tags,
  summary: 'Delete a flow secret',
  scope: 'secrets:write',
  request: { params: FlowNameParams },
  responses: { 204: { description: 'Deleted' } },
});

export const secretRoutes = newRouter()
  .openapi(put, async (c) => {
    const { flowId, name } = c.req.valid('param');
    const { value, allowedHosts = [] } = c.req.valid('json');
    const scope = tenantScope(c.env, c.var.caller);
    await requireFlow(scope, flowId);
    const slot = await slotOf(scope, secrets, flowId, name);
    if (!slot.exists && slot.count >= MAX_SECRETS_PER_FLOW) {
      throw validationFailed([{ path: 'name', message: `a flow has at most ${MAX_SECRETS_PER_FLOW} secrets` }]);
    }
    const sealed = await sealForFlow(c.env, scope, flowId, name, value);
    const info = await putSecret(scope, flowId, { name, sealed, allowedHosts: [...new Set(allowedHosts)] }, slot.exists);
    await flowChanged(c.env, flowId);
    return slot.exists ? c.json(info, 200) : c.json(info, 201);
  })
  .openapi(list, async (c) => {
    const scope = tenantScope(c.env, c.var.caller);
    const { flowId } = c.req.valid('param');
    await requireFlow(scope, flowId);
    return c.json({ items: await listSecrets(scope, flowId) }, 200);
  })
  .openapi(remove, async (c) => {
    const scope = tenantScope(c.env, c.var.caller);
    const { flowId, name } = c.req.valid('param');
    await requireFlow(scope, flowId);
    if (!(await deleteSecret(scope, flowId, name))) throw notFound('secret');
    await flowChanged(c.env, flowId);
    return c.body(null, 204);
  });
