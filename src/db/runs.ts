import { and, desc, eq, lt } from 'drizzle-orm';
import type { TriggerType } from '../flows/definition';
import { notFound } from '../http/errors';
import { idPattern } from '../lib/ids';
import type { Run, RunStatus } from '../runs/types';
import { auditInsert } from './audit';
import { page, type Page, type PageQuery } from './pagination';
import { runs, triggerDedupe } from './schema';
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

/**
 * Writes a new run's index row with its audit entry, and its dedupe record
 * when it has one, in one batch. Returns false when the dedupe key was
 * already used: the batch is atomic, so nothing was written.
 */
export async function insertRun(scope: TenantScope, row: RunRow, dedupeKey?: string): Promise<boolean> {
  try {
    const writes = [scope.db.insert(runs).values(row), auditInsert(scope, 'run.trigger', `runs/${row.id}`)] as const;
    if (dedupeKey) {
      const dedupe = { key: dedupeKey, tenantId: scope.tenantId, runId: row.id, createdAt: row.createdAt };
      await scope.db.batch([scope.db.insert(triggerDedupe).values(dedupe), ...writes]);
    } else {
      await scope.db.batch(writes);
    }
    return true;
  } catch (err) {
    if (dedupeKey && /UNIQUE constraint failed: trigger_dedupe/.test(String(err))) return false;
    throw err;
  }
}

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

/** The run object reports its status changes (start, waiting, end) to the index. */
export async function updateRunIndex(
  scope: TenantScope,
  runId: string,
  fields: Partial<Pick<RunRow, 'status' | 'startedAt' | 'finishedAt' | 'error'>>,
): Promise<void> {
  await scope.db.update(runs).set(fields).where(owned(runs, scope, eq(runs.id, runId)));
}
