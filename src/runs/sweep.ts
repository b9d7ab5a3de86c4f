/**
 * A once-a-minute safety net behind the executors' own alarms, and the
 * housekeeping of shared tables: a run the index has shown `running` for a
 * while gets a nudge (its executor picks it up if nothing is driving it),
 * expired live tickets go, and index rows past retention go.
 */
import { database } from '../db/client';
import { expiredRunsDelete, longRunning } from '../db/runs';
import type { Env } from '../env';
import { purgeExpiredTickets } from '../live/tickets';
import { runExecutor } from './executors';
import { retentionMs } from './retention';

const RUNNING_GRACE_MS = 120_000;
const BATCH = 100;

export async function sweep(env: Env, now = Date.now()): Promise<{ nudged: number }> {
  const db = database(env.DB);
  const before = (ms: number) => new Date(now - ms).toISOString();
  const running = await longRunning(db, before(RUNNING_GRACE_MS), BATCH);
  const nudges = await Promise.allSettled(running.map((row) => runExecutor(env, row.id)?.resume(row.tenantId, row.id)));
  await Promise.all([purgeExpiredTickets(db), expiredRunsDelete(db, before(retentionMs(env)))]);
  return { nudged: nudges.filter((n) => n.status === 'fulfilled').length };
}
