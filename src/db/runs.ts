import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from './client';
import type { TriggerType } from '../flows/definition';
import { notFound } from '../http/errors';
import { idPattern } from '../lib/ids';
import type { Run, RunStatus } from '../runs/types';
import { auditInsertIfChanged } from './audit';
import { page, type Page, type PageQuery } from './pagination';
import { flows, runs, triggerDedupe } from './schema';
import { owned, type TenantScope } from './scope';

export type RunRow = typeof runs.$inferSelect;

export function toRun(row: RunRow): Run {
  return {
    id: row.id,
    flowId: row.flowId,
    flowVersion: row.flowVersion,
    status: row.status as RunStatus,
    trigger: { ...(row.trigger as Record<string, unknown>), type: row.triggerType as TriggerType },
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    error: row.error,
  };
}

export interface NewRun {
  id: string;
  flowId: string;
  triggerType: TriggerType;
  payload: Record<string, unknown>;
  createdAt: string;
}

/**
 * The statements that create a run's index row from the flow's current row
 * (so the version it pins is the one read in the same batch), its audit
 * entry, and its dedupe record when it has one, for the caller's D1 batch.
 * No flow in the tenant: nothing is inserted. The batch is atomic: when the
 * dedupe key was already used it fails as a whole (`isDedupeConflict`).
 */
export function runInsertStatements(scope: TenantScope, run: NewRun, dedupeKey?: string) {
  const fromFlow = sql`SELECT ${run.id}, ${scope.tenantId}, ${flows.id}, ${flows.version}, 'queued', ${run.triggerType},
    ${indexedPayload(run.payload)}, NULL, ${run.createdAt}, NULL, NULL
    FROM ${flows} WHERE ${owned(flows, scope, eq(flows.id, run.flowId))}`;
  return [
    ...(dedupeKey
      ? [scope.db.insert(triggerDedupe).values({ key: dedupeKey, tenantId: scope.tenantId, runId: run.id, createdAt: run.createdAt })]
      : []),
    scope.db.insert(runs).select(fromFlow),
    auditInsertIfChanged(scope, 'run.trigger', `runs/${run.id}`),
  ];
}

/** Trigger payloads larger than this are kept whole only in the run object, not in the shared index. */
export const MAX_INDEXED_PAYLOAD_BYTES = 16 * 1024;

/** The payload as the index stores it: itself, or a marker when it is too large for a shared table. */
function indexedPayload(payload: Record<string, unknown>): string {
  const json = JSON.stringify(payload);
  const bytes = new TextEncoder().encode(json).length;
  return bytes <= MAX_INDEXED_PAYLOAD_BYTES ? json : JSON.stringify({ truncated: true, bytes });
}

export const isDedupeConflict = (err: unknown): boolean => /UNIQUE constraint failed: trigger_dedupe/.test(String(err));

const RUN_ID = idPattern('run');

/** The run's index row in the caller's tenant, or a 404 ApiError. */
export async function requireRun(scope: TenantScope, runId: string): Promise<RunRow> {
  const row = RUN_ID.test(runId) ? await getRunRow(scope, runId) : undefined;
  if (!row) throw notFound('run');
  return row;
}

export async function getRunRow(scope: TenantScope, runId: string): Promise<RunRow | undefined> {
  return scope.db.select().from(runs).where(owned(runs, scope, eq(runs.id, runId))).get();
}

export async function listRuns(
  scope: TenantScope,
  flowId: string,
  query: PageQuery & { status?: RunStatus | undefined },
): Promise<Page<RunRow>> {
  const rows = await scope.db
    .select()
    .from(runs)
    .where(
      owned(
        runs,
        scope,
        and(
          eq(runs.flowId, flowId),
          query.status ? eq(runs.status, query.status) : undefined,
          query.cursor ? lt(runs.id, query.cursor) : undefined,
        ),
      ),
    )
    .orderBy(desc(runs.id))
    .limit(query.limit + 1);
  return page(rows, query.limit, (row) => row.id);
}

export type RunIndexFields = Partial<Pick<RunRow, 'status' | 'startedAt' | 'finishedAt' | 'error'>>;

/** The statement that reports a run's status change (start, waiting, end) to the index. */
export function runIndexUpdate(scope: TenantScope, runId: string, fields: RunIndexFields) {
  return scope.db.update(runs).set(fields).where(owned(runs, scope, eq(runs.id, runId)));
}

/** Index rows of runs that finished before `before` (their run objects have forgotten them too). */
export function expiredRunsDelete(db: Db, before: string) {
  return db.delete(runs).where(and(lt(runs.finishedAt, before), inArray(runs.status, ['succeeded', 'failed', 'cancelled'])));
}

export async function updateRunIndex(scope: TenantScope, runId: string, fields: RunIndexFields): Promise<void> {
  await runIndexUpdate(scope, runId, fields);
}
