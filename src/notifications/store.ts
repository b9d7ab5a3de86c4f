/**
 * The `notification_deliveries` table: one row per announced run, written
 * by the run index flush (`outbox.ts`), claimed and updated by the queue
 * consumer (`deliver.ts`), swept by the cron (`rescue.ts`), listed by the API.
 *
 * `next_attempt_at` orders the attempts: a pending delivery is attempted by
 * whoever first claims it at or after that time, and the claim moves it on
 * by the claim's lease, so two messages for one delivery never attempt it
 * at once, and a consumer that dies mid-attempt only delays it.
 */
import { and, desc, eq, inArray, lt, lte } from 'drizzle-orm';
import type { Db } from '../db/client';
import { page, type Page, type PageQuery } from '../db/pagination';
import { notificationDeliveries } from '../db/schema';
import { owned, type TenantScope } from '../db/scope';

export type DeliveryRow = typeof notificationDeliveries.$inferSelect;
export type DeliveryStatus = DeliveryRow['status'];

/** A delivery as the API lists it. */
export interface Delivery {
  id: string;
  runId: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
}

export const toDelivery = (row: DeliveryRow): Delivery => ({
  id: row.id,
  runId: row.runId,
  status: row.status,
  attempts: row.attempts,
  lastStatusCode: row.lastStatusCode,
  lastError: row.lastError,
  createdAt: row.createdAt,
});

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Claims a run's pending delivery if it is due by `dueBy`: it is not due
 * again (for anyone else) until `leaseUntil`. Null when it is not pending,
 * not due, or claimed by someone else.
 */
export async function claimDelivery(db: Db, runId: string, dueBy: number, leaseUntil: number): Promise<DeliveryRow | null> {
  const rows = await db
    .update(notificationDeliveries)
    .set({ nextAttemptAt: iso(leaseUntil), updatedAt: new Date().toISOString() })
    .where(
      and(
        eq(notificationDeliveries.runId, runId),
        eq(notificationDeliveries.status, 'pending'),
        lte(notificationDeliveries.nextAttemptAt, iso(dueBy)),
      ),
    )
    .returning();
  return rows[0] ?? null;
}

export interface AttemptRecord {
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** When the next attempt is due (pending), or when this one ended. */
  nextAttemptAt: number;
}

/** Records an attempt made under a claim; false when the claim had lapsed and someone else holds the delivery. */
export async function recordAttempt(db: Db, claimed: DeliveryRow, record: AttemptRecord): Promise<boolean> {
  const rows = await db
    .update(notificationDeliveries)
    .set({
      status: record.status,
      attempts: record.attempts,
      lastStatusCode: record.lastStatusCode,
      lastError: record.lastError,
      nextAttemptAt: iso(record.nextAttemptAt),
      updatedAt: new Date().toISOString(),
    })
    .where(
      and(
        eq(notificationDeliveries.id, claimed.id),
        eq(notificationDeliveries.status, 'pending'),
        eq(notificationDeliveries.nextAttemptAt, claimed.nextAttemptAt),
      ),
    )
    .returning({ id: notificationDeliveries.id });
  return rows.length > 0;
}

/** A flow's deliveries, newest first. */
export async function listDeliveries(scope: TenantScope, flowId: string, query: PageQuery): Promise<Page<DeliveryRow>> {
  const rows = await scope.db
    .select()
    .from(notificationDeliveries)
    .where(
      owned(
        notificationDeliveries,
        scope,
        eq(notificationDeliveries.flowId, flowId),
        query.cursor ? lt(notificationDeliveries.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(notificationDeliveries.id))
    .limit(query.limit + 1);
  return page(rows, query.limit, (row) => row.id);
}

/** Run ids of pending deliveries whose next attempt was due before `before` (across tenants: the cron's). */
export async function overdueDeliveries(db: Db, before: number, limit: number): Promise<string[]> {
  const rows = await db
    .select({ runId: notificationDeliveries.runId })
    .from(notificationDeliveries)
    .where(and(eq(notificationDeliveries.status, 'pending'), lt(notificationDeliveries.nextAttemptAt, iso(before))))
    .orderBy(notificationDeliveries.nextAttemptAt)
    .limit(limit);
  return rows.map((row) => row.runId);
}

/** Deletes finished deliveries last touched before `before` (their runs' retention). */
export function expiredDeliveriesDelete(db: Db, before: number) {
  return db
    .delete(notificationDeliveries)
    .where(and(inArray(notificationDeliveries.status, ['delivered', 'failed']), lt(notificationDeliveries.updatedAt, iso(before))));
}
