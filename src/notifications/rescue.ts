/**
 * The minute cron's part in notifications: a delivery still `pending` well
 * past its next attempt lost its message (never sent, dropped after the
 * queue's own retries, or its consumer died), so it gets a new one; and
 * finished deliveries go with their runs' retention.
 */
import { database } from '../db/client';
import type { Env } from '../env';
import { retentionMs } from '../runs/retention';
import { sendNotificationMessages } from './outbox';
import { expiredDeliveriesDelete, overdueDeliveries } from './store';

/** How long past due a pending delivery may be before its message counts as lost (queues deliver within seconds). */
export const OVERDUE_MS = 2 * 60_000;
const BATCH = 100;

/** Sends messages for overdue deliveries and forgets expired ones; returns how many it sent. */
export async function rescueNotifications(env: Env, now = Date.now()): Promise<number> {
  const db = database(env.DB);
  // An attempt in flight has moved `next_attempt_at` to the end of its claim, so it is not overdue.
  const overdue = await overdueDeliveries(db, now - OVERDUE_MS, BATCH);
  const [sent] = await Promise.all([sendNotificationMessages(env, overdue), expiredDeliveriesDelete(db, now - retentionMs(env))]);
  return sent;
}
