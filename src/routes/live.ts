import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { database } from '../db/client';
import { requireFlow } from '../db/flows';
import { tenantScope, type TenantScope } from '../db/scope';
import type { Env } from '../env';
import { bearerToken, verifyToken } from '../http/auth';
import { ApiError } from '../http/errors';
import { newRouter, type AppEnv } from '../http/router';
import { securedRoute } from '../http/secured-route';
import { FlowIdParam, jsonBody, jsonContent, RunIdParam, standardErrors } from '../http/schemas';
import { issueTicket, redeemTicket, type LiveTarget } from '../live/tickets';
import { NotFoundError } from '../lib/errors';
import { TENANT_HEADER } from '../runs/executor';
import { executorStub, runExecutor, type ExecutorStub } from '../runs/executors';

const TicketInputSchema = z
  .union([z.object({ flowId: z.string().max(64) }).strict(), z.object({ runId: z.string().max(64) }).strict()])
  .openapi('LiveTicketInput');

const create = securedRoute({
  method: 'post',
  path: '/live-tickets',
  tags: ['Live'],
  summary: 'A single-use ticket (60 s) for one live WebSocket',
  scope: 'runs:read',
  body: 'json',
  request: jsonBody(TicketInputSchema),
  responses: {
    201: jsonContent(z.object({ ticket: z.string(), expiresAt: z.string() }).openapi('LiveTicket'), 'The ticket'),
  },
});

const liveQuery = (withAfter: boolean) =>
  z.object({
    ticket: z
      .string()
      .optional()
      .openapi({ param: { in: 'query' }, description: 'From POST /v1/live-tickets; or send Authorization: Bearer' }),
    ...(withAfter
      ? {
          after: z.coerce
            .number()
            .int()
            .min(0)
            .optional()
            .openapi({ param: { in: 'query' } }),
        }
      : {}),
  });

const upgraded = { 101: { description: 'Switching to a WebSocket of JSON text frames, one event each' } };

const runLive = createRoute({
  method: 'get',
  path: '/runs/{runId}/live',
  tags: ['Live'],
  summary: "A run's events after `after`, then live; closes with 1000 after the final event",
  request: { params: RunIdParam, query: liveQuery(true) },
  responses: { ...upgraded, ...standardErrors, 426: { description: 'Not a WebSocket request' } },
});

const flowLive = createRoute({
  method: 'get',
  path: '/flows/{flowId}/live',
  tags: ['Live'],
  summary: 'Every event of every run of the flow, from now on',
  request: { params: FlowIdParam, query: liveQuery(false) },
  responses: { ...upgraded, ...standardErrors, 426: { description: 'Not a WebSocket request' } },
});

/**
 * Authorises a live WebSocket before anything is upgraded: a ticket bound to
 * this target, or a bearer token with runs:read. Then the target must exist
 * in the caller's tenant (404 otherwise, as everywhere).
 */
async function authorise(c: Context<AppEnv>, target: LiveTarget): Promise<TenantScope> {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new ApiError('upgrade_required', 'connect with a WebSocket (Upgrade: websocket)');
  }
  const ticket = c.req.query('ticket');
  let scope: TenantScope;
  if (ticket !== undefined) {
    const holder = await redeemTicket(database(c.env.DB), ticket, target);
    if (!holder) throw new ApiError('unauthorized', 'ticket is unknown, used, expired or for another target');
    scope = tenantScope(c.env, { tenantId: holder.tenantId, sub: holder.sub });
  } else {
    const token = bearerToken(c.req.header('authorization'));
    if (!token) throw new ApiError('unauthorized', 'send a ticket or a bearer token');
    const caller = await verifyToken(token, c.env);
    if (!caller.scopes.has('runs:read')) throw new ApiError('forbidden', 'token lacks the runs:read scope');
    scope = tenantScope(c.env, caller);
  }
  await requireTarget(c.env, scope, target);
  return scope;
}

/** The run (asked of its executor) or the flow (in D1) must exist in the tenant. */
async function requireTarget(env: Env, scope: TenantScope, target: LiveTarget): Promise<void> {
  if (target.type === 'flow') {
    await requireFlow(scope, target.id);
    return;
  }
  const executor = runExecutor(env, target.id);
  if (!executor || !(await executor.hasRun(scope.tenantId, target.id))) throw new NotFoundError('run');
}

/** Hands an authorised upgrade to the executor that serves it. */
function upgrade(c: Context<AppEnv>, executor: ExecutorStub, scope: TenantScope, query: Record<string, string>): Promise<Response> {
  const url = new URL(c.req.url);
  url.search = `?${new URLSearchParams(query)}`;
  const headers = new Headers(c.req.raw.headers);
  headers.set(TENANT_HEADER, scope.tenantId);
  return executor.fetch(new Request(url, { headers }));
}

export const liveRoutes = newRouter()
  .openapi(create, async (c) => {
    const scope = tenantScope(c.env, c.var.caller);
    const input = c.req.valid('json');
    const target: LiveTarget = 'runId' in input ? { type: 'run', id: input.runId } : { type: 'flow', id: input.flowId };
    await requireTarget(c.env, scope, target);
    return c.json(await issueTicket(scope, target), 201);
  })
  .openapi(runLive, async (c) => {
    const { runId } = c.req.valid('param');
    const scope = await authorise(c, { type: 'run', id: runId });
    return upgrade(c, runExecutor(c.env, runId)!, scope, { runId, after: String(c.req.valid('query').after ?? 0) });
  })
  .openapi(flowLive, async (c) => {
    const { flowId } = c.req.valid('param');
    const scope = await authorise(c, { type: 'flow', id: flowId });
    return upgrade(c, executorStub(c.env, flowId, 0), scope, { flowId });
  });
