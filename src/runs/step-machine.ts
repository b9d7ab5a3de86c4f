/**
 * The run engine's pure core. Given a run as it stands (its state and its
 * steps) and what just happened (the run was started, a step started or
 * settled, a delay ended, someone cancelled, the watchdog looked), it
 * answers with a transition: the run's next state, the steps that changed
 * and the events to record, already numbered. No storage, no I/O, no clock:
 * the caller passes `now`, persists the transition in one write, then acts
 * on `nextAction`.
 *
 * Invariants it keeps, whatever the caller does between two transitions:
 * `seq` rises by one per event within a run; a step that has finished is
 * never started again; a step interrupted mid-run (its object died) starts
 * again as its next attempt, at most `maxExecutions` times.
 */
import type { Block } from '../flows/definition';
import { notTaken, target } from '../flows/graph';
import { isFinal, type LogLevel, type NewEvent, type RunEvent, type RunStatus, type StepStatus } from './types';

export interface MachineConfig {
  /** How long a running run may go without the executor looking at it. */
  watchdogMs: number;
  /** How long a finished run is kept before it is forgotten. */
  retentionMs: number;
  /** How often one step may start before the run gives up on it (a step that kills its object). */
  maxExecutions: number;
}

/** The mutable part of a run. */
export interface RunState {
  status: RunStatus;
  /** The block that runs (or is running) next; null when the chain has ended. */
  cursor: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  /**
   * The next time the executor must look at this run (epoch ms): at once
   * when queued, the watchdog while running, a delay's end while waiting,
   * the end of retention once finished. The executor's one alarm is the
   * earliest of these over all its runs.
   */
  wakeAt: number;
  cancelRequested: boolean;
  /** The `seq` of the last event recorded. */
  lastSeq: number;
}

export interface StepState {
  status: StepStatus;
  attempts: number;
  /** How often the step has been started, including starts interrupted by a crash. */
  executions: number;
  startedAt: string | null;
  finishedAt: string | null;
  output: unknown;
  error: string | null;
}

/** A run as the machine sees it. */
export interface RunSnapshot {
  runId: string;
  /** The pinned version's blocks. */
  blocks: readonly Block[];
  state: RunState;
  /** Steps that have left `pending`; a block without an entry is pending. */
  steps: ReadonlyMap<string, StepState>;
}

export interface Transition {
  state: RunState;
  /** Only the steps that changed, as they are now. */
  steps: Map<string, StepState>;
  events: RunEvent[];
}

/** How a step ended, as the executor reports it (output and error already masked). */
export type StepOutcome =
  | { kind: 'succeeded'; output: unknown; edge?: string | undefined }
  | { kind: 'failed'; error: string; output: unknown }
  | { kind: 'sleeping'; output: unknown; until: number };

/** What the executor should do next with a run. */
export type NextAction =
  | { type: 'begin' }
  | { type: 'step'; blockId: string }
  | { type: 'finish'; status: 'succeeded' | 'cancelled' }
  | { type: 'wake' }
  | { type: 'sleep'; until: number }
  | { type: 'none' };

export const PENDING_STEP: StepState = Object.freeze({
  status: 'pending',
  attempts: 0,
  executions: 0,
  startedAt: null,
  finishedAt: null,
  output: null,
  error: null,
});

/** A new run's state: queued, due at once. */
export function newRunState(blocks: readonly Block[], now: number): RunState {
  return {
    status: 'queued',
    cursor: blocks[0]?.id ?? null,
    startedAt: null,
    finishedAt: null,
    error: null,
    wakeAt: now,
    cancelRequested: false,
    lastSeq: 0,
  };
}

export function nextAction(run: RunSnapshot, now: number): NextAction {
  const { state } = run;
  if (isFinal(state.status)) return { type: 'none' };
  if (state.status === 'queued') return { type: 'begin' };
  if (state.status === 'waiting') return now >= state.wakeAt ? { type: 'wake' } : { type: 'sleep', until: state.wakeAt };
  if (state.cancelRequested) return { type: 'finish', status: 'cancelled' };
  if (state.cursor === null) return { type: 'finish', status: 'succeeded' };
  return { type: 'step', blockId: state.cursor };
}

