import { createRoute, z } from '@hono/zod-openapi';
import { listAudit } from '../db/audit';
import { tenantScope } from '../db/scope';
import { requireScope } from '../http/auth';
import { newRouter } from '../http/router';
import { idPattern } from '../lib/ids';
import { bearerSecurity, jsonContent, pageOf, pageQuery, standardErrors } from '../http/schemas';

const AuditEventSchema = z
  .object({
    id: z.string(),
    ts: z.string(),
    actor: z.string().openapi({ description: 'The `sub` of the token that made the change' }),
    action: z.string().openapi({ example: 'secret.replace' }),
    target: z.string().openapi({ example: 'flows/flw_01JD3Q2V7X0000000000000000/secrets/postmark_api_key' }),
  })
  .openapi('AuditEvent');

const list = createRoute({
  method: 'get',
  path: '/audit',
  tags: ['Audit'],
  summary: "The tenant's audit log, newest first (never a value)",
  security: bearerSecurity,
  middleware: [requireScope('flows:read')] as const,
  request: { query: pageQuery(idPattern('aud')) },
  responses: { 200: jsonContent(pageOf(AuditEventSchema), 'A page of audit events'), ...standardErrors },
});

export const auditRoutes = newRouter().openapi(list, async (c) =>
  c.json(await listAudit(tenantScope(c.env, c.var.caller), c.req.valid('query')), 200),
);
