import { sealedMaterialQueries, toSealedMaterial, type SealedMaterial } from '../crypto/vault';
import { definitionOf, flowQuery } from '../db/flows';
import { isDedupeConflict, runInsertStatements, toRun } from '../db/runs';
import type { TenantScope } from '../db/scope';
import { toVariableValues, variableValuesQuery } from '../db/variables';
import type { Env } from '../env';
import { referencedSecrets } from '../flows/templates';
import { notFound } from '../http/errors';
import { newId } from '../lib/ids';
import type { Run, RunInit, TriggerInput } from './types';

export const runStub = (env: Pick<Env, 'RUNS'>, runId: string) => env.RUNS.get(env.RUNS.idFromName(runId));

/** What a run object gets besides its init: read with the run's own writes, held in memory only. */
export interface RunInputs {
  variables: Record<string, string>;
  /** Still encrypted; the run object opens it through the vault. */
  material: SealedMaterial | null;
}

/**
 * The single entry every trigger uses. In one D1 batch (one round trip, one
 * transaction) it writes the run's index row (`queued`, pinned to the flow's
 * current version, with its audit entry and dedupe key) and reads what the
 * run needs: that flow version, its variables, the sealed secrets it
 * references and the flow's wrapped key. Then it hands the run to a new run
 * object, which starts it.
 *
 * Returns null when `dedupeKey` was already used (a redelivered event);
 * throws 404 when the flow is not in the tenant. With `waitMs`, the run is
 * returned once it has ended or that time has passed.
 */
export async function startRun(
  env: Env,
  scope: TenantScope,
  flowId: string,
  trigger: TriggerInput,
  waitMs = 0,
): Promise<Run | null> {
  const created = { id: newId('run'), flowId, triggerType: trigger.type, payload: trigger.payload, createdAt: new Date().toISOString() };
  const writes = runInsertStatements(scope, created, trigger.dedupeKey);
  const reads = [flowQuery(scope, flowId), variableValuesQuery(scope, flowId), ...sealedMaterialQueries(scope, flowId)] as const;
  let results: unknown[];
  try {
    results = [...(await scope.db.batch([...writes, ...reads] as unknown as Parameters<typeof scope.db.batch>[0]))];
  } catch (err) {
    if (trigger.dedupeKey && isDedupeConflict(err)) return null;
    throw err;
  }
  const [[flow], variableRows, sealed, keys] = results.slice(writes.length) as [
    Awaited<ReturnType<typeof flowQuery>>,
    Awaited<ReturnType<typeof variableValuesQuery>>,
    ...Parameters<typeof toSealedMaterial>[0],
  ];
  if (!flow) throw notFound('flow');

  const init: RunInit = {
    runId: created.id,
    tenantId: scope.tenantId,
    flowId,
    flowVersion: flow.version,
    definition: definitionOf(flow),
    triggerType: trigger.type,
    payload: trigger.payload,
    createdAt: created.createdAt,
  };
  const names = referencedSecrets(init.definition.blocks.map((b) => b.params));
  const inputs: RunInputs = {
    variables: toVariableValues(variableRows),
    material: names.size > 0 ? toSealedMaterial([sealed, keys], names) : null,
  };
  try {
    return await runStub(env, init.runId).start(init, inputs, waitMs);
  } catch (err) {
    // The index row stays `queued`; the scheduled sweep hands the run over again.
    console.error('handing the run to its object failed', init.runId, err);
    return toRun({
      id: init.runId,
      tenantId: init.tenantId,
      flowId,
      flowVersion: flow.version,
      status: 'queued',
      triggerType: trigger.type,
      trigger: trigger.payload,
      error: null,
      createdAt: init.createdAt,
      startedAt: null,
      finishedAt: null,
    });
  }
}
