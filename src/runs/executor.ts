/**
 * A flow executor: a long-lived Durable Object that runs the runs of one
 * flow (one of its `EXECUTOR_SHARDS` shards). It is a thin shell around the
 * pure step machine (`step-machine.ts`) and its own storage
 * (`executor-store.ts`):
 *
 * - it keeps the flow's configuration warm (`flow-config.ts`), so a run of a
 *   warm flow starts with no D1 round trip;
 * - it persists every transition of a run in one synchronous write, then
 *   publishes the transition's events to the run's and the flow's viewers;
 * - it multiplexes one alarm over every run's wake time (a delay's end, the
 *   watchdog of a running run, retention), and on a fresh instance picks up
 *   every run its predecessor left unfinished: an interrupted step runs
 *   again as its next attempt, finished steps never do;
 * - it reports run status changes to the D1 run index in batches, through
 *   an outbox in its storage, so a finished run shows in every list within
 *   a second and D1 sees a fraction of a round trip per run;
 * - shard 0 hosts the flow's live viewers; other shards forward their
 *   events to it while it has any.
 *
 * One flow per executor: two flows' secrets never share an object. Secrets
 * are opened in memory only, never stored.
 */
import { DurableObject } from 'cloudflare:workers';
import { MAX_RUN_MATCH_COST } from '../blocks/condition';
import { BLOCKS } from '../blocks/registry';
import { DEFAULT_CHILD_TIMEOUT_SECONDS, MAX_FLOW_DEPTH } from '../blocks/trigger-flow';
import { StepError, type BlockSpec, type StepContext } from '../blocks/types';
import type { Masker } from '../crypto/redact';
import type { OpenedSecrets } from '../crypto/vault';
import type { RunIndexEntry } from '../db/runs';
import { settings } from '../config';
import type { Env } from '../env';
import { tenantScope } from '../db/scope';
import type { Block, FlowDefinition } from '../flows/definition';
import { allBlocks, chainOf, target } from '../flows/graph';
import { literalHosts } from '../flows/secret-destinations';
import { referencedSecrets, render, type TemplateContext } from '../flows/templates';
import { ViewerForwarder } from '../live/viewer-forwarder';
import { ackOf, sendFrames, type ViewerState } from '../live/viewers';
import { NotFoundError } from '../lib/errors';
import { newId } from '../lib/ids';
import { writeRunIndexAndNotify } from '../notifications/outbox';
import { takeTokens, tenantRunLimit } from '../limits/enforce';
import { ExecutorStore, sameStoredState, type OutboxEntry, type RunInit, type StoredRun } from './executor-store';
import { executorStub, runExecutor, shardCount } from './executors';
import { verifyWebhook } from '../triggers/webhook-signature';
import { FlowConfigCache, loadFlowConfig, type FlowConfig } from './flow-config';
import { retentionMs } from './retention';
import { executorOfRun } from './run-ids';
import { startRun } from './start';
import * as machine from './step-machine';
import { isFinal, type LogLevel, type Run, type Step, type TriggerInput } from './types';

/** How long a running run may go without the executor looking at it. */
const WATCHDOG_MS = 10_000;
/** A step starts at most this often; more starts mean it keeps killing its object. */
const MAX_STEP_EXECUTIONS = 3;
/** How long index changes collect before they go to D1 together (a finished run shows in lists within 1 s). */
const INDEX_FLUSH_MS = 400;
/** Runs per index write (two statements each at most: one D1 batch). */
const INDEX_BATCH_RUNS = 100;
/** When a failed index write is tried again. */
const INDEX_RETRY_MS = 5_000;
/** The longest a cached flow configuration is trusted without an invalidation. */
const CONFIG_MAX_AGE_MS = 5 * 60_000;
const DEDUPE_RETENTION_MS = 7 * 86_400_000;
const MAX_MESSAGE_CHARS = 16 * 1024;
/** How often a run waiting for another run looks at it, should the news of its end be lost. */
const CHILD_POLL_MS = 60_000;
const MAX_ERROR_CHARS = 4 * 1024;

/** Set by the Worker on a viewer's request once it has authorised it. */
export const TENANT_HEADER = 'x-powerflows-tenant';
const FLOW_VIEWERS = 'flow';
const runViewers = (runId: string) => `run:${runId}`;

export interface StartRequest {
  runId: string;
  tenantId: string;
  /** Who triggered the run, for the audit log. */
  actor: string;
  trigger: TriggerInput;
  waitMs: number;
  /** For a webhook: the hook it came through, which must still be the flow's, and the flow enabled. */
  hookId?: string;
  /** For a webhook: the raw body and headers, checked against the trigger's `verify` rule when it has one. */
  signed?: { body: string; headers: Record<string, string>; replayKey?: string };
  /** Start nothing unless the flow is enabled (a run started by another flow). */
  requireEnabled?: boolean;
}

export type StartResult =
  | { outcome: 'started'; run: Run }
  | { outcome: 'duplicate'; runId: string }
  | { outcome: 'flow_not_found' }
  | { outcome: 'unauthorized' };

/** What an executor counts since its instance started: its D1 round trips are `configLoads + indexBatches`. */
export interface ExecutorStats {
  runsStarted: number;
  /** D1 read batches: the flow's configuration, loaded cold or after an invalidation. */
  configLoads: number;
  /** D1 write batches (round trips) of the run index. */
  indexBatches: number;
  /** Run status changes those batches carried. */
  indexedChanges: number;
}

/** A run this instance is driving. */
interface ActiveRun {
  init: RunInit;
  run: machine.RunSnapshot;
  definition: FlowDefinition;
  variables: Record<string, string>;
  /** The tenant's environment variables, pinned at trigger time like the variables. */
  env: Record<string, string>;
  /** The configuration it was started with (its secrets as they were then); unset after a wait or a restart. */
  config: FlowConfig | undefined;
  secrets: Promise<OpenedSecrets> | undefined;
  looping: boolean;
  abort: AbortController;
  waiters: Set<() => void>;
  /** Regular-expression work left to this run (in memory: a restarted run gets a fresh budget). */
  regexBudget: { left: number };
}

