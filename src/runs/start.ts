import type { TenantScope } from '../db/scope';
import type { Env } from '../env';
import { ConflictError, NotFoundError, UnauthorizedError } from '../lib/errors';
import type { StartRequest } from './executor';
import { executorStub, isFlowId, pickShard } from './executors';
import { executorOfRun, newRunId } from './run-ids';
import type { Run, TriggerInput } from './types';

/**
 * The single entry every trigger uses: hands the trigger to one of the
 * flow's executors, which pins the flow's current version from its warm
 * cache, records the run and starts it (no D1 round trip when the flow is
 * warm). The run id names that executor.
 *
 * Returns `{ duplicateOf }` when its dedupe key (or a signed webhook's
 * message id) already started a run; throws NotFoundError when the tenant
 * has no such flow (or, with `hookId`, when that is no longer the enabled
 * webhook of the flow), UnauthorizedError when a signed webhook's signature
 * does not hold. With `waitMs`, the run is returned once it has ended or
 * that time has passed.
 */
export async function startRun(
  env: Env,
  scope: TenantScope,
  flowId: string,
  trigger: TriggerInput,
  options: { waitMs?: number; hookId?: string; signed?: StartRequest['signed']; requireEnabled?: boolean } = {},
): Promise<Run | { duplicateOf: string }> {
  if (!isFlowId(flowId)) throw new NotFoundError('flow');
  const shard = pickShard(env, trigger.dedupeKey ?? options.signed?.replayKey);
  const result = await executorStub(env, flowId, shard).start({
    runId: newRunId(flowId, shard),
    tenantId: scope.tenantId,
    actor: scope.actor,
    trigger,
    waitMs: options.waitMs ?? 0,
    ...(options.hookId !== undefined ? { hookId: options.hookId } : {}),
    ...(options.signed !== undefined ? { signed: options.signed } : {}),
    ...(options.requireEnabled ? { requireEnabled: true } : {}),
  });
  if (result.outcome === 'flow_not_found') throw new NotFoundError('flow');
  if (result.outcome === 'unauthorized') throw new UnauthorizedError('the webhook signature does not verify');
  if (result.outcome === 'conflict') throw new ConflictError(result.message);
  return result.outcome === 'started' ? result.run : { duplicateOf: result.runId };
}

/**
 * Re-runs a run of the tenant as a new run of its flow (see
 * executor/rerun.ts): NotFoundError when the tenant has no such run or flow,
 * ConflictError when the run cannot be re-run that way.
 */
export async function rerunRun(
  env: Env,
  scope: TenantScope,
  runId: string,
  how: { from: 'start' | 'failed'; version: 'pinned' | 'current' },
  options: { waitMs?: number } = {},
): Promise<Run> {
  const named = executorOfRun(runId);
  if (!named) throw new NotFoundError('run');
  const shard = pickShard(env);
  const result = await executorStub(env, named.flowId, shard).start({
    runId: newRunId(named.flowId, shard),
    tenantId: scope.tenantId,
    actor: scope.actor,
    rerun: { runId, ...how },
    waitMs: options.waitMs ?? 0,
  });
  if (result.outcome === 'conflict') throw new ConflictError(result.message);
  if (result.outcome !== 'started') throw new NotFoundError('run');
  return result.run;
}
