/**
 * A flow executor: a long-lived Durable Object that runs the runs of one
 * flow (one of its `EXECUTOR_SHARDS` shards). It is a host of parts, each
 * owning its tables and reporting when it next needs the object awake:
 *
 * - `RunDriver` (driver.ts) drives runs through the engine's one
 *   interpreter (../machine), writing each transition before anything that
 *   follows from it leaves the object;
 * - `StepRunner` runs a step's block with only what it may touch;
 * - `ChildRuns` starts runs of other flows and looks at them;
 * - `RunStore`, `Snapshots`, `DedupeKeys`: runs, pinned configurations,
 *   dedupe keys of at-least-once triggers;
 * - `IndexOutbox` writes status changes to the D1 run index in batches;
 * - `ViewerHub` holds the live WebSockets of runs and of the flow.
 *
 * The host owns the RPC surface and the one alarm (the earliest of the
 * parts' wake times). It keeps the flow's configuration warm
 * (flow-config.ts), so a run of a warm flow starts with no D1 round trip.
 * One flow per executor: two flows' secrets never share an object. Secrets
 * are opened in memory only, never stored.
 */
import { DurableObject } from 'cloudflare:workers';
import { settings } from '../../config';
import type { Env } from '../../env';
import { FlowConfigCache, loadFlowConfig } from '../flow-config';
import type * as machine from '../machine';
import { placesOf } from '../machine/flow-index';
import { retentionMs } from '../retention';
import { executorOfRun } from '../run-ids';
import { isFinal, type Run } from '../types';
import { ChildRuns } from './child-runs';
import { DedupeKeys } from './dedupe';
import { RunDriver } from './driver';
import { IndexOutbox } from './index-outbox';
import { ExecutorOperations } from './operations';
import { type RerunSeed, seedOf } from './rerun';
import { type RunInit, RunStore } from './run-store';
import { runView } from './run-view';
import { ExecutorSchema } from './schema';
import { Snapshots } from './snapshots';
import { RunStarter, type StartRequest, type StartResult } from './starter';
import { StepRunner } from './step-runner';
import { ViewerHub } from './viewer-hub';

/** How long a running run may go without the executor looking at it. */
const WATCHDOG_MS = 10_000;
/** A step starts at most this often; more starts mean it keeps killing its object. */
const MAX_STEP_EXECUTIONS = 3;
/** The longest a cached flow configuration is trusted without an invalidation. */
const CONFIG_MAX_AGE_MS = 5 * 60_000;

/** Set by the Worker on a viewer's request once it has authorised it. */
export const TENANT_HEADER = 'x-powerflows-tenant';

export type { ExecutorStats } from './operations';
export type { StartRequest, StartResult } from './starter';

export type EventDelivery = { outcome: 'delivered'; run: Run } | { outcome: 'not_found' } | { outcome: 'conflict'; message: string };

