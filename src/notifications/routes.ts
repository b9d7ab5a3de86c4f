import { z } from '@hono/zod-openapi';
import { requireFlow } from '../db/flows';
import { tenantScope } from '../db/scope';
import { FlowIdParam, jsonContent, pageOf, pageQuery } from '../http/schemas';
import { newRouter } from '../http/router';
import { securedRoute } from '../http/secured-route';
import { idPattern } from '../lib/ids';
import { listDeliveries, toDelivery } from './store';

const DeliverySchema = z
  .object({
    id: z.string().openapi({ description: 'Also the `webhook-id` of every attempt' }),
    runId: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('NotificationDelivery');

const list = securedRoute({
  method: 'get',
  path: '/flows/{flowId}/notifications',
  tags: ['Flows'],
  summary: "A flow's notification deliveries, newest first",
  scope: 'flows:read',
  request: { params: FlowIdParam, query: pageQuery(idPattern('ntf')) },
  responses: { 200: jsonContent(pageOf(DeliverySchema), 'A page of deliveries') },
});

export const notificationRoutes = newRouter().openapi(list, async (c) => {
  const scope = tenantScope(c.env, c.var.caller);
  const { flowId } = c.req.valid('param');
  await requireFlow(scope, flowId);
  const result = await listDeliveries(scope, flowId, c.req.valid('query'));
  return c.json({ items: result.items.map(toDelivery), nextCursor: result.nextCursor }, 200);
});
