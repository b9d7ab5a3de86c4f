import { z } from '@hono/zod-openapi';
import { auditInsert } from '../db/audit';
import { requireFlow } from '../db/flows';
import { listRuns, toRun } from '../db/runs';
import { tenantScope } from '../db/scope';
import { newRouter } from '../http/router';
import { securedRoute } from '../http/secured-route';
import { enforceRateLimit, tenantRunLimit } from '../limits/enforce';
import { FlowIdParam, jsonBody, jsonContent, pageOf, pageQuery, RunIdParam } from '../http/schemas';
import { NotFoundError } from '../lib/errors';
import { idPattern } from '../lib/ids';
import { runExecutor, type ExecutorStub } from '../runs/executors';
import { RUN_ID } from '../runs/run-ids';
import { startRun } from '../runs/start';
import { isFinal, RUN_STATUSES, type Run, STEP_STATUSES } from '../runs/types';

const StepSchema = z
  .object({
    blockId: z.string(),
    type: z.string(),
    iteration: z.number().int().optional().openapi({ description: "A step of a for_each chain: the item's 0-based index" }),
    iterationPath: z
      .array(z.number().int())
      .optional()
      .openapi({ description: 'A step of a loop inside a loop: the item indexes, outer loop first' }),
    status: z.enum(STEP_STATUSES),
    attempts: z.number().int(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    output: z.unknown(),
    error: z.string().nullable(),
    reused: z
      .boolean()
      .optional()
      .openapi({ description: 'A re-run from the failed step: carried over from the run it re-runs, not executed again' }),
    waitingUntil: z
      .string()
      .optional()
      .openapi({ description: 'A waiting step: when it is looked at again (a delay ends, a retry starts, a wait times out)' }),
  })
  .openapi('Step');

export const RunSchema = z
  .object({
    id: z.string(),
    flowId: z.string(),
    flowVersion: z.number().int(),
    status: z.enum(RUN_STATUSES),
    trigger: z.object({ type: z.string() }).catchall(z.unknown()),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    error: z.string().nullable(),
    parentRunId: z.string().optional().openapi({ description: 'A run started by another flow (trigger_flow): the run that started it' }),
    rerunOf: z.string().optional().openapi({ description: 'A re-run (POST /v1/runs/:runId/rerun): the run it re-runs' }),
    steps: z.array(StepSchema).optional(),
  })
  .openapi('Run');

const EventSchema = z
  .object({
    type: z.enum(['log', 'step', 'run']),
    seq: z.number().int(),
    ts: z.string(),
    runId: z.string(),
    blockId: z.string().nullable().optional(),
    level: z.enum(['info', 'warn', 'error']).optional(),
    message: z.string().optional(),
    status: z.string().optional(),
    attempt: z.number().int().optional(),
    error: z.string().optional(),
    iteration: z.number().int().optional().openapi({ description: "A step of a for_each chain: the item's 0-based index" }),
  })
  .openapi('RunEvent', { description: 'A log, step or run event; `seq` rises by one per event within a run.' });

const tags = ['Runs'];

const create = securedRoute({
  method: 'post',
  path: '/flows/{flowId}/runs',
  tags,
  summary: 'Start a test run of a flow',
  description: 'With `?wait=<1-30>` the answer waits up to that many seconds: 200 with the finished run, or 202 if it is still going.',
  scope: 'runs:write',
  body: 'optional json',
  request: {
    params: FlowIdParam,
    query: z.object({
      wait: z.coerce
        .number()
        .int()
        .min(1)
        .max(30)
        .optional()
        .openapi({ param: { in: 'query' } }),
    }),
    ...jsonBody(z.object({ input: z.record(z.string(), z.unknown()).optional() }).openapi('RunInput'), false),
  },
  responses: {
    202: jsonContent(RunSchema, 'Started (or still going after `wait`)'),
    200: jsonContent(RunSchema, 'Finished within `wait`'),
  },
});

const statusFilter = z
  .enum(RUN_STATUSES)
  .optional()
  .openapi({ param: { in: 'query' } });
const listDescription = 'A run that has ended shows with its final status within 1 s (the index is written in batches).';

const list = securedRoute({
  method: 'get',
  path: '/flows/{flowId}/runs',
  tags,
  summary: "A flow's runs, newest first (without steps)",
  description: listDescription,
  scope: 'runs:read',
  request: { params: FlowIdParam, query: pageQuery(RUN_ID).extend({ status: statusFilter }) },
  responses: { 200: jsonContent(pageOf(RunSchema), 'A page of runs') },
});

const listAll = securedRoute({
  method: 'get',
  path: '/runs',
  tags,
  summary: "The tenant's runs across flows, newest first (without steps)",
  description: listDescription,
  scope: 'runs:read',
  request: {
    query: pageQuery(RUN_ID).extend({
      status: statusFilter,
      flowId: z
        .string()
        .regex(idPattern('flw'), 'not a flow id')
        .optional()
        .openapi({ param: { in: 'query' } }),
    }),
  },
  responses: { 200: jsonContent(pageOf(RunSchema), 'A page of runs') },
});

const get = securedRoute({
  method: 'get',
  path: '/runs/{runId}',
  tags,
  summary: 'A run with its steps',
  scope: 'runs:read',
  request: { params: RunIdParam },
  responses: { 200: jsonContent(RunSchema, 'The run') },
});

const logs = securedRoute({
  method: 'get',
  path: '/runs/{runId}/logs',
  tags,
  summary: "A run's events in seq order",
  description: '`nextAfter` is the `seq` to pass as `after` next time; it is null when this page is empty and the run has ended.',
  scope: 'runs:read',
  request: {
    params: RunIdParam,
    query: z.object({
      after: z.coerce
        .number()
        .int()
        .min(0)
        .default(0)
        .openapi({ param: { in: 'query' } }),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(100)
        .openapi({ param: { in: 'query' } }),
    }),
  },
  responses: {
    200: jsonContent(z.object({ items: z.array(EventSchema), nextAfter: z.number().int().nullable() }), 'Events'),
  },
});

const cancel = securedRoute({
  method: 'post',
  path: '/runs/{runId}/cancel',
  tags,
  summary: 'Cancel a running or waiting run',
  scope: 'runs:write',
  body: 'optional json',
  request: { params: RunIdParam },
  responses: { 202: jsonContent(RunSchema, 'Cancellation accepted; the run as it is now') },
});

/** The executor holding a run, or NotFoundError for an id that names none. */
function executorOf(env: Parameters<typeof runExecutor>[0], runId: string): ExecutorStub {
  const executor = runExecutor(env, runId);
  if (!executor) throw new NotFoundError('run');
  return executor;
}

const orNotFound = <T>(value: T | null): T => {
  if (value === null) throw new NotFoundError('run');
  return value;
};

export const runRoutes = newRouter()
  .openapi(create, async (c) => {
    const scope = tenantScope(c.env, c.var.caller);
    const flowId = c.req.valid('param').flowId;
    await enforceRateLimit(c.env, `tenant:${scope.tenantId}`, tenantRunLimit(c.env), 'this tenant');
    const wait = c.req.valid('query').wait;
    const trigger = { type: 'manual' as const, payload: c.req.valid('json').input ?? {} };
    // A test run has no dedupe key, so it is never a duplicate.
    const run = (await startRun(c.env, scope, flowId, trigger, { waitMs: (wait ?? 0) * 1000 })) as Run;
    return wait && isFinal(run.status) ? c.json(run, 200) : c.json(run, 202);
  })
  .openapi(list, async (c) => {
    const scope = tenantScope(c.env, c.var.caller);
    const { flowId } = c.req.valid('param');
    await requireFlow(scope, flowId);
    const result = await listRuns(scope, { ...c.req.valid('query'), flowId });
    return c.json({ items: result.items.map(toRun), nextCursor: result.nextCursor }, 200);
  })
  .openapi(listAll, async (c) => {
    const result = await listRuns(tenantScope(c.env, c.var.caller), c.req.valid('query'));
    return c.json({ items: result.items.map(toRun), nextCursor: result.nextCursor }, 200);
  })
  .openapi(get, async (c) => {
    const { runId } = c.req.valid('param');
    return c.json(orNotFound(await executorOf(c.env, runId).getRun(c.var.caller.tenantId, runId)), 200);
  })
  .openapi(logs, async (c) => {
    const { runId } = c.req.valid('param');
    const { after, limit } = c.req.valid('query');
    const page = orNotFound(await executorOf(c.env, runId).events(c.var.caller.tenantId, runId, after, limit));
    const items = page.items;
    const nextAfter = items.length > 0 ? items[items.length - 1]!.seq : page.final ? null : after;
    return c.json({ items, nextAfter }, 200);
  })
  .openapi(cancel, async (c) => {
    const scope = tenantScope(c.env, c.var.caller);
    const { runId } = c.req.valid('param');
    const run = orNotFound(await executorOf(c.env, runId).cancelRun(scope.tenantId, runId));
    await auditInsert(scope, 'run.cancel', `runs/${runId}`);
    return c.json(run, 202);
  });
