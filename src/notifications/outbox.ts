/**
 * Where flow notifications are born: in the executor's durable flush of the
 * run index. A run whose final index row is written, and whose pinned
 * version's `notify.on` lists its final status, gets its delivery row in the
 * SAME D1 batch (so a notification exists exactly when the index shows the
 * run ended), and then a message on the notifications queue. Flushes are
 * retried until written and a run may be flushed twice: the row is inserted
 * once per run (`run_id` is unique), and a second message for it is harmless
 * (the consumer claims a delivery before each attempt). A message that is
 * never sent or is lost is made up for by the minute cron (`rescue.ts`).
 */
import { writeRunIndex, type RunIndexEntry } from '../db/runs';
import type { Env } from '../env';
import type { FlowNotify } from '../flows/definition';
import { newId } from '../lib/ids';

/** A run index entry and the `notify` of the version the run ran. */
export interface NotifiableEntry extends RunIndexEntry {
  notify?: FlowNotify | null | undefined;
}

/** The queue message: which delivery to attempt (the row has everything else). */
export interface NotificationMessage {
  runId: string;
}

/** Messages per `sendBatch` (the Queues limit). */
const SEND_BATCH = 100;

const INSERT_DELIVERY = `INSERT INTO notification_deliveries
  (id, tenant_id, flow_id, run_id, status, attempts, last_status_code, last_error, created_at, updated_at, url, signing_secret, body, next_attempt_at)
  VALUES (?, ?, ?, ?, 'pending', 0, NULL, NULL, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (run_id) DO NOTHING`;

/** Whether a run's end is to be announced: it has ended, with a status its version's `notify.on` lists. */
export function wantsNotification(entry: NotifiableEntry): entry is NotifiableEntry & { notify: FlowNotify } {
  return !!entry.notify && (entry.notify.on as readonly string[]).includes(entry.status);
}

/** The body every attempt of a run's notification sends (contract: "Flow notifications"). */
export function notificationBody(entry: RunIndexEntry): string {
  return JSON.stringify({
    type: 'run.finished',
    runId: entry.runId,
    flowId: entry.flowId,
    status: entry.status,
    error: entry.error,
    startedAt: entry.startedAt,
    finishedAt: entry.finishedAt,
  });
}

/**
 * `writeRunIndex`, plus the delivery rows of the runs it shows ending with a
 * status to announce (same batch), then their queue messages. A message that
 * cannot be sent is left to the cron: the rows are written, which is what counts.
 */
export async function writeRunIndexAndNotify(env: Pick<Env, 'DB' | 'NOTIFICATIONS'>, entries: readonly NotifiableEntry[]): Promise<number> {
  const insert = env.DB.prepare(INSERT_DELIVERY);
  const now = new Date().toISOString();
  const announced: string[] = [];
  const batches = await writeRunIndex(env, entries, (entry) => {
    if (!wantsNotification(entry)) return [];
    announced.push(entry.runId);
    const { notify } = entry;
    return [
      insert.bind(
        newId('ntf'),
        entry.tenantId,
        entry.flowId,
        entry.runId,
        now,
        now,
        notify.url,
        notify.signingSecret ?? null,
        notificationBody(entry),
        now,
      ),
    ];
  });
  await sendNotificationMessages(env, announced);
  return batches;
}

/** Queues an attempt for each run's delivery; failures are logged, not thrown (the cron sends again). */
export async function sendNotificationMessages(env: Pick<Env, 'NOTIFICATIONS'>, runIds: readonly string[]): Promise<number> {
  let sent = 0;
  for (let i = 0; i < runIds.length; i += SEND_BATCH) {
    const chunk = runIds.slice(i, i + SEND_BATCH);
    try {
      await env.NOTIFICATIONS.sendBatch(chunk.map((runId) => ({ body: { runId } satisfies NotificationMessage })));
      sent += chunk.length;
    } catch (err) {
      console.error('notification messages not sent; the cron will send them', err instanceof Error ? err.message : err);
    }
  }
  return sent;
}