/** Where a step runs: which step, the outputs it can read, the failure being handled, and inside a for_each chain its item. */
interface StepScope {
  at: machine.StepAt;
  steps: Record<string, unknown>;
  error: { blockId: string; message: string } | undefined;
  item?: unknown;
  index?: number;
}

/** How a block's run ended: as the machine takes it, or waiting for another run to end. */
type BlockOutcome = machine.StepOutcome | { kind: 'waiting'; output: unknown; runId: string; until: number };
type NestedOutcome = { ok: true; output: unknown } | { ok: false; error: string; output: unknown };

/** A live viewer of one run, as attached to its hibernating WebSocket. */
interface RunViewer {
  runId: string;
  lastSeq: number;
}

export class FlowExecutor extends DurableObject<Env> {
  /** Which flow and shard this is, learnt from the first run id it sees (see `learn`). */
  private flowId: string | undefined;
  private shard = 0;
  private readonly store: ExecutorStore;
  private readonly config: FlowConfigCache;
  private readonly machine: machine.MachineConfig;
  private readonly active = new Map<string, ActiveRun>();
  private readonly snapshots = new Map<number, unknown>();
  /** When the alarm is set for (null: none; undefined: not read yet). */
  private armedAt: number | null | undefined;
  private indexTimer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> | undefined;
  /** Flow-viewer flow control (shard 0); counters start again after hibernation. */
  private readonly flowViewers = new Map<WebSocket, ViewerState>();
  private forwarder: ViewerForwarder | undefined;
  /** Shards other than 0: whether shard 0 has flow viewers to forward events to. */
  private forwardToViewers = true;
  /** Counts shard 0's "a viewer joined": a "nobody got it" answer sent before the last join must not switch forwarding off. */
  private viewerJoins = 0;
  /**
   * How many viewer sockets this object holds, counted again after any
   * change (undefined): most commits have no viewer to tell, and asking the
   * runtime for sockets on every commit costs more than the commit's writes.
   */
  private viewerSockets: number | undefined;
  private readonly counters: ExecutorStats = { runsStarted: 0, configLoads: 0, indexBatches: 0, indexedChanges: 0 };
  /** Steps of for_each chains waiting in memory for a child run's end, by the child's id. */
  private readonly childWaiters = new Map<string, () => void>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new ExecutorStore(ctx.storage);
    this.config = new FlowConfigCache((tenantId) => {
      this.counters.configLoads++;
      return loadFlowConfig(env, tenantId, this.flowId!);
    }, CONFIG_MAX_AGE_MS);
    this.machine = { watchdogMs: WATCHDOG_MS, retentionMs: retentionMs(env), maxExecutions: MAX_STEP_EXECUTIONS };
    void ctx.blockConcurrencyWhile(async () => {
      this.armedAt = await ctx.storage.getAlarm();
    });
  }

  /** Whether a run id names this executor; the first one it sees tells it which flow and shard it is. */
  private learn(runId: string): boolean {
    const named = executorOfRun(runId);
    if (!named) return false;
    if (this.flowId === undefined) [this.flowId, this.shard] = [named.flowId, named.shard];
    return named.flowId === this.flowId && named.shard === this.shard;
  }

  // ---- RPC -------------------------------------------------------------------

  /**
   * Starts a run of the flow's current version: the run, its first
   * transition, its dedupe key and its index entry in one write. With
   * `waitMs`, answers once it has ended or that time has passed.
   */
  async start(request: StartRequest): Promise<StartResult> {
    if (!this.learn(request.runId)) return { outcome: 'flow_not_found' };
    const now = Date.now();
    const config = await this.config.get(request.tenantId, now);
    if (!config) return { outcome: 'flow_not_found' };
    if (request.hookId !== undefined && !(config.enabled && config.hookId === request.hookId)) return { outcome: 'flow_not_found' };
    if (request.requireEnabled && !config.enabled) return { outcome: 'flow_not_found' };
    let { trigger } = request;
    const rule = config.definition.trigger.type === 'webhook' ? config.definition.trigger.verify : undefined;
    if (rule) {
      const secrets = await config.keyring.open(new Set([rule.secret]));
      const secret = secrets.values[rule.secret];
      const { body, headers, replayKey } = request.signed ?? { body: '', headers: {} };
      const verdict = secret === undefined ? { ok: false } : await verifyWebhook(rule, secret, body, headers, Date.now());
      if (!verdict.ok) return { outcome: 'unauthorized' };
      // A Standard Webhooks message id seen before starts nothing: the first run answers for it.
      if ('webhookId' in verdict && verdict.webhookId && replayKey) trigger = { ...trigger, dedupeKey: replayKey };
    }
    const duplicate = trigger.dedupeKey === undefined ? null : this.store.dedupedRun(trigger.dedupeKey);
    if (duplicate) return { outcome: 'duplicate', runId: duplicate };

    const refs = this.refsOf(config);
    const init: RunInit = {
      runId: request.runId,
      tenantId: config.tenantId,
      flowVersion: config.version,
      definitionRef: refs.definition,
      variablesRef: refs.variables,
      envRef: refs.env,
      triggerType: trigger.type,
      payload: trigger.payload,
      actor: request.actor,
      createdAt: new Date(now).toISOString(),
    };
    const queued: machine.RunSnapshot = {
      runId: init.runId,
      blocks: config.definition.blocks,
      state: machine.newRunState(config.definition.blocks, now),
      steps: new Map(),
    };
    const active = activeRun(init, queued, config.definition, config.variables, config.env, config);
    const begun = machine.begin(queued, this.machine, now);
    const frames = this.store.transaction(() => {
      this.store.insertRun(init, begun.state);
      if (trigger.dedupeKey !== undefined) this.store.addDedupe(trigger.dedupeKey, init.runId, now);
      this.store.markIndexDirty(init.runId, newId('aud'));
      return this.store.saveTransition(init.runId, begun, begun.state);
    });
    this.applied(active, begun, frames, true);
    this.counters.runsStarted++;
    this.active.set(init.runId, active);
    void this.drive(active);
    await this.untilEnd(active, request.waitMs);
    return { outcome: 'started', run: this.view(active) };
  }

  /** The run with its steps, or null when this executor holds no run of that id in the tenant. */
  async getRun(tenantId: string, runId: string): Promise<Run | null> {
    const run = this.find(tenantId, runId);
    return run ? this.view(run) : null;
  }

  async hasRun(tenantId: string, runId: string): Promise<boolean> {
    return this.find(tenantId, runId) !== null;
  }

  /** Events after `after`, in `seq` order, and whether the run has ended (no more will come). */
  async events(tenantId: string, runId: string, after: number, limit: number) {
    const run = this.find(tenantId, runId);
    if (!run) return null;
    return { items: this.store.events(runId, after, limit), final: isFinal(run.run.state.status) };
  }

  /**
   * Cancels a running or waiting run: a waiting one ends at once; a running
   * step is interrupted (its request or backoff is aborted) and the run ends
   * at that step boundary. A finished run is left as it is.
   */
  async cancelRun(tenantId: string, runId: string): Promise<Run | null> {
    // Marked before an orphaned run is driven again, so its interrupted step is not started once more.
    const run = this.find(tenantId, runId, { drive: false });
    if (!run) return null;
    const transition = machine.cancel(run.run, this.machine, Date.now());
    if (transition) {
      this.commit(run, transition);
      run.abort.abort();
    }
    if (!isFinal(run.run.state.status)) void this.drive(run);
    return this.view(run);
  }

  /** Makes sure a run that should be making progress is (the scheduled sweep's nudge). */
  async resume(tenantId: string, runId: string): Promise<void> {
    this.find(tenantId, runId);
  }

  /** A run that `runId` started (trigger_flow) has ended: a parent waiting for it goes on at once. */
  async childEnded(tenantId: string, runId: string, childRunId: string): Promise<void> {
    this.childWaiters.get(childRunId)?.();
    const run = this.find(tenantId, runId, { drive: false });
    if (run && this.awaitedChild(run) === childRunId) await this.settleWait(run);
    if (run && !isFinal(run.run.state.status)) void this.drive(run);
  }

  /**
   * The flow, its secrets or its variables changed: forget the cached
   * configuration and key (runs already started keep their version and
   * variables; those still driven here, the secrets they opened).
   * Deleted: runs in flight lose their secrets too, so none is sent after its
   * key was shredded (a step that needs one fails).
   */
  async invalidate(deleted = false): Promise<void> {
    this.config.invalidate();
    if (!deleted) return;
    for (const run of this.active.values()) {
      run.config = undefined;
      run.secrets = undefined;
    }
  }

  /** Shard 0: sends other shards' events (JSON frames) to the flow's viewers; answers how many got them. */
  async publish(frames: string[]): Promise<number> {
    return this.sendToFlowViewers(frames);
  }

  /** Shards other than 0: shard 0 has flow viewers again, so forward events to it. */
  async flowViewersJoined(): Promise<void> {
    this.viewerJoins++;
    this.forwardToViewers = true;
  }

  /** How many flow viewers are connected (for tests and operations). */
  async viewerCount(): Promise<number> {
    return this.ctx.getWebSockets(FLOW_VIEWERS).length;
  }

  /** Writes the run index changes still pending now, instead of within the next second (tests, operations). */
  async writeIndexNow(): Promise<void> {
    await this.flushing;
    await this.flushIndex();
  }

  /** Counters since this instance started (for the benchmark: D1 round trips per run). */
  async stats(): Promise<ExecutorStats> {
    return { ...this.counters };
  }

  override async alarm(): Promise<void> {
    this.armedAt = null;
    const now = Date.now();
    for (const due of this.store.runsToLookAt(now)) {
      if (isFinal(due.status)) continue;
      // Reviving an orphaned run drives it; a run this instance drives only needs its watchdog pushed on.
      const run = this.find(due.tenantId, due.id);
      if (!run) continue;
      if (!run.looping) void this.drive(run);
      else if (due.wakeAt <= now) this.commit(run, machine.stillRunning(run.run, this.machine, now));
    }
    const config = await this.config.peek();
    this.store.forgetExpired(now, config?.refs ? [config.refs.definition, config.refs.variables, config.refs.env] : []);
    this.store.purgeDedupe(now - DEDUPE_RETENTION_MS);
    if (this.store.hasOutbox()) await this.flushIndex();
    this.rearm(now);
  }

  // ---- driving runs -----------------------------------------------------------

  /**
   * The run as this instance drives it. A run it is not driving yet (after a
   * restart, or a finished one) is read from storage, and a run that is not
   * finished is picked up again: whoever touches an orphaned run revives it.
   */
  private find(tenantId: string, runId: string, options = { drive: true }): ActiveRun | null {
    const active = this.active.get(runId);
    if (active) return active.init.tenantId === tenantId ? active : null;
    if (!this.learn(runId)) return null;
    const stored = this.store.run(runId, tenantId);
    if (!stored) return null;
    const run = this.revive(stored);
    if (!isFinal(stored.state.status)) {
      this.active.set(runId, run);
      if (options.drive) void this.drive(run);
    }
    return run;
  }

  private revive(stored: StoredRun): ActiveRun {
    const definition = this.snapshot<FlowDefinition>(stored.init.definitionRef);
    const run = { runId: stored.init.runId, blocks: definition.blocks, state: stored.state, steps: stored.steps };
    const variables = this.snapshot<Record<string, string>>(stored.init.variablesRef);
    const env = stored.init.envRef === null ? {} : this.snapshot<Record<string, string>>(stored.init.envRef);
    return activeRun(stored.init, run, definition, variables, env, undefined);
  }

  /** Runs a run's next actions until it ends, waits, or is already being driven. */
  private async drive(run: ActiveRun): Promise<void> {
    if (run.looping) return;
    run.looping = true;
    try {
      for (;;) {
        const now = Date.now();
        const action = machine.nextAction(run.run, now);
        if (action.type === 'none') return;
        if (action.type === 'sleep') return this.sleep(run, action.until);
        if (action.type === 'begin') this.commit(run, machine.begin(run.run, this.machine, now));
        else if (action.type === 'wake') {
          if (this.awaitedChild(run) !== undefined) await this.settleWait(run);
          else this.commit(run, machine.wake(run.run, this.machine, now));
          if (run.run.state.status === 'waiting') return this.sleep(run, run.run.state.wakeAt);
        } else if (action.type === 'finish') this.commit(run, machine.finish(run.run, this.machine, now, action.status));
        else await this.runStep(run);
      }
    } catch (err) {
      console.error('run loop stopped', run.init.runId, errorMessage(err)); // the watchdog picks it up
    } finally {
      run.looping = false;
    }
  }

  /**
   * A waiting run holds nothing in memory (unless a caller waits for its
   * end): the alarm reads it back when its time comes.
   */
  private sleep(run: ActiveRun, until: number): void {
    this.ensureAlarm(until);
    if (run.waiters.size === 0) this.active.delete(run.init.runId);
  }

  private async runStep(run: ActiveRun): Promise<void> {
    this.commit(run, machine.startStep(run.run, this.machine, Date.now()));
    if (run.run.state.status !== 'running') return; // gave up on a step that kept killing its object
    const blockId = run.run.state.cursor!;
    const block = run.definition.blocks.find((b) => b.id === blockId)!;

    let secrets: OpenedSecrets;
    try {
      const opening = this.secretsOf(run);
      secrets = await opening;
      // Dropped while they were being opened: the flow was deleted, its key shredded.
      if (run.secrets !== opening) throw new Error('the flow no longer exists');
    } catch (err) {
      return this.settle(run, { kind: 'failed', error: `cannot open the flow's secrets: ${errorMessage(err)}`, output: null });
    }
    if (run.run.state.cancelRequested) return this.settle(run, { kind: 'failed', error: 'cancelled', output: null });
    const at: machine.StepAt = { key: blockId, blockId };
    const outcome = await this.executeBlock(run, block, secrets, this.mainChainScope(run, at));
    if (outcome.kind === 'waiting') {
      // Another run's end settles the step: until then the run waits, holding nothing (see `childEnded`).
      this.settle(run, { kind: 'sleeping', output: outcome.output, until: Math.min(outcome.until, Date.now() + CHILD_POLL_MS) });
    } else {
      this.settle(run, outcome);
    }
  }

  /**
   * Runs one block for a step (of the main chain, or of a for_each chain for
   * one item): renders its params, runs it, masks what comes out. Never
   * throws: a failure is an outcome.
   */
  private async executeBlock(run: ActiveRun, block: Block, secrets: OpenedSecrets, scope: StepScope): Promise<BlockOutcome> {
    const spec: BlockSpec = BLOCKS[block.type];
    let outcome: BlockOutcome;
    try {
      const used = new Set<string>();
      const params = renderParams(block, spec, this.templateContext(run, secrets, scope), used);
      const result = await spec.run(params as never, this.stepContext(run, block, secrets, used, scope));
      const output = secrets.masker.maskValue(result.output ?? null);
      if (result.failed !== undefined) outcome = { kind: 'failed', error: result.failed, output };
      else if (result.sleepUntil !== undefined) outcome = { kind: 'sleeping', output, until: result.sleepUntil };
      else if ('awaitRun' in result && result.awaitRun)
        outcome = { kind: 'waiting', output, runId: result.awaitRun.runId, until: result.awaitRun.until };
      else outcome = { kind: 'succeeded', output, edge: spec.edge?.(output) };
    } catch (err) {
      outcome = {
        kind: 'failed',
        error: errorMessage(err),
        output: secrets.masker.maskValue(err instanceof StepError ? err.output : null),
      };
    }
    if (outcome.kind === 'failed') outcome.error = truncate(secrets.masker, secrets.masker.mask(outcome.error), MAX_ERROR_CHARS);
    return outcome;
  }

  // ---- for_each --------------------------------------------------------------

  /**
   * A for_each step: its chain once per item, `concurrency` items at a time,
   * each chain's last output in item order. Every step of a chain is stored
   * under its item, so a loop run again after a restart skips the steps that
   * had finished. The first item that fails (unhandled) stops new items and
   * fails the loop; cancelling stops it too.
   */
  private async iterate(
    run: ActiveRun,
    loop: Block,
    secrets: OpenedSecrets,
    outer: StepScope,
    items: readonly unknown[],
    concurrency: number,
  ) {
    const chain = chainOf(loop)!;
    const results: unknown[] = new Array(items.length).fill(null);
    let nextItem = 0;
    let failure: unknown;
    const worker = async () => {
      while (failure === undefined && !run.abort.signal.aborted && nextItem < items.length) {
        const index = nextItem++;
        try {
          results[index] = await this.runChain(run, chain, secrets, outer, items[index], index);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
    if (run.abort.signal.aborted) throw new StepError('cancelled');
    if (failure !== undefined) throw failure;
    return results;
  }

  /** One item's pass through a for_each chain; the output of the last block that ran. */
  private async runChain(run: ActiveRun, chain: readonly Block[], secrets: OpenedSecrets, outer: StepScope, item: unknown, index: number) {
    const iterations = [...(outer.at.iterations ?? []), index];
    const steps: Record<string, unknown> = { ...outer.steps };
    let error = outer.error;
    let last: unknown = null;
    for (let cursor = chain[0]?.id ?? null; cursor !== null; ) {
      const position = chain.findIndex((b) => b.id === cursor);
      const block = chain[position]!;
      const at = machine.nestedStep(block.id, iterations);
      const outcome = await this.runNestedStep(run, block, secrets, { at, steps, error, item, index });
      if (outcome.ok) {
        steps[block.id] = outcome.output;
        last = outcome.output;
        cursor = target(chain, position, (BLOCKS[block.type] as BlockSpec).edge?.(outcome.output) ?? 'next');
      } else if (block.onError) {
        error = { blockId: block.id, message: outcome.error };
        cursor = block.onError;
      } else {
        throw new StepError(`item ${index}: step "${block.id}" failed: ${outcome.error}`);
      }
    }
    return last;
  }

  /** A step of a for_each chain: its stored end if it has one (a loop run again after a restart), else it runs now. */
  private async runNestedStep(run: ActiveRun, block: Block, secrets: OpenedSecrets, scope: StepScope): Promise<NestedOutcome> {
    const stored = run.run.steps.get(scope.at.key);
    if (stored?.status === 'succeeded') return { ok: true, output: stored.output };
    if (stored?.status === 'failed') return { ok: false, error: stored.error ?? 'failed', output: stored.output };
    this.commit(run, machine.startNested(run.run, Date.now(), scope.at));
    let outcome = await this.executeBlock(run, block, secrets, scope);
    // In a chain, waits are held in memory: a restart runs the step again (a child run is not started twice).
    if (outcome.kind === 'sleeping')
      outcome = await sleepThen(outcome.until - Date.now(), run.abort.signal, { kind: 'succeeded', output: outcome.output });
    else if (outcome.kind === 'waiting') outcome = await this.childOutcome(run, outcome.runId, outcome.until, outcome.output);
    const settled: NestedOutcome =
      outcome.kind === 'succeeded'
        ? { ok: true, output: outcome.output }
        : { ok: false, error: outcome.kind === 'failed' ? outcome.error : 'interrupted', output: outcome.output };
    this.commit(run, machine.settleNested(run.run, Date.now(), scope.at, settled));
    return settled;
  }

  private settle(run: ActiveRun, outcome: machine.StepOutcome): void {
    this.commit(run, machine.settleStep(run.run, this.machine, Date.now(), outcome));
  }

  /**
   * Persists a transition in one write, then publishes its events, reports a
   * status change to the index, and releases whoever waits for the end.
   */
  private commit(run: ActiveRun, transition: machine.Transition): void {
    const runId = run.init.runId;
    const statusChanged = transition.state.status !== run.run.state.status;
    const write = () => {
      const written = this.store.saveTransition(runId, transition, run.run.state);
      if (statusChanged) this.store.markIndexDirty(runId);
      return written;
    };
    // A transition that only records an event (a log line) is one statement, atomic by itself.
    const oneStatement = transition.steps.size === 0 && transition.events.length <= 1 && sameStoredState(run.run.state, transition.state);
    const frames = oneStatement ? write() : this.store.transaction(write);
    this.applied(run, transition, frames, statusChanged);
  }

  /** After a transition is stored: the in-memory run follows, viewers and the index hear of it, waiters are released. */
  private applied(run: ActiveRun, transition: machine.Transition, frames: string[], statusChanged: boolean): void {
    const runId = run.init.runId;
    run.run = machine.applyTransition(run.run, transition);
    const final = isFinal(transition.state.status);
    this.publishEvents(runId, frames, transition.state.lastSeq, final);
    if (statusChanged) this.scheduleIndexFlush();
    if (final) {
      this.active.delete(runId);
      for (const release of [...run.waiters]) release();
      this.tellParent(run);
    } else {
      this.ensureAlarm(transition.state.wakeAt);
    }
  }

  private untilEnd(run: ActiveRun, timeoutMs: number): Promise<void> {
    if (timeoutMs <= 0 || isFinal(run.run.state.status)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        run.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      run.waiters.add(done);
    });
  }

  // ---- what a step sees ------------------------------------------------------

  /** The secrets the run's definition references: from the configuration it started with, or the current one after a restart. */
  private secretsOf(run: ActiveRun): Promise<OpenedSecrets> {
    run.secrets ??= (async () => {
      const config = run.config ?? (await this.config.get(run.init.tenantId, Date.now()));
      if (!config) throw new Error('the flow no longer exists');
      return config.keyring.open(referencedSecrets(run.definition.blocks.map((b) => b.params)));
    })();
    run.secrets.catch(() => (run.secrets = undefined)); // the next step tries again
    return run.secrets;
  }

  private templateContext(run: ActiveRun, secrets: OpenedSecrets, scope: StepScope): TemplateContext {
    return {
      trigger: run.init.payload,
      steps: scope.steps,
      variables: run.variables,
      env: run.env,
      secrets: secrets.values,
      run: { id: run.init.runId },
      flow: { id: this.flowId!, name: run.definition.name },
      error: scope.error,
      item: scope.item,
      index: scope.index,
    };
  }

  /**
   * What a main-chain step reads, in one pass over the run's steps: the
   * outputs of the main chain's succeeded steps by block id, and its latest
   * failure (a run still going has handled it with onError, so the handler
   * reads it as `{{error.…}}`).
   */
  private mainChainScope(run: ActiveRun, at: machine.StepAt): StepScope {
    const steps: Record<string, unknown> = {};
    let failed: [string, machine.StepState] | undefined;
    for (const entry of run.run.steps) {
      const [key, step] = entry;
      if (key.includes('@')) continue;
      if (step.status === 'succeeded') steps[key] = step.output;
      else if (step.status === 'failed' && (!failed || (step.finishedAt ?? '') >= (failed[1].finishedAt ?? ''))) failed = entry;
    }
    return { at, steps, error: failed ? { blockId: failed[0], message: failed[1].error ?? '' } : undefined };
  }

  private stepContext(run: ActiveRun, block: Block, secrets: OpenedSecrets, used: ReadonlySet<string>, scope: StepScope): StepContext {
    return {
      engine: {
        iterate: (items, concurrency) => this.iterate(run, block, secrets, scope, items, concurrency),
        startFlow: (flowId, input) => this.startChild(run, scope.at, flowId, input),
      },
      template: block.params as Record<string, unknown>,
      data: () => {
        const { secrets: _secrets, ...data } = this.templateContext(run, secrets, scope);
        return data;
      },
      regexBudget: run.regexBudget,
      env: this.env,
      tenantId: run.init.tenantId,
      runId: run.init.runId,
      flowId: this.flowId!,
      signal: run.abort.signal,
      allowPrivateNetwork: settings(this.env).ALLOW_PRIVATE_EGRESS,
      secrets: { used, allowedHosts: secrets.allowedHosts, literalHosts: literalHosts(run.definition.blocks), masker: secrets.masker },
      log: (level: LogLevel, message: string) => {
        const masked = truncate(secrets.masker, secrets.masker.mask(message), MAX_MESSAGE_CHARS);
        this.commit(run, machine.logLine(run.run, Date.now(), level, masked, scope.at));
      },
      retrying: (attempt: number, reason: string, delayMs: number) => {
        const message = secrets.masker.mask(`${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt})`);
        this.commit(run, machine.retryStep(run.run, Date.now(), attempt, message, scope.at));
      },
    };
  }

  // ---- trigger_flow ------------------------------------------------------------

  /**
   * Starts a run of another enabled flow of the tenant, one level deeper
   * (at most MAX_FLOW_DEPTH), under the tenant's run limit. The step's key
   * dedupes it: a step run again after a restart finds the child it started.
   */
  private async startChild(run: ActiveRun, at: machine.StepAt, flowId: string, input: Record<string, unknown>) {
    const depth = flowDepth(run.init.payload) + 1;
    if (depth > MAX_FLOW_DEPTH)
      throw new StepError(`a chain of flows starting flows may be at most ${MAX_FLOW_DEPTH} deep: this step would start the ${depth}th`);
    const { tenantId } = run.init;
    const limit = await takeTokens(this.env, `tenant:${tenantId}`, tenantRunLimit(this.env));
    if (!limit.allowed) throw new StepError(`this tenant is starting runs too fast; retry in ${limit.retryAfter} s`);
    const payload = { input, parentRunId: run.init.runId, parentFlowId: this.flowId!, depth };
    const scope = tenantScope(this.env, { tenantId, sub: run.init.actor });
    let started: Awaited<ReturnType<typeof startRun>>;
    try {
      started = await startRun(
        this.env,
        scope,
        flowId,
        { type: 'flow', payload, dedupeKey: `flow:${run.init.runId}:${at.key}` },
        { requireEnabled: true },
      );
    } catch (err) {
      if (err instanceof NotFoundError) throw new StepError(`flow ${flowId} was not found, or is not enabled`);
      throw err;
    }
    if ('duplicateOf' in started) {
      const child = await runExecutor(this.env, started.duplicateOf)?.getRun(tenantId, started.duplicateOf);
      return { runId: started.duplicateOf, status: child?.status ?? 'queued' };
    }
    return { runId: started.id, status: started.status };
  }

  /** The child run a waiting trigger_flow step of the main chain waits for. */
  private awaitedChild(run: ActiveRun): string | undefined {
    const { state } = run.run;
    if (state.status !== 'waiting' || !state.cursor) return undefined;
    const block = run.definition.blocks.find((b) => b.id === state.cursor);
    if (block?.type !== 'trigger_flow' || !(block.params as { wait?: boolean }).wait) return undefined;
    return (run.run.steps.get(state.cursor)?.output as { runId?: string } | null)?.runId;
  }

  /** A waiting trigger_flow step looks at its child: ended, it settles; past the timeout, it fails; else it waits on. */
  private async settleWait(run: ActiveRun): Promise<void> {
    const blockId = run.run.state.cursor!;
    const step = run.run.steps.get(blockId)!;
    const block = run.definition.blocks.find((b) => b.id === blockId)!;
    const timeoutS = (block.params as { timeoutSeconds?: number }).timeoutSeconds ?? DEFAULT_CHILD_TIMEOUT_SECONDS;
    const until = Date.parse(step.startedAt!) + timeoutS * 1000;
    const outcome = await this.childOutcome(run, (step.output as { runId: string }).runId, until, step.output, false);
    const now = Date.now();
    if (outcome.kind === 'sleeping') this.commit(run, machine.waitUntil(run.run, now, Math.min(until, now + CHILD_POLL_MS)));
    else this.commit(run, machine.wakeWith(run.run, this.machine, now, outcome));
  }

  /**
   * How a step waiting for `childRunId` ends: succeeded with the child's
   * output, failed with its error, or failed on the timeout. With `block`,
   * waits in memory for the end (a for_each chain); without, answers
   * `sleeping` while the child is still going.
   */
  private async childOutcome(
    run: ActiveRun,
    childRunId: string,
    until: number,
    output: unknown,
    block = true,
  ): Promise<machine.StepOutcome> {
    const child = runExecutor(this.env, childRunId);
    for (;;) {
      const current = await child?.getRun(run.init.tenantId, childRunId);
      if (!current) return { kind: 'failed', error: `child run ${childRunId} was not found`, output };
      if (isFinal(current.status)) {
        const result = { runId: childRunId, status: current.status, output: lastOutput(current) };
        if (current.status === 'succeeded') return { kind: 'succeeded', output: result };
        return {
          kind: 'failed',
          error: `child run ${childRunId} ${current.status}${current.error ? `: ${current.error}` : ''}`,
          output: result,
        };
      }
      const left = until - Date.now();
      if (left <= 0) return { kind: 'failed', error: `child run ${childRunId} did not end within the timeout`, output };
      if (!block) return { kind: 'sleeping', output, until };
      if (run.abort.signal.aborted) return { kind: 'failed', error: 'cancelled', output };
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.childWaiters.delete(childRunId);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, CHILD_POLL_MS));
        this.childWaiters.set(childRunId, done);
      });
    }
  }

  /** A run started by another flow tells its parent's executor that it has ended (the parent also looks by itself). */
  private tellParent(run: ActiveRun): void {
    const parentRunId = run.init.payload.parentRunId;
    if (run.init.triggerType !== 'flow' || typeof parentRunId !== 'string') return;
    const parent = runExecutor(this.env, parentRunId);
    parent?.childEnded(run.init.tenantId, parentRunId, run.init.runId).catch((err: unknown) => {
      console.warn('could not tell the parent run', parentRunId, errorMessage(err)); // it looks again within CHILD_POLL_MS
    });
  }

  // ---- storage helpers ---------------------------------------------------------

  /** Stores the configuration's definition, variables and environment once, for the runs that pin them. */
  private refsOf(config: FlowConfig): NonNullable<FlowConfig['refs']> {
    config.refs ??= this.store.transaction(() => ({
      definition: this.store.addSnapshot(config.definition),
      variables: this.store.addSnapshot(config.variables),
      env: this.store.addSnapshot(config.env),
    }));
    this.snapshots.set(config.refs.definition, config.definition);
    this.snapshots.set(config.refs.variables, config.variables);
    this.snapshots.set(config.refs.env, config.env);
    return config.refs;
  }

  private snapshot<T>(id: number): T {
    let value = this.snapshots.get(id);
    if (value === undefined) {
      if (this.snapshots.size > 64) this.snapshots.clear();
      value = this.store.snapshot(id);
      this.snapshots.set(id, value);
    }
    return value as T;
  }

  private view(run: ActiveRun): Run {
    const { init } = run;
    const { state, steps } = run.run;
    return {
      id: init.runId,
      flowId: this.flowId!,
      flowVersion: init.flowVersion,
      status: state.status,
      trigger: { ...init.payload, type: init.triggerType },
      ...(init.triggerType === 'flow' ? { parentRunId: String(init.payload.parentRunId) } : {}),
      createdAt: init.createdAt,
      startedAt: state.startedAt,
      finishedAt: state.finishedAt,
      error: state.error,
      steps: stepList(run.definition.blocks, steps),
    };
  }

  // ---- the alarm ---------------------------------------------------------------

  /** Makes sure the alarm rings no later than `at`. */
  private ensureAlarm(at: number): void {
    if (typeof this.armedAt === 'number' && this.armedAt <= at) return;
    this.armedAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  /** One alarm for everything: the earliest run wake time, dedupe expiry, an index write still owed. */
  private rearm(now: number): void {
    const times = [
      this.store.earliestWake(),
      this.store.oldestDedupe() === null ? null : this.store.oldestDedupe()! + DEDUPE_RETENTION_MS,
      this.store.hasOutbox() ? now + INDEX_RETRY_MS : null,
    ].filter((t): t is number => t !== null);
    if (times.length === 0) {
      this.armedAt = null;
      void this.ctx.storage.deleteAlarm();
    } else {
      this.armedAt = undefined;
      this.ensureAlarm(Math.max(now + 1, Math.min(...times)));
    }
  }

  // ---- the run index -----------------------------------------------------------

  private scheduleIndexFlush(): void {
    this.indexTimer ??= setTimeout(() => {
      this.indexTimer = undefined;
      void this.flushIndex();
    }, INDEX_FLUSH_MS);
  }

  /** Writes the outbox to the D1 run index; one write at a time. */
  private flushIndex(): Promise<void> {
    // `finally` on the promise, not inside the function: it must run after `flushing` is set.
    this.flushing ??= this.writeOutbox().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeOutbox(): Promise<void> {
    try {
      for (let entries = this.store.outbox(INDEX_BATCH_RUNS); entries.length > 0; entries = this.store.outbox(INDEX_BATCH_RUNS)) {
        // A run that ended gets its notification, when its pinned version asks for one, in the batch of its final row.
        const rows = entries.map((entry) => ({
          ...toIndexEntry(entry),
          notify: isFinal(entry.state.status) ? this.snapshot<FlowDefinition>(entry.init.definitionRef).notify : null,
        }));
        this.counters.indexBatches += await writeRunIndexAndNotify(this.env, rows);
        this.counters.indexedChanges += entries.length;
        this.store.indexed(entries);
        if (entries.length < INDEX_BATCH_RUNS) break; // the rest waits for the next batch window
      }
    } catch (err) {
      console.error('run index write failed; retrying', errorMessage(err));
      this.ensureAlarm(Date.now() + INDEX_RETRY_MS);
    }
  }

  // ---- live viewers ------------------------------------------------------------

  /** Sends a transition's events to the run's viewers and the flow's (here, or through shard 0). Never waits on a viewer. */
  private publishEvents(runId: string, frames: string[], lastSeq: number, final: boolean): void {
    if (frames.length === 0) return;
    if (this.shard !== 0 && this.forwardToViewers) this.viewerForwarder().push(frames, final);
    this.viewerSockets ??= this.ctx.getWebSockets().length;
    if (this.viewerSockets === 0) return;
    for (const ws of this.ctx.getWebSockets(runViewers(runId))) {
      const viewer = ws.deserializeAttachment() as RunViewer;
      const unseen = frames.slice(Math.max(0, frames.length - (lastSeq - viewer.lastSeq)));
      try {
        for (const frame of unseen) ws.send(frame);
        ws.serializeAttachment({ ...viewer, lastSeq } satisfies RunViewer);
        if (final) ws.close(1000, 'run finished');
      } catch {
        // a closed socket: its close handler cleans up
      }
    }
    if (this.shard === 0) this.sendToFlowViewers(frames);
  }

  private sendToFlowViewers(frames: string[]): number {
    const maxUnacked = settings(this.env).LIVE_MAX_UNACKED;
    let delivered = 0;
    for (const ws of this.ctx.getWebSockets(FLOW_VIEWERS)) {
      if (sendFrames(ws, this.flowViewerState(ws), frames, maxUnacked)) delivered++;
      else this.flowViewers.delete(ws);
    }
    return delivered;
  }

  private viewerForwarder(): ViewerForwarder {
    // One stub for the instance's life: calls through one stub arrive in order.
    const host = executorStub(this.env, this.flowId!, 0);
    this.forwarder ??= new ViewerForwarder(async (frames) => {
      const joins = this.viewerJoins;
      const delivered = await host.publish(frames);
      if (delivered === 0 && joins === this.viewerJoins) this.forwardToViewers = false; // until shard 0 says a viewer joined
    });
    return this.forwarder;
  }

  private flowViewerState(ws: WebSocket): ViewerState {
    let state = this.flowViewers.get(ws);
    if (!state) {
      state = { sent: 0, acked: 0 };
      this.flowViewers.set(ws, state);
    }
    return state;
  }

  /**
   * A viewer's WebSocket, already authorised by the Worker (which passes the
   * tenant). `?runId=…&after=…`: the run's stored events after `after`, then
   * live ones; the replay is synchronous, so nothing slips in between.
   * Without `runId` (shard 0): every event of the flow from now on.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket', { status: 426 });
    const tenantId = request.headers.get(TENANT_HEADER) ?? '';
    const params = new URL(request.url).searchParams;
    const runId = params.get('runId');
    const { 0: client, 1: server } = new WebSocketPair();
    if (runId === null) {
      this.ctx.acceptWebSocket(server, [FLOW_VIEWERS]);
      this.viewerSockets = undefined;
      this.flowViewers.set(server, { sent: 0, acked: 0 });
      await this.announceFlowViewers(params.get('flowId') ?? '');
      return new Response(null, { status: 101, webSocket: client });
    }
    const run = this.find(tenantId, runId);
    if (!run) return new Response('no such run', { status: 404 });
    this.ctx.acceptWebSocket(server, [runViewers(runId)]);
    this.viewerSockets = undefined;
    let lastSeq = Math.max(0, Number(params.get('after')) || 0);
    for (let page = this.store.eventTexts(runId, lastSeq, 500); page.length > 0; page = this.store.eventTexts(runId, lastSeq, 500)) {
      for (const frame of page) server.send(frame);
      lastSeq += page.length;
    }
    server.serializeAttachment({ runId, lastSeq } satisfies RunViewer);
    if (isFinal(run.run.state.status)) server.close(1000, 'run finished');
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Tells the other shards that this flow has a viewer, so they forward their events here. */
  private async announceFlowViewers(flowId: string): Promise<void> {
    const shards = shardCount(this.env);
    await Promise.all(Array.from({ length: shards - 1 }, (_, i) => executorStub(this.env, flowId, i + 1).flowViewersJoined()));
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const acked = ackOf(message);
    if (acked === null || !this.ctx.getTags(ws).includes(FLOW_VIEWERS)) return;
    const state = this.flowViewerState(ws);
    // A viewer cannot acknowledge more than it was sent: an inflated ack must not switch the limit off.
    state.acked = Math.min(state.sent, Math.max(state.acked, acked));
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.flowViewers.delete(ws);
    this.viewerSockets = undefined;
    try {
      ws.close(code === 1005 ? 1000 : code, 'bye');
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.flowViewers.delete(ws);
    this.viewerSockets = undefined;
  }
}

/** An outbox entry as the D1 run index takes it. */
function toIndexEntry({ init, state, auditId }: OutboxEntry): RunIndexEntry {
  const { status, error, startedAt, finishedAt } = state;
  const flowId = executorOfRun(init.runId)!.flowId;
  return { ...init, flowId, status, error, startedAt, finishedAt, auditId };
}

function activeRun(
  init: RunInit,
  run: machine.RunSnapshot,
  definition: FlowDefinition,
  variables: Record<string, string>,
  env: Record<string, string>,
  config: FlowConfig | undefined,
): ActiveRun {
  return {
    init,
    run,
    definition,
    variables,
    env,
    config,
    secrets: undefined,
    looping: false,
    abort: new AbortController(),
    waiters: new Set(),
    regexBudget: { left: MAX_RUN_MATCH_COST },
  };
}

/**
 * The Run's steps: the main chain's blocks in order, each for_each followed
 * by the steps of its chain, item by item (those that ran).
 */
function stepList(blocks: readonly Block[], steps: ReadonlyMap<string, machine.StepState>): Step[] {
  const toStep = (block: Block, step: machine.StepState, iterations?: number[]): Step => ({
    blockId: block.id,
    type: block.type,
    ...(iterations ? { iteration: iterations.at(-1)! } : {}),
    ...(iterations && iterations.length > 1 ? { iterationPath: iterations } : {}),
    status: step.status,
    attempts: step.attempts,
    startedAt: step.startedAt,
    finishedAt: step.finishedAt,
    output: step.output,
    error: step.error,
  });
  const nested = new Map<string, Array<{ key: number[]; step: Step }>>(); // by top-level loop id
  const top = new Map<string, string>(); // nested block id -> its top-level loop
  const order = new Map<string, number>();
  for (const loop of blocks) {
    const chain = chainOf(loop);
    if (chain) for (const { block } of allBlocks(chain)) top.set(block.id, loop.id);
  }
  for (const [i, { block }] of allBlocks(blocks).entries()) order.set(block.id, i);
  const byId = new Map(allBlocks(blocks).map(({ block }) => [block.id, block]));
  for (const [key, step] of steps) {
    const at = key.indexOf('@');
    if (at < 0) continue;
    const block = byId.get(key.slice(0, at));
    if (!block) continue;
    const iterations = key
      .slice(at + 1)
      .split('.')
      .map(Number);
    const list = nested.get(top.get(block.id)!) ?? [];
    list.push({ key: [...iterations, order.get(block.id)!], step: toStep(block, step, iterations) });
    nested.set(top.get(block.id)!, list);
  }
  const byKey = (a: { key: number[] }, b: { key: number[] }) => {
    for (let i = 0; i < Math.max(a.key.length, b.key.length); i++)
      if ((a.key[i] ?? -1) !== (b.key[i] ?? -1)) return (a.key[i] ?? -1) - (b.key[i] ?? -1);
    return 0;
  };
  return blocks.flatMap((block) => [
    toStep(block, steps.get(block.id) ?? machine.PENDING_STEP),
    ...(nested.get(block.id) ?? []).sort(byKey).map((entry) => entry.step),
  ]);
}

/** How deep in a chain of flows starting flows a run is (1: not started by a flow). */
const flowDepth = (payload: Record<string, unknown>): number => (typeof payload.depth === 'number' ? payload.depth : 1);

/** The output of a run's last succeeded step (what a parent waiting on it gets). */
function lastOutput(run: Run): unknown {
  const done = (run.steps ?? []).filter((step) => step.status === 'succeeded');
  done.sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? ''));
  return done.at(-1)?.output ?? null;
}

