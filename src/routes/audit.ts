import { z } from '@hono/zod-openapi';
import { listAudit } from '../db/audit';
import { tenantScope } from '../db/scope';
import { newRouter } from '../http/router';
import { securedRoute } from '../http/secured-route';
import { idPattern } from '../lib/ids';
import { jsonContent, pageOf, pageQuery } from '../http/schemas';

const AuditEventSchema = z
  .object({
    id: z.string(),
    ts: z.string(),
    actor: z.string().openapi({ description: 'The `sub` of the token that made the change' }),
    action: z.string().openapi({ example: 'secret.replace' }),
    target: z.string().openapi({ example: 'flows/flw_01JD3Q2V7X0000000000000000/secrets/postmark_api_key' }),
  })
  .openapi('AuditEvent');

const list = securedRoute({
  method: 'get',
  path: '/audit',
  tags: ['Audit'],
  summary: "The tenant's audit log, newest first (never a value)",
  scope: 'flows:read',
  request: { query: pageQuery(idPattern('aud')) },
  responses: { 200: jsonContent(pageOf(AuditEventSchema), 'A page of audit events') },
});

export const auditRoutes = newRouter().openapi(list, async (c) =>
  c.json(await listAudit(tenantScope(c.env, c.var.caller), c.req.valid('query')), 200),
);
