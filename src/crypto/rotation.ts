/**
 * Master key rotation: re-wraps flow keys still under MASTER_KEY_PREVIOUS
 * with MASTER_KEY. Secrets are untouched (they are sealed by the flow keys).
 *
 * This is the one operation that spans tenants, so it works on `flow_keys`
 * directly instead of through a TenantScope; it only reads and rewrites
 * wrapped keys, each under its own tenant and flow binding.
 *
 * Safe to run twice or to resume after a failure: each row is updated only
 * if it is still under the previous key, rows are visited in flow id order
 * from a cursor, and a row that fails is counted and skipped, not retried
 * forever.
 */
import { and, asc, count, eq, gt, ne } from 'drizzle-orm';
import type { Db } from '../db/client';
import { nowIso } from '../db/client';
import { flowKeys } from '../db/schema';
import { loadMasterKeys, rewrapFlowKey } from './envelope';

/** Rows per D1 batch; with `maxKeys` it keeps one call well inside D1's per-invocation query limit. */
const BATCH_SIZE = 50;

export interface RewrapResult {
  /** Flow keys moved to the current master key by this call. */
  rewrapped: number;
  /** Still under the previous key (call again when > 0). */
  remaining: number;
  /** Under the previous key but failing authentication: investigate these. */
  failed: number;
  /** Under a master key that is neither current nor previous: unreadable until that key is configured. */
  stranded: number;
}

export async function rewrapFlowKeys(
  env: { MASTER_KEY?: string; MASTER_KEY_PREVIOUS?: string },
  db: Db,
  maxKeys = 2000,
): Promise<RewrapResult> {
  const keys = await loadMasterKeys(env);
  const result: RewrapResult = { rewrapped: 0, remaining: 0, failed: 0, stranded: 0 };
  const previous = keys.previous;
  if (previous) {
    let cursor = '';
    while (result.rewrapped + result.failed < maxKeys) {
      const rows = await db
        .select()
        .from(flowKeys)
        .where(and(eq(flowKeys.kekId, previous.id), gt(flowKeys.flowId, cursor)))
        .orderBy(asc(flowKeys.flowId))
        .limit(Math.min(BATCH_SIZE, maxKeys - result.rewrapped - result.failed));
      if (rows.length === 0) break;
      cursor = rows[rows.length - 1]!.flowId;
      const updates = [];
      for (const row of rows) {
        try {
          const next = await rewrapFlowKey(keys, row, row.tenantId, row.flowId);
          updates.push(
            db
              .update(flowKeys)
              .set({ ...next, updatedAt: nowIso() })
              .where(and(eq(flowKeys.flowId, row.flowId), eq(flowKeys.kekId, previous.id)))
              .returning({ flowId: flowKeys.flowId }),
          );
        } catch (err) {
          console.error('rewrap failed', row.flowId, err instanceof Error ? err.message : err);
          result.failed++;
        }
      }
      if (updates.length > 0) {
        const changed = await db.batch(updates as [(typeof updates)[number], ...(typeof updates)[number][]]);
        result.rewrapped += changed.reduce((n, rows) => n + rows.length, 0);
      }
    }
    result.remaining = await countWhere(db, eq(flowKeys.kekId, previous.id));
  }
  const notCurrent = ne(flowKeys.kekId, keys.current.id);
  result.stranded = await countWhere(db, previous ? and(notCurrent, ne(flowKeys.kekId, previous.id))! : notCurrent);
  result.remaining -= Math.min(result.remaining, result.failed);
  return result;
}

async function countWhere(db: Db, where: ReturnType<typeof eq>): Promise<number> {
  const [row] = await db.select({ n: count() }).from(flowKeys).where(where);
  return row?.n ?? 0;
}
