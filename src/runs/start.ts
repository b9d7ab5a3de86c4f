import { insertRun, toRun } from '../db/runs';
import type { FlowRow } from '../db/flows';
import { definitionOf } from '../db/flows';
import type { TenantScope } from '../db/scope';
import { variableValues } from '../db/variables';
import type { Env } from '../env';
import { newId } from '../lib/ids';
import type { Run, RunInit, TriggerInput } from './types';

export const runStub = (env: Pick<Env, 'RUNS'>, runId: string) => env.RUNS.get(env.RUNS.idFromName(runId));

/**
 * The single entry every trigger uses. Pins the flow's current version,
 * writes the run's index row (`queued`, with its audit entry and dedupe key)
 * in one D1 batch, and hands the run to a new run object, which starts it.
 *
 * Returns null when `dedupeKey` was already used (a redelivered event).
 */
export async function startRun(env: Env, scope: TenantScope, flow: FlowRow, trigger: TriggerInput): Promise<Run | null> {
  const init: RunInit = {
    runId: newId('run'),
    tenantId: scope.tenantId,
    flowId: flow.id,
    flowVersion: flow.version,
    definition: definitionOf(flow),
    triggerType: trigger.type,
    payload: trigger.payload,
    createdAt: new Date().toISOString(),
  };
  const row = {
    id: init.runId,
    tenantId: init.tenantId,
    flowId: init.flowId,
    flowVersion: init.flowVersion,
    status: 'queued',
    triggerType: trigger.type,
    trigger: trigger.payload,
    error: null,
    createdAt: init.createdAt,
    startedAt: null,
    finishedAt: null,
  };
  const [inserted, variables] = await Promise.all([insertRun(scope, row, trigger.dedupeKey), variableValues(scope, flow.id)]);
  if (!inserted) return null;
  try {
    return await runStub(env, init.runId).start(init, variables);
  } catch (err) {
    // The index row stays `queued`; the run is not lost, and the caller learns its id.
    console.error('handing the run to its object failed', init.runId, err);
    return toRun(row);
  }
}