/** queued → running. */
export function begin(run: RunSnapshot, config: MachineConfig, now: number): Transition {
  const draft = new Draft(run, now);
  draft.state.status = 'running';
  draft.state.startedAt = draft.iso;
  draft.state.wakeAt = now + config.watchdogMs;
  draft.emit({ type: 'run', status: 'running' });
  return draft.done();
}

/**
 * Starts the step at the cursor as its next attempt, or fails the run when
 * that step has already been started `maxExecutions` times.
 */
export function startStep(run: RunSnapshot, config: MachineConfig, now: number): Transition {
  const blockId = run.state.cursor!;
  const draft = new Draft(run, now);
  const step = draft.step(blockId);
  if (step.executions >= config.maxExecutions) {
    const error = `the step was interrupted ${config.maxExecutions} times; giving up`;
    draft.failStep(blockId, error);
    draft.finish(config, 'failed', `step "${blockId}" failed: it was interrupted ${config.maxExecutions} times`);
    return draft.done();
  }
  const attempt = step.attempts + 1;
  draft.setStep(blockId, {
    status: 'running',
    attempts: attempt,
    executions: step.executions + 1,
    startedAt: step.startedAt ?? draft.iso,
  });
  draft.emit({ type: 'step', blockId, status: 'running', attempt });
  return draft.done();
}

/** A running step tries again (an HTTP retry): its attempt count, a warning and a step event. */
export function retryStep(run: RunSnapshot, now: number, attempt: number, message: string, at: StepAt = mainStep(run)): Transition {
  const draft = new Draft(run, now);
  draft.setStep(at.key, { attempts: attempt });
  draft.emit({ type: 'log', blockId: at.blockId, level: 'warn', message, ...iterationOf(at) });
  draft.emit({ type: 'step', blockId: at.blockId, status: 'running', attempt, ...iterationOf(at) });
  return draft.done();
}

/** A log line of a running step (already masked). */
export function logLine(run: RunSnapshot, now: number, level: LogLevel, message: string, at: StepAt = mainStep(run)): Transition {
  const draft = new Draft(run, now);
  draft.emit({ type: 'log', blockId: at.blockId, level, message, ...iterationOf(at) });
  return draft.done();
}

/**
 * Which step: a block of the main chain (its key is its id), or a block of
 * a for_each chain for one item (key `<blockId>@<outer index>.<index>`).
 */
export interface StepAt {
  key: string;
  blockId: string;
  /** For a step of a for_each chain: the indexes of the items, outer loop first. */
  iterations?: readonly number[];
}

const mainStep = (run: RunSnapshot): StepAt => ({ key: run.state.cursor!, blockId: run.state.cursor! });

export const nestedStep = (blockId: string, iterations: readonly number[]): StepAt => ({
  key: `${blockId}@${iterations.join('.')}`,
  blockId,
  iterations,
});

const iterationOf = (at: StepAt): { iteration?: number } =>
  at.iterations?.length ? { iteration: at.iterations[at.iterations.length - 1]! } : {};

/** A step of a for_each chain starts (as its next attempt). */
export function startNested(run: RunSnapshot, now: number, at: StepAt): Transition {
  const draft = new Draft(run, now);
  const step = draft.step(at.key);
  const attempt = step.attempts + 1;
  draft.setStep(at.key, { status: 'running', attempts: attempt, executions: step.executions + 1, startedAt: step.startedAt ?? draft.iso });
  draft.emit({ type: 'step', blockId: at.blockId, status: 'running', attempt, ...iterationOf(at) });
  return draft.done();
}

