/**
 * Re-running runs (contract 1.2, "Re-running and replaying runs"): one run,
 * from its start or from its failed step, on its pinned version or the
 * flow's current one (see src/runs/executor/rerun.ts).
 */
import { z } from '@hono/zod-openapi';
import { tenantScope } from '../db/scope';
import { newRouter } from '../http/router';
import { jsonBody, jsonContent, RunIdParam } from '../http/schemas';
import { securedRoute } from '../http/secured-route';
import { enforceRateLimit, tenantRunLimit } from '../limits/enforce';
import { rerunRun } from '../runs/start';
import { RunSchema } from './runs';

/** How a run is re-run: the body of a rerun, and the `from` and `version` of a replay. */
export const RerunHow = z.object({
  from: z
    .enum(['start', 'failed'])
    .default('start')
    .openapi({ description: 'failed: carry over every succeeded step and start at the failed one' }),
  version: z
    .enum(['pinned', 'current'])
    .default('pinned')
    .openapi({ description: "pinned: the version the run ran; current: the flow's current one" }),
});

const rerun = securedRoute({
  method: 'post',
  path: '/runs/{runId}/rerun',
  tags: ['Runs'],
  summary: 'Re-run a run: a new run of its trigger input, from the start or from its failed step',
  description:
    'From the failed step (409 unless the run ended failed or cancelled), every step that succeeded is carried over (`reused: true`, never executed again) and execution starts at the failed step, in a loop at the failed item. With `version: "current"` the current definition runs (409 when the failed block is not in it). Counted by the tenant rate limit like any run start.',
  scope: 'runs:write',
  body: 'optional json',
  request: { params: RunIdParam, ...jsonBody(RerunHow.strict().openapi('RerunInput'), false) },
  responses: {
    202: jsonContent(RunSchema, 'The new run, with `rerunOf`'),
    409: { description: 'The run cannot be re-run that way (`conflict`)' },
  },
});

export const rerunRoutes = newRouter().openapi(rerun, async (c) => {
  const scope = tenantScope(c.env, c.var.caller);
  await enforceRateLimit(c.env, `tenant:${scope.tenantId}`, tenantRunLimit(c.env), 'this tenant');
  const run = await rerunRun(c.env, scope, c.req.valid('param').runId, c.req.valid('json'));
  return c.json(run, 202);
});
