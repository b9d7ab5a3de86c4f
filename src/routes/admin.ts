import { z } from '@hono/zod-openapi';
import { rewrapFlowKeys } from '../crypto/rotation';
import { auditInsert } from '../db/audit';
import { database } from '../db/client';
import { tenantScope } from '../db/scope';
import { newRouter } from '../http/router';
import { securedRoute } from '../http/secured-route';
import { jsonContent } from '../http/schemas';

const RewrapResultSchema = z
  .object({
    rewrapped: z.number().int().openapi({ description: 'Flow keys re-wrapped under MASTER_KEY by this call' }),
    remaining: z.number().int().openapi({ description: 'Still under MASTER_KEY_PREVIOUS: call again while > 0' }),
    failed: z.number().int().openapi({ description: 'Under the previous key but failing authentication' }),
    stranded: z.number().int().openapi({ description: 'Under a master key that is configured neither as current nor previous' }),
  })
  .openapi('RewrapResult');

const rewrap = securedRoute({
  method: 'post',
  path: '/admin/keys/rewrap',
  tags: ['Admin'],
  summary: 'Re-wrap every flow key under the current master key',
  description: 'Platform operator only (`admin:keys`). Idempotent and resumable; processes up to 2,000 keys per call.',
  scope: 'admin:keys',
  body: 'optional json',
  responses: { 200: jsonContent(RewrapResultSchema, 'What was re-wrapped') },
});

export const adminRoutes = newRouter().openapi(rewrap, async (c) => {
  const result = await rewrapFlowKeys(c.env, database(c.env.DB));
  const scope = tenantScope(c.env, c.var.caller);
  await auditInsert(scope, 'keys.rewrap', `flow_keys (${result.rewrapped} re-wrapped)`);
  return c.json(result, 200);
});