/** A step of a for_each chain ended: it keeps its output or error; the loop decides where its chain goes. */
export function settleNested(
  run: RunSnapshot,
  now: number,
  at: StepAt,
  outcome: { ok: true; output: unknown } | { ok: false; error: string; output: unknown },
): Transition {
  const draft = new Draft(run, now);
  const status = outcome.ok ? 'succeeded' : 'failed';
  draft.setStep(at.key, { status, output: outcome.output, error: outcome.ok ? null : outcome.error, finishedAt: draft.iso });
  draft.emit({
    type: 'step',
    blockId: at.blockId,
    status,
    attempt: draft.step(at.key).attempts,
    ...(outcome.ok ? {} : { error: outcome.error }),
    ...iterationOf(at),
  });
  return draft.done();
}

/**
 * The running step ended. Succeeded: its output is kept, the cursor moves
 * along the branch taken, and blocks reachable only through the branch not
 * taken are skipped. Failed: the run fails (or ends cancelled, when a cancel
 * interrupted the step). Sleeping: the run waits until `until`, unless a
 * cancel came meanwhile: then it ends cancelled at once.
 */
export function settleStep(run: RunSnapshot, config: MachineConfig, now: number, outcome: StepOutcome): Transition {
  const blockId = run.state.cursor!;
  const draft = new Draft(run, now);
  switch (outcome.kind) {
    case 'failed': {
      const cancelled = run.state.cancelRequested;
      const error = cancelled ? 'cancelled' : outcome.error;
      draft.failStep(blockId, error, outcome.output);
      const handler = cancelled ? undefined : run.blocks.find((b) => b.id === blockId)?.onError;
      // Handled: the run goes on at the handler, which reads the failure as {{error.…}}.
      if (handler) draft.state.cursor = handler;
      else draft.finish(config, cancelled ? 'cancelled' : 'failed', cancelled ? null : `step "${blockId}" failed: ${error}`);
      break;
    }
    case 'sleeping':
      if (run.state.cancelRequested) {
        draft.failStep(blockId, 'cancelled', outcome.output);
        draft.finish(config, 'cancelled', null);
        break;
      }
      draft.setStep(blockId, { output: outcome.output });
      draft.state.status = 'waiting';
      draft.state.wakeAt = outcome.until;
      draft.emit({ type: 'run', status: 'waiting' });
      break;
    case 'succeeded':
      draft.succeedStep(blockId, outcome.output, outcome.edge);
      break;
  }
  return draft.done();
}

/** A waiting run is settled by what it waited for (another run's end): it runs again, and the step ends with `outcome`. */
export function wakeWith(run: RunSnapshot, config: MachineConfig, now: number, outcome: StepOutcome): Transition {
  const woke = wakeOnly(run, config, now);
  const settled = settleStep(applyTransition(run, woke), config, now, outcome);
  return { state: settled.state, steps: new Map([...woke.steps, ...settled.steps]), events: [...woke.events, ...settled.events] };
}

function wakeOnly(run: RunSnapshot, config: MachineConfig, now: number): Transition {
  const draft = new Draft(run, now);
  draft.state.status = 'running';
  draft.state.wakeAt = now + config.watchdogMs;
  draft.emit({ type: 'run', status: 'running' });
  return draft.done();
}

/** A waiting run's delay has ended: it runs again, and the delay step succeeds. */
export function wake(run: RunSnapshot, config: MachineConfig, now: number): Transition {
  const blockId = run.state.cursor!;
  const draft = new Draft(run, now);
  draft.state.status = 'running';
  draft.state.wakeAt = now + config.watchdogMs;
  draft.emit({ type: 'run', status: 'running' });
  draft.succeedStep(blockId, draft.step(blockId).output, undefined);
  return draft.done();
}

/** Ends the run: remaining steps skipped, the final event. */
export function finish(
  run: RunSnapshot,
  config: MachineConfig,
  now: number,
  status: 'succeeded' | 'failed' | 'cancelled',
  error: string | null = null,
): Transition {
  const draft = new Draft(run, now);
  draft.finish(config, status, error);
  return draft.done();
}

/**
 * A cancel request. A waiting run ends at once (its delay step fails as
 * cancelled); a queued or running one is marked, and ends at the step
 * boundary (the executor also aborts the running step). Null: the run has
 * already ended, nothing changes.
 */