export class FlowExecutor extends DurableObject<Env> {
  /** Which flow and shard this is, learnt from the first run id it sees (see `learn`). */
  private flowId: string | undefined;
  private shard = 0;
  private readonly schema: ExecutorSchema;
  private readonly runs: RunStore;
  private readonly snapshots: Snapshots;
  private readonly dedupe: DedupeKeys;
  private readonly config: FlowConfigCache;
  private readonly machine: machine.MachineConfig;
  readonly outbox: IndexOutbox;
  readonly viewers: ViewerHub;
  private readonly driver: RunDriver;
  private readonly starter: RunStarter;
  readonly counters = { runsStarted: 0, configLoads: 0 };
  /** When the alarm is set for (null: none; undefined: not read yet). */
  private armedAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.schema = new ExecutorSchema(ctx.storage);
    this.runs = new RunStore(this.schema);
    this.snapshots = new Snapshots(this.schema);
    this.dedupe = new DedupeKeys(this.schema);
    this.config = new FlowConfigCache((tenantId) => {
      this.counters.configLoads++;
      return loadFlowConfig(env, tenantId, this.flowId!);
    }, CONFIG_MAX_AGE_MS);
    this.machine = { watchdogMs: WATCHDOG_MS, retentionMs: retentionMs(env), maxExecutions: MAX_STEP_EXECUTIONS };
    this.outbox = new IndexOutbox(this.schema, env, (ref) => this.snapshots.get(ref));
    this.viewers = new ViewerHub(ctx, env, () => ({ flowId: this.flowId!, shard: this.shard }));
    const flowId = () => this.flowId!;
    const children = new ChildRuns(env, flowId);
    const steps = new StepRunner(env, flowId, this.config, {
      log: (live, at, level, message) => this.driver.log(live, at, level, message),
      retrying: (live, at, attempt, message) => this.driver.retrying(live, at, attempt, message),
      startFlow: (live, at, target, input) => children.start(live, at, target, input),
    });
    this.driver = new RunDriver({
      schema: this.schema,
      runs: this.runs,
      snapshots: this.snapshots,
      outbox: this.outbox,
      viewers: this.viewers,
      steps,
      children,
      config: this.machine,
      wakeBy: (at) => this.wakeBy(at),
    });
    this.starter = new RunStarter({
      env,
      schema: this.schema,
      runs: this.runs,
      snapshots: this.snapshots,
      dedupe: this.dedupe,
      outbox: this.outbox,
      driver: this.driver,
      config: this.config,
      counters: this.counters,
      view: (init, run) => this.view(init, run),
      localSeed: (tenantId, runId) => {
        if (executorOfRun(runId)?.flowId !== this.flowId || executorOfRun(runId)?.shard !== this.shard) return undefined;
        const live = this.find(tenantId, runId, false);
        return live ? seedOf(live) : null;
      },
    });
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
   * Starts a run of the flow's current version (or re-runs one, see
   * starter.ts). With `waitMs`, answers once it has ended or that time has
   * passed.
   */
  async start(request: StartRequest): Promise<StartResult> {
    if (!this.learn(request.runId)) return { outcome: 'flow_not_found' };
    return this.starter.start(request);
  }

  /** What a re-run of this run starts from, or null when this executor holds no run of that id in the tenant. */
  async rerunSeed(tenantId: string, runId: string): Promise<RerunSeed | null> {
    const live = this.find(tenantId, runId, false);
    return live ? seedOf(live) : null;
  }

  /** The run with its steps, or null when this executor holds no run of that id in the tenant. */
  async getRun(tenantId: string, runId: string): Promise<Run | null> {
    const live = this.find(tenantId, runId);
    return live ? this.view(live.init, live.run) : null;
  }

  async hasRun(tenantId: string, runId: string): Promise<boolean> {
    return this.find(tenantId, runId) !== null;
  }

  /** Events after `after`, in `seq` order, and whether the run has ended (no more will come). */
  async events(tenantId: string, runId: string, after: number, limit: number) {
    const live = this.find(tenantId, runId);
    if (!live) return null;
    return { items: this.runs.events(runId, after, limit), final: isFinal(live.run.state.status) };
  }

  /**
   * Cancels a queued, running or waiting run: waits end at once, steps in
   * flight are interrupted (their requests or backoffs aborted), and the run
   * ends `cancelled` once none runs. A finished run is left as it is.
   */
  async cancelRun(tenantId: string, runId: string): Promise<Run | null> {
    // Read without driving: an orphaned run's interrupted steps must not start once more.
    const live = this.find(tenantId, runId, false);
    if (!live) return null;
    this.driver.cancel(live);
    return this.view(live.init, live.run);
  }

  /** Makes sure a run that should be making progress is (the scheduled sweep's nudge). */
  async resume(tenantId: string, runId: string): Promise<void> {
    this.find(tenantId, runId);
  }

  /** A run that `runId` started (trigger_flow) has ended: a step waiting for it goes on now. */
  async childEnded(tenantId: string, runId: string, childRunId: string): Promise<void> {
    const live = this.find(tenantId, runId, false);
    if (live && !isFinal(live.run.state.status)) this.driver.childEnded(live, childRunId);
  }

  /**
   * An event for a run's waiting wait_for_event step. `tenantId` null: a
   * callback URL whose MAC the Worker has checked (it names the run, not
   * the tenant). A run that is not there is `not_found`; a step not waiting
   * (not yet, or no more) is `conflict`.
   */
  async deliverEvent(
    tenantId: string | null,
    runId: string,
    target: { blockId: string; items?: number[] },
    data: unknown,
    via: 'api' | 'callback',
  ): Promise<EventDelivery> {
    const tenant = tenantId ?? (this.learn(runId) ? this.runs.tenantOf(runId) : null);
    const live = tenant === null ? null : this.find(tenant, runId, false);
    if (!live) return { outcome: 'not_found' };
    if (!placesOf(live.definition.blocks).has(target.blockId)) return { outcome: 'not_found' };
    if (isFinal(live.run.state.status)) return { outcome: 'conflict', message: `the run has ended ${live.run.state.status}` };
    const refused = this.driver.deliverEvent(live, target.blockId, target.items, data, via);
    if (refused) return { outcome: 'conflict', message: refused };
    return { outcome: 'delivered', run: this.view(live.init, live.run) };
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
    for (const live of this.driver.live()) {
      live.config = undefined;
      live.secrets = undefined;
    }
  }

  /** Shard 0: sends other shards' events (JSON frames) to the flow's viewers; answers how many got them. */
  async publish(frames: string[]): Promise<number> {
    return this.viewers.toFlowViewers(frames);
  }

  /** Shards other than 0: shard 0 has flow viewers again, so forward events to it. */
  async flowViewersJoined(): Promise<void> {
    this.viewers.flowViewersJoined();
  }

  /** Operations for tests and the benchmark (write the index now, counters, viewers): development and tests only. */
  async operations(): Promise<ExecutorOperations> {
    if (settings(this.env).ENVIRONMENT === 'production') throw new Error('executor operations are not available in production');
    return new ExecutorOperations(this);
  }

  // ---- the alarm ---------------------------------------------------------------

  override async alarm(): Promise<void> {
    this.armedAt = null;
    const now = Date.now();
    for (const due of this.runs.runsToLookAt(now)) {
      if (!isFinal(due.status) && this.learn(due.id)) this.driver.lookAt(due.tenantId, due.id, now);
    }
    if (this.runs.forgetExpired(now).length > 0) {
      // Only forgotten runs can leave a snapshot unused (reading every run's pins on every alarm would not scale).
      const refs = (await this.config.peek())?.refs;
      this.snapshots.forgetUnused(this.runs.pinnedSnapshots(), refs ? [refs.definition, refs.variables, refs.env] : []);
    }
    this.dedupe.forgetExpired(now);
    if (this.outbox.pending()) await this.outbox.flush();
    this.rearm(now);
  }

  /** Makes sure the alarm rings no later than `at`. */
  private wakeBy(at: number): void {
    if (typeof this.armedAt === 'number' && this.armedAt <= at) return;
    this.armedAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  /** One alarm for every part: the earliest run wake, dedupe expiry, an index write still owed. */
  private rearm(now: number): void {
    const times = [this.runs.nextWake(), this.dedupe.nextWake(), this.outbox.nextWake(now)].filter((t): t is number => t !== null);
    if (times.length === 0) {
      this.armedAt = null;
      void this.ctx.storage.deleteAlarm();
    } else {
      this.armedAt = undefined;
      this.wakeBy(Math.max(now + 1, Math.min(...times)));
    }
  }

  // ---- live viewers ------------------------------------------------------------

  /**
   * A viewer's WebSocket, already authorised by the Worker (which passes the
   * tenant). `?runId=…&after=…`: the run's stored events after `after`, then
   * live ones. Without `runId` (shard 0): every event of the flow from now on.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket', { status: 426 });
    const tenantId = request.headers.get(TENANT_HEADER) ?? '';
    const params = new URL(request.url).searchParams;
    const runId = params.get('runId');
    if (runId === null) {
      const client = await this.viewers.acceptFlowViewer(params.get('flowId') ?? '');
      return new Response(null, { status: 101, webSocket: client });
    }
    const live = this.find(tenantId, runId);
    if (!live) return new Response('no such run', { status: 404 });
    const after = Math.max(0, Number(params.get('after')) || 0);
    const client = this.viewers.acceptRunViewer(
      runId,
      after,
      (seq) => this.runs.eventTexts(runId, seq, 500),
      isFinal(live.run.state.status),
    );
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.viewers.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.viewers.closed(ws, code);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.viewers.closed(ws);
  }

  // ---- helpers -------------------------------------------------------------------

  heldRuns(): string[] {
    return [...this.driver.live()].map((live) => live.init.runId);
  }

  private find(tenantId: string, runId: string, drive = true) {
    return this.learn(runId) ? this.driver.find(tenantId, runId, drive) : null;
  }

  private view(init: RunInit, run: machine.RunSnapshot): Run {
    return runView(init, this.flowId!, run);
  }
}
