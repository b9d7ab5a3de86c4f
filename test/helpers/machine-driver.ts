/**
 * Drives the engine's machine the way the executor does, with no executor:
 * each action's transition is "written" (recorded), then applied; a block
 * "runs" by asking `outcome` what it does. `crashAfter` stops after that
 * many writes, as a SIGKILL would; driving again from the same snapshot
 * with nothing in flight is the restart.
 */
import * as machine from '../../src/runs/machine';
import type { RunEvent } from '../../src/runs/types';

export const CONFIG: machine.MachineConfig = { watchdogMs: 10_000, retentionMs: 86_400_000, maxExecutions: 3 };

export interface Driven {
  run: machine.RunSnapshot;
  /** Every write (transition), in order. */
  writes: machine.Transition[];
  /** Every block execution, by step key (`blockId#items`), in order. */
  executions: string[];
  events: RunEvent[];
  crashed: boolean;
  now: number;
}

export type Outcomes = (at: machine.StepAt, run: machine.RunSnapshot) => machine.StepOutcome;

/** Runs a run until it ends, waits with nothing due (time then jumps to its wake), or `crashAfter` writes. */
export function drive(
  run: machine.RunSnapshot,
  outcome: Outcomes,
  options: { now: number; crashAfter?: number; maxWrites?: number },
): Driven {
  const driven: Driven = { run, writes: [], executions: [], events: [], crashed: false, now: options.now };
  const write = (t: machine.Transition) => {
    if (options.crashAfter !== undefined && driven.writes.length >= options.crashAfter) {
      driven.crashed = true;
      return false;
    }
    driven.writes.push(t);
    driven.events.push(...t.events);
    machine.applyTransition(run, t);
    return true;
  };
  const limit = options.maxWrites ?? 50_000;
  while (driven.writes.length < limit) {
    const actions = machine.plan(run, driven.now, () => false);
    if (actions.length === 0) {
      if (run.state.status === 'waiting') {
        driven.now = Math.max(driven.now, run.state.wakeAt);
        continue;
      }
      return driven;
    }
    const action = actions[0]!;
    let t: machine.Transition;
    switch (action.type) {
      case 'begin':
        t = machine.begin(run, CONFIG, driven.now);
        break;
      case 'pass':
        t = machine.passStep(run, CONFIG, driven.now, action.at);
        break;
      case 'abandon':
        t = machine.abandonStep(run, CONFIG, driven.now, action.at);
        break;
      case 'wake':
        t =
          action.step.wait?.kind === 'child'
            ? machine.endWait(run, CONFIG, driven.now, action.at, { kind: 'succeeded', output: { child: 'done' } })
            : machine.wake(run, CONFIG, driven.now, action.at);
        break;
      case 'start': {
        if (!write(machine.startStep(run, CONFIG, driven.now, action.at))) return driven;
        const step = run.steps.get(machine.stepKey(action.at))!;
        if (step.status !== 'running') continue; // given up on
        driven.executions.push(machine.stepKey(action.at));
        t = machine.settleStep(run, CONFIG, driven.now, action.at, outcome(action.at, run));
        break;
      }
    }
    if (!write(t)) return driven;
  }
  throw new Error(`the run did not end within ${limit} writes`);
}

/** Blocks by id as the machine sees them. */
export const ok = (output: unknown = null): machine.StepOutcome => ({ kind: 'succeeded', output });