/** A block's params rendered for its run, except those it takes as written (a nested chain). */
function renderParams(block: Block, spec: BlockSpec, context: TemplateContext, used: Set<string>): unknown {
  const params = block.params as Record<string, unknown>;
  if (!spec.unrendered?.length) return render(params, context, used);
  const kept = Object.fromEntries(spec.unrendered.filter((name) => name in params).map((name) => [name, params[name]]));
  const rest = Object.fromEntries(Object.entries(params).filter(([name]) => !(name in kept)));
  return { ...(render(rest, context, used) as Record<string, unknown>), ...kept };
}

/** Resolves with `then` after `ms`, or with a cancelled failure when `signal` aborts first. */
function sleepThen(ms: number, signal: AbortSignal, then: machine.StepOutcome): Promise<machine.StepOutcome> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve({ kind: 'failed', error: 'cancelled', output: null });
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(then);
      },
      Math.max(0, ms),
    );
    const onAbort = () => {
      clearTimeout(timer);
      resolve({ kind: 'failed', error: 'cancelled', output: null });
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Masked text cut at `max` characters, leaving no start of a secret at the cut. */
const truncate = (masker: Masker, text: string, max: number): string =>
  text.length > max ? `${masker.trimPartial(text.slice(0, max))}…` : text;
