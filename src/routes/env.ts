import { z } from '@hono/zod-openapi';
import { tenantScope } from '../db/scope';
import { deleteEnv, envSlotOf, listEnv, MAX_ENV_PER_TENANT, putEnv } from '../db/tenant-env';
import type { Env } from '../env';
import { notFound, validationFailed } from '../http/errors';
import { newRouter } from '../http/router';
import { jsonBody, jsonContent } from '../http/schemas';
import { securedRoute } from '../http/secured-route';
import { flowChanged } from '../runs/executors';

const MAX_ENV_VALUE_BYTES = 8 * 1024;
/** Flows whose executors are told of a change at once (each has `EXECUTOR_SHARDS` executors). */
export const INVALIDATE_BATCH = 25;

const byteLength = (text: string) => new TextEncoder().encode(text).length;

const EnvNameParam = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'names match ^[A-Za-z_][A-Za-z0-9_]{0,63}$')
    .openapi({ param: { in: 'path' }, example: 'region' }),
});

const EnvInputSchema = z
  .object({
    value: z.string().refine((v) => byteLength(v) <= MAX_ENV_VALUE_BYTES, { message: `at most ${MAX_ENV_VALUE_BYTES} bytes` }),
  })
  .openapi('EnvVarInput');
const EnvVarSchema = z.object({ name: z.string(), value: z.string(), updatedAt: z.string() }).openapi('EnvVar');

const tags = ['Environment'];

const put = securedRoute({
  method: 'put',
  path: '/env/{name}',
  tags,
  summary: 'Create or replace a tenant environment variable',
  scope: 'flows:write',
  body: 'json',
  request: { params: EnvNameParam, ...jsonBody(EnvInputSchema) },
  responses: {
    201: jsonContent(EnvVarSchema, 'Created'),
    200: jsonContent(EnvVarSchema, 'Replaced'),
  },
});

const list = securedRoute({
  method: 'get',
  path: '/env',
  tags,
  summary: "The tenant's environment variables, by name",
  scope: 'flows:read',
  responses: { 200: jsonContent(z.object({ items: z.array(EnvVarSchema) }), 'The environment variables') },
});

const remove = securedRoute({
  method: 'delete',
  path: '/env/{name}',
  tags,
  summary: 'Delete a tenant environment variable',
  scope: 'flows:write',
  request: { params: EnvNameParam },
  responses: { 204: { description: 'Deleted' } },
});

/**
 * Every warm executor of every flow of the tenant forgets its cached
 * configuration (ENV included) before the route answers, so a run started
 * after the answer sees the change. A few flows at a time.
 */
async function tenantEnvChanged(env: Env, flowIds: readonly string[]): Promise<void> {
  for (let i = 0; i < flowIds.length; i += INVALIDATE_BATCH) {
    await Promise.all(flowIds.slice(i, i + INVALIDATE_BATCH).map((flowId) => flowChanged(env, flowId)));
  }
}

export const envRoutes = newRouter()
  .openapi(put, async (c) => {
    const { name } = c.req.valid('param');
    const scope = tenantScope(c.env, c.var.caller);
    const slot = await envSlotOf(scope, name);
    if (!slot.exists && slot.count >= MAX_ENV_PER_TENANT) {
      throw validationFailed([{ path: 'name', message: `a tenant has at most ${MAX_ENV_PER_TENANT} environment variables` }]);
    }
    const { envVar, flowIds } = await putEnv(scope, name, c.req.valid('json').value, slot.exists);
    await tenantEnvChanged(c.env, flowIds);
    return slot.exists ? c.json(envVar, 200) : c.json(envVar, 201);
  })
  .openapi(list, async (c) => {
    const scope = tenantScope(c.env, c.var.caller);
    return c.json({ items: await listEnv(scope) }, 200);
  })
  .openapi(remove, async (c) => {
    const { name } = c.req.valid('param');
    const scope = tenantScope(c.env, c.var.caller);
    const deleted = await deleteEnv(scope, name);
    if (!deleted) throw notFound('environment variable');
    await tenantEnvChanged(c.env, deleted.flowIds);
    return c.body(null, 204);
  });
