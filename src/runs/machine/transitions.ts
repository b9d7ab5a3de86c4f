/**
 * The run engine's one interpreter. Given a run as it stands and what just
 * happened (it began, a step started or ended, a wait ran out, someone
 * cancelled), each function answers with a transition: the run's next
 * state, the frames and steps that changed and the events to record,
 * already numbered. No storage, no I/O, no clock: the caller passes `now`,
 * persists the transition in one write, applies it, then asks `plan` what
 * to do next.
 *
 * Every step, on the main chain or in a loop at any depth, goes through the
 * same transitions, so the same guarantees hold everywhere: `seq` rises by
 * one per event; a step that finished is never started again; a step
 * interrupted mid-run (its object died) starts again as its next attempt,
 * at most `maxExecutions` times; a wait (a delay, a retry's backoff, a
 * child run, an event) is a stored step state, so a restart resumes it.
 */
import { edgeOf } from '../../blocks/registry';
import type { LogLevel } from '../types';
import { Draft, iterationOf } from './draft';
import { placeOf } from './flow-index';
import { type MachineConfig, type RunSnapshot, type StepAt, type StepState, stepKey, type Transition, type Wait } from './state';

/** How a step's block ended, as the executor reports it (output and error already masked). */
export type StepOutcome =
  | { kind: 'succeeded'; output: unknown; edge?: string | undefined }
  | { kind: 'failed'; error: string; output: unknown }
  /** The step waits (a delay, a child run, an event) and is looked at again at `wakeAt`. */
  | { kind: 'waiting'; output: unknown; wait: Wait; wakeAt: number }
  /** A loop step: run its chain once per item, `concurrency` at a time. */
  | { kind: 'loop'; items: unknown[]; concurrency: number };

/** What the executor should do next with a run. */
export type Action =
  | { type: 'begin' }
  /** Run the step's block (a new step, or one interrupted by a crash, as its next attempt). */
  | { type: 'start'; at: StepAt }
  /** A step carried over from an earlier run sits at a frame's cursor: move past it. */
  | { type: 'pass'; at: StepAt }
  /** A waiting step's time has come. */
  | { type: 'wake'; at: StepAt; step: StepState }
  /** A step left running by a dead executor in a run that is being cancelled. */
  | { type: 'abandon'; at: StepAt };

const transition = (run: RunSnapshot, config: MachineConfig, now: number, change: (draft: Draft) => void): Transition => {
  const draft = new Draft(run, config, now);
  change(draft);
  draft.refreshStatus();
  return draft.done();
};

/**
 * What can be done now: begin a queued run, start the step at each active
 * frame's cursor (unless `busy` says it is running here), pass reused steps,
 * wake the waiting steps that are due (unless `busy`: being looked at). Empty: the run has ended, or waits
 * for its steps in flight or for `state.wakeAt`.
 */
export function plan(run: RunSnapshot, now: number, busy: (at: StepAt) => boolean): Action[] {
  const { status, cancelRequested } = run.state;
  if (status === 'succeeded' || status === 'failed' || status === 'cancelled') return [];
  if (status === 'queued') return [{ type: 'begin' }];
  const actions: Action[] = [];
  for (const frame of run.frames.values()) {
    if (frame.status !== 'active' || frame.cursor === null) continue;
    const at: StepAt = { blockId: frame.cursor, items: frame.at.items };
    const step = run.steps.get(stepKey(at));
    if (!step || step.status === 'pending') {
      if (!cancelRequested) actions.push({ type: 'start', at });
    } else if (step.status === 'running' && !step.loop && !busy(at)) {
      actions.push(cancelRequested ? { type: 'abandon', at } : { type: 'start', at });
    } else if (step.status === 'succeeded' && !cancelRequested) {
      actions.push({ type: 'pass', at });
    } else if (step.status === 'waiting' && (step.wakeAt ?? 0) <= now && !busy(at)) {
      actions.push({ type: 'wake', at, step });
    }
  }
  return actions;
}

/** queued → running. */
export function begin(run: RunSnapshot, config: MachineConfig, now: number): Transition {
  return transition(run, config, now, (draft) => {
    draft.state.status = 'running';
    draft.state.startedAt = draft.iso;
    draft.emit({ type: 'run', status: 'running' });
    if (draft.main.cursor === null) draft.endEmptyChain();
  });
}

/** Starts a step as its next attempt, or gives up on one that has been started `maxExecutions` times. */
export function startStep(run: RunSnapshot, config: MachineConfig, now: number, at: StepAt): Transition {
  return transition(run, config, now, (draft) => {
    const step = draft.step(at);
    if (step.executions >= config.maxExecutions) {
      draft.fail(at, `the step was interrupted ${config.maxExecutions} times; giving up`, null, 'final');
      return;
    }
    draft.setStep(at, {
      status: 'running',
      attempts: step.attempts + 1,
      executions: step.executions + 1,
      startedAt: step.startedAt ?? draft.iso,
      wait: null,
      wakeAt: null,
    });
    draft.stepEvent(at, 'running');
  });
}

