/**
 * One Durable Object per run. It executes the pinned block chain step by
 * step and is the single writer of the run's state and event log, so `seq`
 * is trivially ordered.
 *
 * Durability: before a step it records `running`; after it, the (masked)
 * output, the next block and the events in one synchronous write. A watchdog
 * alarm resumes a run whose object was evicted or crashed mid-step; the step
 * that was running then runs again (attempt + 1), steps that finished never
 * do. A delay is an alarm, not a timer. Secrets are opened in memory only,
 * again after every restart.
 */
import { DurableObject } from 'cloudflare:workers';
import { BLOCKS } from '../blocks/registry';
import { StepError, type BlockSpec, type StepContext, type StepResult } from '../blocks/types';
import { openFlowSecrets, openSealedMaterial, type OpenedSecrets } from '../crypto/vault';
import { database } from '../db/client';
import { updateRunIndex } from '../db/runs';
import type { TenantScope } from '../db/scope';
import type { Env } from '../env';
import type { Block } from '../flows/definition';
import { edgesOf, successor } from '../flows/graph';
import { referencedSecrets, render, type TemplateContext } from '../flows/templates';
import { HubForwarder } from '../live/hub-forwarder';
import type { FlowHub } from './flow-hub';
import { retentionMs } from './retention';
import { RunStore } from './run-store';
import type { RunInputs } from './start';
import { isFinal, type LogLevel, type NewEvent, type Run, type RunEvent, type RunInit, type RunStatus } from './types';

/** How often a running run's alarm checks that its step loop is alive. */
const WATCHDOG_MS = 10_000;
/** When a run that is still going reports `running` to the D1 index. */
const STILL_RUNNING_AFTER_MS = 1_000;
/** Retry delay for reporting a status change to the D1 index. */
const INDEX_RETRY_MS = 5_000;
const MAX_MESSAGE_CHARS = 16 * 1024;
/**
 * How often a step may start before the run gives up on it. A step runs once
 * normally; more starts mean the object died during it (a deploy, an
 * eviction, or the step itself exhausting the object's limits), and a step
 * that always kills its object must not be retried forever.
 */
const MAX_STEP_EXECUTIONS = 3;
const MAX_ERROR_CHARS = 4 * 1024;

/** Set by the Worker on a viewer's request once it has authorised it. */
export const TENANT_HEADER = 'x-powerflows-tenant';

/** A live viewer of this run, as attached to its hibernating WebSocket. */
interface RunViewer {
  tenantId: string;
  lastSeq: number;
}