export function cancel(run: RunSnapshot, config: MachineConfig, now: number): Transition | null {
  const { state } = run;
  if (isFinal(state.status) || (state.cancelRequested && state.status !== 'waiting')) return null;
  const draft = new Draft(run, now);
  if (state.status === 'waiting' && state.cursor) {
    draft.failStep(state.cursor, 'cancelled');
    draft.finish(config, 'cancelled', null);
  } else {
    draft.state.cancelRequested = true;
  }
  return draft.done();
}

/** A waiting run waits on, to be looked at again at `wakeAt`. */
export function waitUntil(run: RunSnapshot, now: number, wakeAt: number): Transition {
  const draft = new Draft(run, now);
  draft.state.wakeAt = wakeAt;
  return draft.done();
}

/** The watchdog looked at a run that is still making progress: look again later. */
export function stillRunning(run: RunSnapshot, config: MachineConfig, now: number): Transition {
  const draft = new Draft(run, now);
  draft.state.wakeAt = now + config.watchdogMs;
  return draft.done();
}

/** Builds one transition: a copy of the state, the steps it touches, the events it numbers. */
class Draft {
  readonly state: RunState;
  readonly iso: string;
  private readonly changed = new Map<string, StepState>();
  private readonly events: RunEvent[] = [];

  constructor(
    private readonly run: RunSnapshot,
    private readonly now: number,
  ) {
    this.state = { ...run.state };
    this.iso = new Date(now).toISOString();
  }

  step(blockId: string): StepState {
    return this.changed.get(blockId) ?? this.run.steps.get(blockId) ?? PENDING_STEP;
  }

  setStep(blockId: string, patch: Partial<StepState>): void {
    this.changed.set(blockId, { ...this.step(blockId), ...patch });
  }

  emit(event: NewEvent): void {
    this.events.push({ ...event, seq: ++this.state.lastSeq, ts: this.iso, runId: this.run.runId } as RunEvent);
  }

  failStep(blockId: string, error: string, output?: unknown): void {
    this.setStep(blockId, { status: 'failed', error, finishedAt: this.iso, ...(output !== undefined ? { output } : {}) });
    this.emit({ type: 'step', blockId, status: 'failed', attempt: this.step(blockId).attempts, error });
  }

  succeedStep(blockId: string, output: unknown, edge: string | undefined): void {
    const blocks = this.run.blocks;
    const index = blocks.findIndex((b) => b.id === blockId);
    this.setStep(blockId, { status: 'succeeded', output, finishedAt: this.iso });
    this.emit({ type: 'step', blockId, status: 'succeeded', attempt: this.step(blockId).attempts });
    if (edge) for (const id of notTaken(blocks, index, edge)) this.skip(id);
    this.state.cursor = target(blocks, index, edge ?? 'next');
  }

  finish(config: MachineConfig, status: 'succeeded' | 'failed' | 'cancelled', error: string | null): void {
    // A step left running by an executor that died is not running any more once the run is cancelled.
    const cursor = this.state.cursor;
    if (status === 'cancelled' && cursor && this.step(cursor).status === 'running') this.failStep(cursor, 'cancelled');
    for (const block of this.run.blocks) this.skip(block.id);
    Object.assign(this.state, { status, error, finishedAt: this.iso, wakeAt: this.now + config.retentionMs });
    this.emit({ type: 'run', status, ...(error ? { error } : {}) });
  }

  done(): Transition {
    return { state: this.state, steps: this.changed, events: this.events };
  }

  /** Marks a pending step skipped (any other step keeps its status). */
  private skip(blockId: string): void {
    if (this.step(blockId).status !== 'pending') return;
    this.setStep(blockId, { status: 'skipped' });
    this.emit({ type: 'step', blockId, status: 'skipped', attempt: 0 });
  }
}

/** Applies a transition to a snapshot (what the executor keeps in memory after persisting it). */
export function applyTransition(run: RunSnapshot, transition: Transition): RunSnapshot {
  if (transition.steps.size === 0) return { ...run, state: transition.state };
  const steps = new Map(run.steps);
  for (const [id, step] of transition.steps) steps.set(id, step);
  return { ...run, state: transition.state, steps };
}
