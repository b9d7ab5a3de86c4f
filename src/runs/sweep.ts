/**
 * A once-a-minute safety net behind the run objects' own alarms: a run whose
 * hand-over to its object failed stays `queued` in the index and is handed
 * over again; a run `running` for a while gets a nudge (its object resumes
 * it if its step loop died). Waiting runs are left to their durable alarms.
 */
import { and, asc, eq, lt } from 'drizzle-orm';
import { database } from '../db/client';
import { getFlowVersion } from '../db/flows';
import { expiredRunsDelete, updateRunIndex } from '../db/runs';
import { runs, triggerDedupe } from '../db/schema';
import { tenantScope } from '../db/scope';
import { variableValues } from '../db/variables';
import type { Env } from '../env';
import type { TriggerType } from '../flows/definition';
import { purgeExpiredTickets } from '../live/tickets';
import { retentionMs } from './retention';
import { runStub } from './start';

const QUEUED_GRACE_MS = 60_000;
const RUNNING_GRACE_MS = 120_000;
const DEDUPE_RETENTION_MS = 7 * 86_400_000;
const BATCH = 100;

export async function sweep(env: Env, now = Date.now()): Promise<{ handedOver: number; nudged: number }> {
  const db = database(env.DB);
  const before = (ms: number) => new Date(now - ms).toISOString();
  const [queued, running] = await Promise.all([
    db.select().from(runs).where(and(eq(runs.status, 'queued'), lt(runs.createdAt, before(QUEUED_GRACE_MS)))).orderBy(asc(runs.createdAt)).limit(BATCH),
    db.select({ id: runs.id }).from(runs).where(and(eq(runs.status, 'running'), lt(runs.startedAt, before(RUNNING_GRACE_MS)))).limit(BATCH),
  ]);

  let handedOver = 0;
  for (const row of queued) {
    // One bad row must not stop the others (nor the housekeeping below): it fails, alone.
    const scope = tenantScope(env, { tenantId: row.tenantId, sub: 'sweep' });
    const fail = (error: string) =>
      updateRunIndex(scope, row.id, { status: 'failed', error, finishedAt: new Date(now).toISOString() });
    try {
      const definition = await getFlowVersion(scope, row.flowId, row.flowVersion);
      if (!definition) {
        await fail('the flow was deleted before the run started');
        continue;
      }
      if ((row.trigger as { truncated?: unknown }).truncated === true) {
        await fail('the run could not be started, and its trigger payload is too large to start it again');
        continue;
      }
      const init = {
        runId: row.id,
        tenantId: row.tenantId,
        flowId: row.flowId,
        flowVersion: row.flowVersion,
        definition,
        triggerType: row.triggerType as TriggerType,
        payload: row.trigger as Record<string, unknown>,
        createdAt: row.createdAt,
      };
      await runStub(env, row.id).start(init, { variables: await variableValues(scope, row.flowId), material: null });
      handedOver++;
    } catch (err) {
      // Its first hand-over failed too: this run cannot start.
      console.error('sweep could not start run', row.id, err instanceof Error ? err.message : err);
      await fail('the run could not be started').catch(() => undefined);
    }
  }
  await Promise.allSettled(running.map((row) => runStub(env, row.id).resume()));

  await Promise.all([
    purgeExpiredTickets(db),
    db.delete(triggerDedupe).where(lt(triggerDedupe.createdAt, before(DEDUPE_RETENTION_MS))),
    expiredRunsDelete(db, before(retentionMs(env))),
  ]);
  return { handedOver, nudged: running.length };
}