export class RunObject extends DurableObject<Env> {
  private readonly store: RunStore;
  /** True while this instance's step loop runs; a fresh instance starts false. */
  private looping = false;
  private secrets: Promise<OpenedSecrets> | undefined;
  private cancel = new AbortController();
  private readonly endWaiters = new Set<() => void>();
  private forwarder: HubForwarder | undefined;
  private hub: DurableObjectStub<FlowHub> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RunStore(ctx.storage);
  }

  // ---- RPC ---------------------------------------------------------------

  /**
   * Creates the run (idempotent: a retried call changes nothing) and starts
   * it; with `waitMs`, answers once it has ended or that time has passed. The
   * sealed material is kept in memory only; after a restart the run reads it
   * again.
   */
  async start(init: RunInit, inputs: RunInputs, waitMs = 0): Promise<Run> {
    if (!this.store.exists()) {
      this.store.create(init, inputs.variables);
      await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_MS);
      if (inputs.material) this.secrets = openSealedMaterial(this.env, init.tenantId, init.flowId, inputs.material);
    }
    this.ensureRunning();
    await this.untilEnd(waitMs);
    return this.store.view();
  }

  /** The run with its steps, or null when this object holds no run of the tenant. */
  async getRun(tenantId: string): Promise<Run | null> {
    if (!this.owns(tenantId)) return null;
    this.ensureRunning();
    return this.store.view();
  }

  /** Events after `after`, in `seq` order, and whether the run has ended (no more will come). */
  async events(tenantId: string, after: number, limit: number): Promise<{ items: RunEvent[]; final: boolean } | null> {
    if (!this.owns(tenantId)) return null;
    return { items: this.store.events(after, limit), final: isFinal(this.store.state()!.status) };
  }

  /** Resolves once the run has ended, or after `timeoutMs`. */
  private async untilEnd(timeoutMs: number): Promise<void> {
    if (timeoutMs <= 0 || isFinal(this.store.state()!.status)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.endWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.endWaiters.add(done);
    });
  }

  /**
   * Cancels a running or waiting run: a pending delay ends at once; a
   * running step is interrupted (its request or backoff is aborted) and the
   * run ends at that step boundary. A finished run is left as it is.
   */
  async cancelRun(tenantId: string): Promise<Run | null> {
    if (!this.owns(tenantId)) return null;
    const state = this.store.state()!;
    if (isFinal(state.status)) return this.store.view();
    this.store.update({ cancelRequested: true });
    if (state.status === 'waiting' && state.cursor) {
      this.failStep(state.cursor, 'cancelled', undefined);
      await this.finish('cancelled', null);
    } else {
      this.cancel.abort();
      this.ensureRunning();
    }
    return this.store.view();
  }

  /** Wakes a run that should be making progress (used by the scheduled sweep). */
  async resume(): Promise<void> {
    this.ensureRunning();
  }

  override async alarm(): Promise<void> {
    const state = this.store.state();
    if (!state) return;
    if (isFinal(state.status)) {
      if (!state.indexSynced) await this.syncIndex();
      else if (Date.now() >= Date.parse(state.finishedAt!) + retentionMs(this.env)) await this.store.destroy();
      else await this.ctx.storage.setAlarm(Date.parse(state.finishedAt!) + retentionMs(this.env));
      return;
    }
    if (!state.indexSynced) await this.syncIndex();
    this.ensureRunning();
    const current = this.store.state()!;
    if (!isFinal(current.status)) {
      await this.ctx.storage.setAlarm(current.status === 'waiting' ? current.wakeAt! : Date.now() + WATCHDOG_MS);
    }
  }

  // ---- the step loop -----------------------------------------------------

  /** A run still going after a second shows `running` (or `waiting`) in the index. */
  private async stillRunning(): Promise<void> {
    const state = this.store.state();
    if (state && !isFinal(state.status) && !state.indexSynced) await this.syncIndex();
  }

  private owns(tenantId: string): boolean {
    return this.store.exists() && this.store.init().tenantId === tenantId;
  }

  /** Starts the step loop unless it is running, waiting for its alarm, or over. */
  private ensureRunning(): void {
    const state = this.store.state();
    if (!state || isFinal(state.status) || this.looping) return;
    if (state.status === 'waiting') {
      if (state.wakeAt !== null && Date.now() >= state.wakeAt) this.wake();
      return;
    }
    this.looping = true;
    void this.loop()
      .catch((err) => console.error('run loop stopped', this.store.init().runId, err))
      .finally(() => {
        this.looping = false;
      });
  }

  private async loop(): Promise<void> {
    if (this.store.state()!.status === 'queued') {
      this.store.update({ status: 'running', startedAt: new Date().toISOString(), indexSynced: false });
      this.emit({ type: 'run', status: 'running' });
      // Most runs end within a second: then the final index update carries startedAt too,
      // one D1 write instead of two.
      setTimeout(() => void this.stillRunning(), STILL_RUNNING_AFTER_MS);
    }
    for (;;) {
      const state = this.store.state()!;
      if (isFinal(state.status) || state.status === 'waiting') return;
      if (state.cancelRequested) return this.finish('cancelled', null);
      if (state.cursor === null) return this.finish('succeeded', null);
      await this.runStep(state.cursor);
    }
  }

  private async runStep(blockId: string): Promise<void> {
    const blocks = this.store.init().definition.blocks;
    const index = blocks.findIndex((b) => b.id === blockId);
    const block = blocks[index]!;
    const step = this.store.step(blockId)!;
    const attempt = step.attempts + 1;
    const executions = this.store.countExecution(blockId);
    if (executions > MAX_STEP_EXECUTIONS) {
      this.failStep(blockId, `the step was interrupted ${MAX_STEP_EXECUTIONS} times; giving up`, undefined);
      return this.finish('failed', `step "${blockId}" failed: it was interrupted ${MAX_STEP_EXECUTIONS} times`);
    }
    this.store.transaction(() => {
      this.store.updateStep(blockId, {
        status: 'running',
        attempts: attempt,
        startedAt: step.startedAt ?? new Date().toISOString(),
      });
      this.emit({ type: 'step', blockId, status: 'running', attempt });
    });

    let secrets: OpenedSecrets;
    let result: StepResult;
    try {
      secrets = await this.openSecrets();
    } catch (err) {
      this.failStep(blockId, `cannot open the flow's secrets: ${errorMessage(err)}`, undefined);
      return this.finish('failed', `step "${blockId}" failed: cannot open the flow's secrets`);
    }
    try {
      const used = new Set<string>();
      const params = render(block.params, this.templateContext(secrets), used);
      result = await BLOCKS[block.type].run(params as never, this.stepContext(blockId, secrets, used));
    } catch (err) {
      result = { output: err instanceof StepError ? err.output : null, failed: errorMessage(err) };
    }

    const masker = secrets.masker;
    const output = masker.maskValue(result.output ?? null);
    if (result.failed !== undefined) {
      const cancelled = this.store.state()!.cancelRequested;
      const error = truncate(masker.mask(cancelled ? 'cancelled' : result.failed), MAX_ERROR_CHARS);
      this.failStep(blockId, error, output);
      return this.finish(cancelled ? 'cancelled' : 'failed', cancelled ? null : `step "${blockId}" failed: ${error}`);
    }
    if (result.sleepUntil !== undefined) {
      this.store.transaction(() => {
        this.store.updateStep(blockId, { output });
        this.store.update({ status: 'waiting', wakeAt: result.sleepUntil!, indexSynced: false });
        this.emit({ type: 'run', status: 'waiting' });
      });
      await this.ctx.storage.setAlarm(result.sleepUntil);
      void this.syncIndex();
      return;
    }
    this.completeStep(index, output);
  }

  /** Records a finished step, moves the cursor on and marks the branch not taken as skipped: one write. */
  private completeStep(index: number, output: unknown): void {
    const blocks = this.store.init().definition.blocks;
    const block = blocks[index]!;
    const spec: BlockSpec = BLOCKS[block.type];
    const branch = spec.edge?.(output);
    const next = successor(blocks, index, branch ?? 'next');
    const skipped = branch ? notTaken(blocks, index, branch) : [];
    this.store.transaction(() => {
      const attempt = this.store.step(block.id)!.attempts;
      this.store.updateStep(block.id, { status: 'succeeded', output, finishedAt: new Date().toISOString() });
      this.emit({ type: 'step', blockId: block.id, status: 'succeeded', attempt });
      for (const id of skipped) this.skipStep(id);
      this.store.update({ cursor: next });
    });
  }

  /** A delay's alarm rang: the delay step succeeds and the chain goes on. */
  private wake(): void {
    const state = this.store.state()!;
    const blocks = this.store.init().definition.blocks;
    const index = blocks.findIndex((b) => b.id === state.cursor);
    this.store.transaction(() => {
      this.store.update({ status: 'running', wakeAt: null, indexSynced: false });
      this.emit({ type: 'run', status: 'running' });
      this.completeStep(index, this.store.step(state.cursor!)!.output);
    });
    void this.syncIndex();
    this.ensureRunning();
  }

  private failStep(blockId: string, error: string, output: unknown): void {
    this.store.transaction(() => {
      const attempt = this.store.step(blockId)!.attempts;
      this.store.updateStep(blockId, {
        status: 'failed',
        error,
        finishedAt: new Date().toISOString(),
        ...(output !== undefined ? { output } : {}),
      });
      this.emit({ type: 'step', blockId, status: 'failed', attempt, error });
    });
  }

  private skipStep(blockId: string): void {
    const step = this.store.step(blockId);
    if (step?.status !== 'pending') return;
    this.store.updateStep(blockId, { status: 'skipped' });
    this.emit({ type: 'step', blockId, status: 'skipped', attempt: 0 });
  }

  /** Ends the run: remaining steps skipped, final event, index updated, waiters released. */
  private async finish(status: RunStatus, error: string | null): Promise<void> {
    this.store.transaction(() => {
      for (const id of this.store.pendingSteps()) this.skipStep(id);
      this.store.update({ status, error, finishedAt: new Date().toISOString(), wakeAt: null, indexSynced: false });
      this.emit({ type: 'run', status, ...(error ? { error } : {}) });
    });
    // The index first, so that whoever waited for the end also finds it there (read your writes).
    await this.syncIndex();
    for (const release of [...this.endWaiters]) release();
    const state = this.store.state()!;
    await this.ctx.storage.setAlarm(state.indexSynced ? Date.now() + retentionMs(this.env) : Date.now() + INDEX_RETRY_MS);
  }

  // ---- what a step sees --------------------------------------------------

  /** The run's secrets, opened once per instance (from the material handed over, or read again after a restart). */
  private openSecrets(): Promise<OpenedSecrets> {
    if (!this.secrets) {
      const init = this.store.init();
      const names = referencedSecrets(init.definition.blocks.map((b) => b.params));
      this.secrets = openFlowSecrets(this.env, this.scope(), init.flowId, names);
      this.secrets.catch(() => (this.secrets = undefined)); // the next step tries again
    }
    return this.secrets;
  }

  private templateContext(secrets: OpenedSecrets): TemplateContext {
    const init = this.store.init();
    return {
      trigger: init.payload,
      steps: this.store.outputs(),
      variables: this.store.variables(),
      secrets: secrets.values,
      run: { id: init.runId },
      flow: { id: init.flowId, name: init.definition.name },
    };
  }

  private stepContext(blockId: string, secrets: OpenedSecrets, used: ReadonlySet<string>): StepContext {
    const init = this.store.init();
    if (this.cancel.signal.aborted) this.cancel = new AbortController();
    return {
      env: this.env,
      tenantId: init.tenantId,
      runId: init.runId,
      flowId: init.flowId,
      signal: this.cancel.signal,
      allowPrivateNetwork: this.env.ALLOW_PRIVATE_EGRESS === 'true',
      secrets: { used, allowedHosts: secrets.allowedHosts, masker: secrets.masker },
      log: (level: LogLevel, message: string) => {
        this.emit({ type: 'log', blockId, level, message: truncate(secrets.masker.mask(message), MAX_MESSAGE_CHARS) });
      },
      retrying: (attempt: number, reason: string, delayMs: number) => {
        this.store.transaction(() => {
          this.store.updateStep(blockId, { attempts: attempt });
          this.emit({
            type: 'log',
            blockId,
            level: 'warn',
            message: secrets.masker.mask(`${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt})`),
          });
          this.emit({ type: 'step', blockId, status: 'running', attempt });
        });
      },
    };
  }

  // ---- events and the index ----------------------------------------------

  /** Stores an event with the next `seq` and publishes it. Callers pass only masked text. */
  private emit(event: NewEvent): RunEvent {
    const stored = this.store.append(event);
    this.publish(stored);
    return stored;
  }

  /**
   * Fans an event out to this run's WebSockets (each gets every seq once, in
   * order; the final run event closes them with 1000) and, batched, to the
   * flow's hub. Nothing here waits on a viewer.
   */
  private publish(event: RunEvent): void {
    const final = event.type === 'run' && isFinal(event.status);
    const frame = JSON.stringify(event);
    for (const ws of this.ctx.getWebSockets()) {
      const viewer = ws.deserializeAttachment() as RunViewer | null;
      if (!viewer || event.seq <= viewer.lastSeq) continue;
      try {
        ws.send(frame);
        ws.serializeAttachment({ ...viewer, lastSeq: event.seq } satisfies RunViewer);
        if (final) ws.close(1000, 'run finished');
      } catch {
        // a closed socket: its close handler cleans up
      }
    }
    this.hubForwarder().push(event, final);
  }

  private hubForwarder(): HubForwarder {
    if (!this.forwarder) {
      const hub = this.flowHub();
      this.forwarder = new HubForwarder((events) => hub.publish(events));
    }
    return this.forwarder;
  }

  /** The flow's hub, one stub per instance (calls through one stub arrive in order). */
  private flowHub(): DurableObjectStub<FlowHub> {
    if (!this.hub) {
      const hubs = this.env.FLOW_HUBS;
      this.hub = hubs.get(hubs.idFromName(this.store.init().flowId));
    }
    return this.hub;
  }

  // ---- live viewers ------------------------------------------------------

  /**
   * A viewer's WebSocket (already authorised by the Worker, which passes the
   * tenant): replays the stored events after `after`, then streams new ones.
   * The replay is synchronous, so no event can slip in between it and the
   * live stream: no gap, no duplicate.
   */
  override async fetch(request: Request): Promise<Response> {
    const tenantId = request.headers.get(TENANT_HEADER) ?? '';
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket', { status: 426 });
    if (!this.owns(tenantId)) return new Response('no such run', { status: 404 });
    const after = Math.max(0, Number(new URL(request.url).searchParams.get('after')) || 0);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    let lastSeq = after;
    for (let page = this.store.events(lastSeq, 500); page.length > 0; page = this.store.events(lastSeq, 500)) {
      for (const event of page) server.send(JSON.stringify(event));
      lastSeq = page[page.length - 1]!.seq;
    }
    server.serializeAttachment({ tenantId, lastSeq } satisfies RunViewer);
    if (isFinal(this.store.state()!.status)) server.close(1000, 'run finished');
    this.ensureRunning();
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 ? 1000 : code, 'bye');
    } catch {
      // already closed
    }
  }

  /**
   * Reports the current status to the D1 run index, batched with other runs'
   * through the flow's hub; if that fails, directly; if that fails too, the
   * alarm retries.
   */
  private async syncIndex(): Promise<void> {
    const state = this.store.state()!;
    const init = this.store.init();
    const fields = { status: state.status, startedAt: state.startedAt, finishedAt: state.finishedAt, error: state.error };
    try {
      await this.flowHub().recordIndex({ tenantId: init.tenantId, runId: init.runId, fields });
    } catch {
      try {
        await updateRunIndex(this.scope(), init.runId, fields);
      } catch (err) {
        console.error('run index update failed', init.runId, errorMessage(err));
        return;
      }
    }
    if (this.store.state()!.status === state.status) this.store.update({ indexSynced: true });
  }

  private scope(): TenantScope {
    const init = this.store.init();
    return { db: database(this.env.DB), tenantId: init.tenantId, actor: `run:${init.runId}` };
  }

}

/** Blocks reachable only through the branch a condition did not take. */
function notTaken(blocks: readonly Block[], index: number, taken: 'then' | 'else'): string[] {
  const untaken = taken === 'then' ? 'else' : 'then';
  const viaTaken = reachable(blocks, successor(blocks, index, taken));
  return [...reachable(blocks, successor(blocks, index, untaken))].filter((id) => !viaTaken.has(id));
}

function reachable(blocks: readonly Block[], start: string | null): Set<string> {
  const seen = new Set<string>();
  const stack = start ? [start] : [];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const i = blocks.findIndex((b) => b.id === id);
    for (const edge of edgesOf(blocks[i]!)) {
      const next = successor(blocks, i, edge);
      if (next) stack.push(next);
    }
  }
  return seen;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const truncate = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text);
