/**
 * How the Worker reaches flow executors: each flow has `EXECUTOR_SHARDS`
 * executors (Durable Objects named `<flowId>#<shard>`), and a run lives in the
 * one its id names.
 */
import { settings } from '../config';
import type { Env } from '../env';
import { NotFoundError } from '../lib/errors';
import { idPattern } from '../lib/ids';
import type { ExecutorStats, FlowExecutor } from './executor';
import { executorOfRun, MAX_SHARDS } from './run-ids';

const FLOW_ID = idPattern('flw');

/**
 * An executor as the Worker calls it: its RPC methods, with the types they
 * are written with (the generated stub type cannot express values typed
 * `unknown`, such as step outputs), and `fetch` for WebSockets.
 */
export type ExecutorStub = Pick<
  FlowExecutor,
  | 'start'
  | 'getRun'
  | 'hasRun'
  | 'events'
  | 'cancelRun'
  | 'resume'
  | 'invalidate'
  | 'publish'
  | 'flowViewersJoined'
  | 'childEnded'
  | 'deliverEvent'
  | 'rerunSeed'
  | 'operations'
> &
  Pick<DurableObjectStub, 'fetch'>;

/** Executors per flow: `EXECUTOR_SHARDS` (1–32, default 1). */
export const shardCount = (env: Env): number => settings(env).EXECUTOR_SHARDS;

export const isFlowId = (flowId: string): boolean => FLOW_ID.test(flowId);

/** The Durable Object name of a flow's executor shard. */
export const executorName = (flowId: string, shard: number): string => `${flowId}#${shard}`;

export function executorStub(env: Pick<Env, 'EXECUTORS'>, flowId: string, shard: number): ExecutorStub {
  return env.EXECUTORS.get(env.EXECUTORS.idFromName(executorName(flowId, shard))) as unknown as ExecutorStub;
}

/** The executor holding a run; NotFoundError for an id that names none. */
export function requireExecutor(env: Pick<Env, 'EXECUTORS'>, runId: string): ExecutorStub {
  const executor = runExecutor(env, runId);
  if (!executor) throw new NotFoundError('run');
  return executor;
}

/** The executor holding a run, or null when the id is not a run id. */
export function runExecutor(env: Pick<Env, 'EXECUTORS'>, runId: string): ExecutorStub | null {
  const named = executorOfRun(runId);
  return named ? executorStub(env, named.flowId, named.shard) : null;
}

/**
 * The shard a run goes to: for a deduplicated trigger, always the same shard
 * for the same key (the key is checked there); otherwise any.
 */
export function pickShard(env: Env, dedupeKey?: string): number {
  const shards = shardCount(env);
  if (shards === 1) return 0;
  if (dedupeKey === undefined) return Math.floor(Math.random() * shards);
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < dedupeKey.length; i++) hash = Math.imul(hash ^ dedupeKey.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % shards;
}

/**
 * Tells every executor of a flow that the flow, its secrets or its variables
 * changed (or that it was deleted): they drop what they cached, keys
 * included. (A shard above a lowered `EXECUTOR_SHARDS` starts no new runs,
 * and its runs in flight keep what they pinned; a delete reaches it too.) Routes await it before answering, so a run triggered after the
 * answer sees the change.
 */
export async function flowChanged(env: Env, flowId: string, change: 'changed' | 'deleted' = 'changed'): Promise<void> {
  if (!isFlowId(flowId)) return;
  // A delete reaches every shard there could be, in case the count was higher once: no shard keeps the key.
  const count = change === 'deleted' ? MAX_SHARDS : shardCount(env);
  const shards = Array.from({ length: count }, (_, shard) => executorStub(env, flowId, shard));
  await Promise.all(shards.map((executor) => executor.invalidate(change === 'deleted')));
}

/** The counters of all of a flow's executors, added up. */
export async function executorStats(env: Env, flowId: string): Promise<ExecutorStats> {
  const all = await Promise.all(
    Array.from({ length: shardCount(env) }, async (_, shard) => (await executorStub(env, flowId, shard).operations()).stats()),
  );
  return all.reduce((sum, stats) => ({
    runsStarted: sum.runsStarted + stats.runsStarted,
    configLoads: sum.configLoads + stats.configLoads,
    indexBatches: sum.indexBatches + stats.indexBatches,
    indexedChanges: sum.indexedChanges + stats.indexedChanges,
  }));
}
