/**
 * The cron trigger (`* * * * *`): every minute, start the runs of enabled
 * `schedule` flows that are due, exactly once per (flow, due minute) even if
 * the handler runs twice, through a dedupe key.
 *
 * Each schedule flow keeps its next due minute in `flows.next_due_at`
 * (computed when the flow is saved, in its time zone): the tick reads only
 * the flows due, through that column's index, and stores each one's next due
 * minute after starting its run. A due minute the tick missed (the platform
 * skipped a minute) still runs, late, within GRACE_MS; older ones are
 * skipped, as cron skips minutes it was not running for.
 */
import { and, asc, eq, gt, lte } from 'drizzle-orm';
import { database, type Db } from '../db/client';
import type { FlowRow } from '../db/flows';
import { flows } from '../db/schema';
import { tenantScope } from '../db/scope';
import type { Env } from '../env';
import type { Trigger } from '../flows/definition';
import { NotFoundError } from '../lib/errors';
import { startRun } from '../runs/start';
import { type CronSchedule, parseCron, UNKNOWN_DUE } from './cron';

const PAGE_SIZE = 500;
const PARALLEL_STARTS = 20;
/** How late a due minute may still start its run. */
export const GRACE_MS = 5 * 60_000;

type ScheduleTrigger = Extract<Trigger, { type: 'schedule' }>;

/** A due flow, with what the tick does about it. */
interface Due {
  flow: FlowRow;
  /** The minute its run is for (its `scheduledTime`), or null when it does not fire now. */
  fireAt: string | null;
  /** Its next due minute after this one (null: never). */
  next: string | null;
}

/** Starts the runs due in the minute of `scheduledTime`; returns how many started. */
export async function startScheduledRuns(env: Env, scheduledTime: number): Promise<number> {
  const minute = new Date(Math.floor(scheduledTime / 60_000) * 60_000);
  const db = database(env.DB);
  let started = 0;
  for await (const page of dueFlows(db, minute)) {
    const plans = page.map((flow) => plan(flow, minute));
    const settled: Due[] = [];
    for (let i = 0; i < plans.length; i += PARALLEL_STARTS) {
      const slice = plans.slice(i, i + PARALLEL_STARTS);
      const results = await Promise.allSettled(slice.map((due) => (due.fireAt ? startOne(env, due.flow, due.fireAt) : false)));
      results.forEach((result, j) => {
        if (result.status === 'fulfilled') {
          started += result.value ? 1 : 0;
          settled.push(slice[j]!);
        } else {
          // Left due: the next minute's tick tries again (within the grace), and the dedupe key keeps it to one run.
          console.error('scheduled run failed to start', result.reason);
        }
      });
    }
    await storeNext(db, settled);
  }
  return started;
}

/** Whether a due flow fires this minute, and when it is due next. */
function plan(flow: FlowRow, minute: Date): Due {
  let schedule: CronSchedule;
  try {
    const trigger = flow.trigger as ScheduleTrigger;
    schedule = parseCron(trigger.cron, trigger.timezone);
  } catch {
    return { flow, fireAt: null, next: null }; // validated on save; a row that no longer parses never fires
  }
  const due = flow.nextDueAt ?? UNKNOWN_DUE;
  let fireAt: string | null;
  if (due === UNKNOWN_DUE) fireAt = schedule.matches(minute) ? minute.toISOString() : null;
  else fireAt = minute.getTime() - Date.parse(due) <= GRACE_MS ? due : null;
  let next: string | null;
  try {
    next = schedule.next(minute).toISOString();
  } catch {
    next = null;
  }
  return { flow, fireAt, next };
}

/** Starts one flow's run for its due minute; false when it had started already, or the flow is gone. */
async function startOne(env: Env, flow: FlowRow, fireAt: string): Promise<boolean> {
  const trigger = flow.trigger as ScheduleTrigger;
  const payload: Record<string, unknown> = { cron: trigger.cron, scheduledTime: fireAt };
  if (trigger.timezone) payload.timezone = trigger.timezone;
  try {
    const run = await startRun(env, tenantScope(env, { tenantId: flow.tenantId, sub: 'schedule' }), flow.id, {
      type: 'schedule',
      payload,
      dedupeKey: `cron:${flow.id}:${fireAt}`,
    });
    return !('duplicateOf' in run);
  } catch (err) {
    if (err instanceof NotFoundError) return false; // deleted since it was read
    throw err;
  }
}

/** Moves each flow on to its next due minute, unless it was saved meanwhile (which stored its own). */
async function storeNext(db: Db, settled: Due[]): Promise<void> {
  const updates = settled.map((due) =>
    db
      .update(flows)
      .set({ nextDueAt: due.next })
      .where(and(eq(flows.id, due.flow.id), eq(flows.nextDueAt, due.flow.nextDueAt ?? UNKNOWN_DUE))),
  );
  const [first, ...rest] = updates;
  if (first) await db.batch([first, ...rest]);
}

/** The enabled schedule flows due at or before `minute`, of every tenant, a page at a time. */
async function* dueFlows(db: Db, minute: Date): AsyncGenerator<FlowRow[]> {
  let cursor = '';
  for (;;) {
    const page = await db
      .select()
      .from(flows)
      .where(
        and(lte(flows.nextDueAt, minute.toISOString()), eq(flows.triggerType, 'schedule'), eq(flows.enabled, true), gt(flows.id, cursor)),
      )
      .orderBy(asc(flows.id))
      .limit(PAGE_SIZE);
    if (page.length > 0) yield page;
    if (page.length < PAGE_SIZE) return;
    cursor = page[page.length - 1]!.id;
  }
}