/** A running step ended. A cancel that came meanwhile turns any ending into `cancelled`. */
export function settleStep(run: RunSnapshot, config: MachineConfig, now: number, at: StepAt, outcome: StepOutcome): Transition {
  return transition(run, config, now, (draft) => {
    if (draft.state.cancelRequested && outcome.kind !== 'succeeded') {
      draft.fail(at, 'cancelled', 'output' in outcome ? outcome.output : null, 'final');
      return;
    }
    switch (outcome.kind) {
      case 'succeeded':
        draft.succeed(at, outcome.output, outcome.edge);
        break;
      case 'failed':
        draft.fail(at, outcome.error, outcome.output);
        break;
      case 'waiting':
        draft.wait(at, outcome.output, outcome.wait, outcome.wakeAt);
        break;
      case 'loop':
        draft.startLoop(at, outcome.items, outcome.concurrency);
        break;
    }
  });
}

/** Moves past a step carried over from an earlier run. */
export function passStep(run: RunSnapshot, config: MachineConfig, now: number, at: StepAt): Transition {
  return transition(run, config, now, (draft) => {
    const block = placeOf(run.blocks, at.blockId).block;
    draft.passReused(at, edgeOf(block, draft.step(at).output));
  });
}

/**
 * A waiting step's time has come: a delay ends (the step succeeds), a
 * retry's backoff ends (the step starts again), an event's timeout passes
 * (fails, or continues with no data). A child run is looked at by the
 * executor, which answers with `endWait` or `waitLonger`.
 */
export function wake(run: RunSnapshot, config: MachineConfig, now: number, at: StepAt): Transition {
  return transition(run, config, now, (draft) => {
    const step = draft.step(at);
    switch (step.wait?.kind) {
      case 'delay':
        draft.succeed(at, step.output, undefined);
        break;
      case 'retry':
        draft.setStep(at, { status: 'pending', wait: null, wakeAt: null });
        break;
      case 'event':
        if (step.wait.onTimeout === 'continue') draft.succeed(at, { data: null, receivedAt: null, via: 'timeout' }, undefined);
        else draft.fail(at, `no event arrived within ${Math.round((step.wait.until - Date.parse(step.startedAt!)) / 1000)} s`, null);
        break;
      default:
        throw new Error(`step ${at.blockId} waits for ${step.wait?.kind ?? 'nothing'}: the executor settles it`);
    }
  });
}

/** What a waiting step waited for has come (a child run ended, an event arrived). */
export function endWait(run: RunSnapshot, config: MachineConfig, now: number, at: StepAt, outcome: StepOutcome): Transition {
  return settleStep(run, config, now, at, outcome);
}

/** A waiting step waits on, to be looked at again at `wakeAt`. */
export function waitLonger(run: RunSnapshot, config: MachineConfig, now: number, at: StepAt, wakeAt: number): Transition {
  return transition(run, config, now, (draft) => draft.setStep(at, { wakeAt }));
}

/** A step left running by a dead executor, in a run being cancelled: it ends cancelled. */
export function abandonStep(run: RunSnapshot, config: MachineConfig, now: number, at: StepAt): Transition {
  return transition(run, config, now, (draft) => draft.fail(at, 'cancelled', null, 'final'));
}

/** A log line of a running step (already masked). */
export function logLine(run: RunSnapshot, config: MachineConfig, now: number, at: StepAt, level: LogLevel, message: string): Transition {
  const draft = new Draft(run, config, now);
  draft.emit({ type: 'log', blockId: at.blockId, level, message, ...iterationOf(at) });
  return draft.done();
}

/** A running step tries again by itself (an HTTP retry): its attempt count, a warning and a step event. */
export function retryStep(run: RunSnapshot, config: MachineConfig, now: number, at: StepAt, attempt: number, message: string): Transition {
  const draft = new Draft(run, config, now);
  draft.setStep(at, { attempts: attempt });
  draft.emit({ type: 'log', blockId: at.blockId, level: 'warn', message, ...iterationOf(at) });
  draft.stepEvent(at, 'running');
  return draft.done();
}

/**
 * A cancel request: waiting steps end at once, nothing new starts, and the
 * run ends `cancelled` as soon as no step of it is running (the executor
 * aborts those). Null: the run has already ended or is already cancelling.
 */
export function cancel(run: RunSnapshot, config: MachineConfig, now: number, busy: (at: StepAt) => boolean): Transition | null {
  const { status, cancelRequested } = run.state;
  if (status === 'succeeded' || status === 'failed' || status === 'cancelled' || cancelRequested) return null;
  return transition(run, config, now, (draft) => {
    draft.state.cancelRequested = true;
    if (status === 'queued') {
      draft.finish('cancelled', null);
      return;
    }
    const running: StepAt[] = [];
    for (const frame of draft.allFrames()) {
      if (frame.status !== 'active' || frame.cursor === null) continue;
      const at = { blockId: frame.cursor, items: frame.at.items };
      const step = draft.step(at);
      if (step.status === 'waiting' || (step.status === 'running' && !step.loop && !busy(at)) || step.status === 'pending')
        draft.fail(at, 'cancelled', step.output, 'final');
      else if (step.status === 'running' && !step.loop) running.push(at);
    }
    if (running.length === 0 && draft.state.status !== 'cancelled') draft.finish('cancelled', null);
  });
}

/** The watchdog looked at a run still making progress: look again later. */
export function stillRunning(run: RunSnapshot, config: MachineConfig, now: number): Transition {
  return transition(run, config, now, () => {});
}
