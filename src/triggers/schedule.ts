/**
 * The cron trigger (`* * * * *`): every minute, start the runs of enabled
 * `schedule` flows whose expression matches that minute, exactly once per
 * (flow, minute) even if the handler runs twice, through a dedupe key.
 */
import { and, asc, eq, gt } from 'drizzle-orm';
import { database } from '../db/client';
import type { FlowRow } from '../db/flows';
import { flows } from '../db/schema';
import { tenantScope } from '../db/scope';
import type { Env } from '../env';
import type { Trigger } from '../flows/definition';
import { NotFoundError } from '../lib/errors';
import { startRun } from '../runs/start';
import { parseCron } from './cron';

const PAGE_SIZE = 500;
const PARALLEL_STARTS = 20;

/** Starts the runs due in the minute of `scheduledTime`; returns how many started. */
export async function startScheduledRuns(env: Env, scheduledTime: number): Promise<number> {
  const minute = new Date(Math.floor(scheduledTime / 60_000) * 60_000);
  let started = 0;
  for await (const page of scheduleFlows(env)) {
    const due = page.filter((flow) => isDue(flow, minute));
    for (let i = 0; i < due.length; i += PARALLEL_STARTS) {
      const results = await Promise.allSettled(due.slice(i, i + PARALLEL_STARTS).map((flow) => startOne(env, flow, minute)));
      for (const result of results) {
        if (result.status === 'fulfilled') started += result.value ? 1 : 0;
        else console.error('scheduled run failed to start', result.reason);
      }
    }
  }
  return started;
}

function isDue(flow: FlowRow, minute: Date): boolean {
  const trigger = flow.trigger;
  if (trigger.type !== 'schedule') return false;
  try {
    return parseCron(trigger.cron).matches(minute);
  } catch {
    return false; // validated on save; an old row that no longer parses never fires
  }
}

/** Starts one flow's run of this minute; false when it had started already, or the flow is gone. */
async function startOne(env: Env, flow: FlowRow, minute: Date): Promise<boolean> {
  const cron = (flow.trigger as Extract<Trigger, { type: 'schedule' }>).cron;
  try {
    const run = await startRun(env, tenantScope(env, { tenantId: flow.tenantId, sub: 'schedule' }), flow.id, {
      type: 'schedule',
      payload: { cron, scheduledTime: minute.toISOString() },
      dedupeKey: `cron:${flow.id}:${minute.toISOString()}`,
    });
    return !('duplicateOf' in run);
  } catch (err) {
    if (err instanceof NotFoundError) return false; // deleted since it was read
    throw err;
  }
}

/** Every enabled schedule flow of every tenant, a page at a time. */
async function* scheduleFlows(env: Env): AsyncGenerator<FlowRow[]> {
  const db = database(env.DB);
  let cursor = '';
  for (;;) {
    const page = await db
      .select()
      .from(flows)
      .where(and(eq(flows.triggerType, 'schedule'), eq(flows.enabled, true), gt(flows.id, cursor)))
      .orderBy(asc(flows.id))
      .limit(PAGE_SIZE);
    if (page.length > 0) yield page;
    if (page.length < PAGE_SIZE) return;
    cursor = page[page.length - 1]!.id;
  }
}
