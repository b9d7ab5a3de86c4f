import { z } from '@hono/zod-openapi';
import { requireFlow } from '../db/flows';
import { variables } from '../db/schema';
import { tenantScope } from '../db/scope';
import { slotOf } from '../db/slots';
import { deleteVariable, listVariables, MAX_VARIABLES_PER_FLOW, putVariable } from '../db/variables';
import { notFound, validationFailed } from '../http/errors';
import { newRouter } from '../http/router';
import { securedRoute } from '../http/secured-route';
import { flowChanged } from '../runs/executors';
import { FlowIdParam, FlowNameParams, jsonBody, jsonContent } from '../http/schemas';

const VariableInputSchema = z.object({ value: z.string().max(64 * 1024) }).openapi('VariableInput');
const VariableSchema = z.object({ name: z.string(), value: z.string(), updatedAt: z.string() }).openapi('Variable');

const tags = ['Variables'];

const put = securedRoute({
  method: 'put',
  path: '/flows/{flowId}/variables/{name}',
  tags,
  summary: 'Create or replace a flow variable',
  scope: 'flows:write',
  body: 'json',
  request: { params: FlowNameParams, ...jsonBody(VariableInputSchema) },
  responses: {
    201: jsonContent(VariableSchema, 'Created'),
    200: jsonContent(VariableSchema, 'Replaced'),
  },
});

const list = securedRoute({
  method: 'get',
  path: '/flows/{flowId}/variables',
  tags,
  summary: "A flow's variables",
  scope: 'flows:read',
  request: { params: FlowIdParam },
  responses: { 200: jsonContent(z.object({ items: z.array(VariableSchema) }), 'The variables') },
});

const remove = securedRoute({
  method: 'delete',
  path: '/flows/{flowId}/variables/{name}',
  tags,
  summary: 'Delete a flow variable',
  scope: 'flows:write',
  request: { params: FlowNameParams },
  responses: { 204: { description: 'Deleted' } },
});

export const variableRoutes = newRouter()
  .openapi(put, async (c) => {
    const { flowId, name } = c.req.valid('param');
    const scope = tenantScope(c.env, c.var.caller);
    await requireFlow(scope, flowId);
    const slot = await slotOf(scope, variables, flowId, name);
    if (!slot.exists && slot.count >= MAX_VARIABLES_PER_FLOW) {
      throw validationFailed([{ path: 'name', message: `a flow has at most ${MAX_VARIABLES_PER_FLOW} variables` }]);
    }
    const variable = await putVariable(scope, flowId, name, c.req.valid('json').value, slot.exists);
    await flowChanged(c.env, flowId);
    return slot.exists ? c.json(variable, 200) : c.json(variable, 201);
  })
  .openapi(list, async (c) => {
    const scope = tenantScope(c.env, c.var.caller);
    const { flowId } = c.req.valid('param');
    await requireFlow(scope, flowId);
    return c.json({ items: await listVariables(scope, flowId) }, 200);
  })
  .openapi(remove, async (c) => {
    const scope = tenantScope(c.env, c.var.caller);
    const { flowId, name } = c.req.valid('param');
    await requireFlow(scope, flowId);
    if (!(await deleteVariable(scope, flowId, name))) throw notFound('variable');
    await flowChanged(c.env, flowId);
    return c.body(null, 204);
  });
