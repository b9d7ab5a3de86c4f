import { and, desc, eq, inArray, lt } from 'drizzle-orm';
import type { TriggerType } from '../flows/definition';
import type { Env } from '../env';
import type { Run, RunStatus } from '../runs/types';
import type { Db } from './client';
import { page, type Page, type PageQuery } from './pagination';
import { runs } from './schema';
import { owned, type TenantScope } from './scope';

export type RunRow = typeof runs.$inferSelect;

export function toRun(row: RunRow): Run {
  return {
    id: row.id,
    flowId: row.flowId,
    flowVersion: row.flowVersion,
    status: row.status,
    trigger: { ...row.trigger, type: row.triggerType },
    ...(row.triggerType === 'flow' ? { parentRunId: String(row.trigger.parentRunId) } : {}),
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    error: row.error,
  };
}

/** Trigger payloads larger than this are kept whole only in the executor, not in the shared index. */
export const MAX_INDEXED_PAYLOAD_BYTES = 16 * 1024;

/** The payload as the index stores it (JSON): itself, or a marker when it is too large for a shared table. */
function indexedPayload(payload: Record<string, unknown>): string {
  const json = JSON.stringify(payload);
  const bytes = new TextEncoder().encode(json).length;
  return bytes <= MAX_INDEXED_PAYLOAD_BYTES ? json : JSON.stringify({ truncated: true, bytes });
}

/** Statements per D1 batch (100 runs of up to three: well under the 1,000 queries a Worker invocation may make). */
const MAX_STATEMENTS = 300;

/*
 * The index writer runs for every run, so it binds two prepared statements
 * instead of building drizzle queries (whose building cost more CPU than the
 * write). They write the `runs` and `audit_events` tables of schema.ts.
 */
const UPSERT_RUN = `INSERT INTO runs (id, tenant_id, flow_id, flow_version, status, trigger_type, "trigger", error, created_at, started_at, finished_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET status = excluded.status, error = excluded.error, started_at = excluded.started_at, finished_at = excluded.finished_at`;
const INSERT_TRIGGER_AUDIT = `INSERT INTO audit_events (id, tenant_id, ts, actor, action, target) VALUES (?, ?, ?, ?, 'run.trigger', ?)
  ON CONFLICT (id) DO NOTHING`;

/** A run as the index shows it, and its trigger's audit entry id the first time it is written. */
export interface RunIndexEntry {
  runId: string;
  tenantId: string;
  flowId: string;
  flowVersion: number;
  triggerType: TriggerType;
  payload: Record<string, unknown>;
  createdAt: string;
  actor: string;
  status: RunStatus;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  auditId: string | null;
}

/**
 * Writes runs' current states into the D1 run index, and the audit entry of
 * each run's trigger the first time, in one batch (one round trip, one
 * transaction) per 100 runs. `alongside` adds statements that must commit
 * together with a run's index row (they go in the same batch). Idempotent:
 * an index row is upserted, an audit entry is inserted under the id the
 * executor chose, once. Returns how many D1 batches (round trips) it took.
 */
export async function writeRunIndex<E extends RunIndexEntry>(
  env: Pick<Env, 'DB'>,
  entries: readonly E[],
  alongside?: (entry: E) => D1PreparedStatement[],
): Promise<number> {
  const upsert = env.DB.prepare(UPSERT_RUN);
  const audit = env.DB.prepare(INSERT_TRIGGER_AUDIT);
  const groups = entries.map((run) => {
    const row = upsert.bind(
      run.runId,
      run.tenantId,
      run.flowId,
      run.flowVersion,
      run.status,
      run.triggerType,
      indexedPayload(run.payload),
      run.error,
      run.createdAt,
      run.startedAt,
      run.finishedAt,
    );
    const group = run.auditId ? [row, audit.bind(run.auditId, run.tenantId, run.createdAt, run.actor, `runs/${run.runId}`)] : [row];
    return alongside ? [...group, ...alongside(run)] : group;
  });
  // A run's statements never straddle two batches.
  let batches = 0;
  let batch: D1PreparedStatement[] = [];
  for (const group of groups) {
    if (batch.length > 0 && batch.length + group.length > MAX_STATEMENTS) {
      await env.DB.batch(batch);
      batches++;
      batch = [];
    }
    batch.push(...group);
  }
  if (batch.length > 0) {
    await env.DB.batch(batch);
    batches++;
  }
  return batches;
}

/** The tenant's runs, newest first: of one flow, or of all; by status. */
export async function listRuns(
  scope: TenantScope,
  query: PageQuery & { flowId?: string | undefined; status?: RunStatus | undefined },
): Promise<Page<RunRow>> {
  const rows = await scope.db
    .select()
    .from(runs)
    .where(
      owned(
        runs,
        scope,
        and(
          query.flowId ? eq(runs.flowId, query.flowId) : undefined,
          query.status ? eq(runs.status, query.status) : undefined,
          query.cursor ? lt(runs.id, query.cursor) : undefined,
        ),
      ),
    )
    .orderBy(desc(runs.id))
    .limit(query.limit + 1);
  return page(rows, query.limit, (row) => row.id);
}

/** Runs the index has shown `running` since before `startedBefore` (the sweep nudges their executors). */
export function longRunning(db: Db, startedBefore: string, limit: number) {
  return db
    .select({ id: runs.id, tenantId: runs.tenantId })
    .from(runs)
    .where(and(eq(runs.status, 'running'), lt(runs.startedAt, startedBefore)))
    .limit(limit);
}

/** Index rows of runs that finished before `before` (their executors have forgotten them too). */
export function expiredRunsDelete(db: Db, before: string) {
  return db.delete(runs).where(and(lt(runs.finishedAt, before), inArray(runs.status, ['succeeded', 'failed', 'cancelled'])));
}
