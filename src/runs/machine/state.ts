/**
 * What the run engine's machine knows of a run: its state, its frames (one
 * pass through a chain: the main chain, or one item's pass through a loop's
 * chain) and its steps (one block in one frame). Plain data, stored as is by
 * the executor's run store, with structured keys: a step is a block id and
 * the indexes of the loop items around it, never a string to parse.
 */
import type { Block } from '../../flows/definition';
import type { RunEvent, RunStatus, StepStatus } from '../types';

export interface MachineConfig {
  /** How long a running run may go without the executor looking at it. */
  watchdogMs: number;
  /** How long a finished run is kept before it is forgotten. */
  retentionMs: number;
  /** How often one step may start before the run gives up on it (a step that kills its object). */
  maxExecutions: number;
}

/** Where a step sits: its block, and the indexes of the loop items around it, outermost first ([] on the main chain). */
export interface StepAt {
  blockId: string;
  items: readonly number[];
}

/** A frame: the main chain (`loopId` null, no items), or item `items.at(-1)` of the loop `loopId`. */
export interface FrameAt {
  loopId: string | null;
  items: readonly number[];
}

/** What a waiting step waits for; `wakeAt` on the step says when to look again. */
export type Wait =
  /** A delay: at `wakeAt` the step succeeds with its output. */
  | { kind: 'delay' }
  /** A retry's backoff: at `wakeAt` the step runs again as its next attempt. */
  | { kind: 'retry' }
  /** Another run's end (trigger_flow with wait), at most until `until`; `wakeAt` is the next look. */
  | { kind: 'child'; runId: string; until: number }
  /** An event delivered to the step (wait_for_event), at most until `until`. */
  | { kind: 'event'; until: number; onTimeout: 'fail' | 'continue' };

/** A loop step's items and how many of them may be in flight at once. */
export interface LoopState {
  items: unknown[];
  concurrency: number;
  /** Set once an item's chain failed (unhandled): no new item starts, and the loop fails when the last in flight ends. */
  failure: string | null;
}

export interface StepState {
  at: StepAt;
  status: StepStatus;
  attempts: number;
  /** How often the step has been started, including starts interrupted by a crash. */
  executions: number;
  startedAt: string | null;
  finishedAt: string | null;
  output: unknown;
  error: string | null;
  /** A waiting step: when to look at it again (epoch ms). */
  wakeAt: number | null;
  wait: Wait | null;
  /** A running for_each step: its items. */
  loop: LoopState | null;
  /** Carried over from an earlier run (a re-run from the failed step): never executed here. */
  reused: boolean;
}

export interface FrameState {
  at: FrameAt;
  /** The block this frame runs next; null once its chain has ended. */
  cursor: string | null;
  status: 'active' | 'succeeded' | 'failed';
  /** The loop item this pass is for (null on the main chain). */
  item: unknown;
  /** The output of the last block that ran in this frame (an item's result). */
  last: unknown;
  /** The failure an onError handler of this frame reads as `{{error.…}}`. */
  error: { blockId: string; message: string } | null;
}

/** The run's own state. */
export interface RunState {
  status: RunStatus;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  /**
   * The next time the executor must look at this run (epoch ms): at once
   * when queued, the watchdog while running, the earliest wake of its
   * waiting steps while waiting, the end of retention once finished.
   */
  wakeAt: number;
  cancelRequested: boolean;
  /** The `seq` of the last event recorded. */
  lastSeq: number;
  /** What the run's steps' outputs take in all (see output-bounds.ts). */
  outputBytes: number;
}

/** A run as the machine sees it. */
export interface RunSnapshot {
  runId: string;
  /** The pinned version's blocks. */
  blocks: readonly Block[];
  state: RunState;
  frames: Map<string, FrameState>;
  /** Steps that have left `pending`; a step without an entry is pending. */
  steps: Map<string, StepState>;
}

/** What one input did to a run: its state, the frames and steps it changed (as they are now), its events, numbered. */
export interface Transition {
  state: RunState;
  frames: Map<string, FrameState>;
  steps: Map<string, StepState>;
  events: RunEvent[];
}

/** In-memory map keys (storage keeps the parts in columns). */
export const stepKey = (at: StepAt): string => (at.items.length ? `${at.blockId}#${at.items.join('.')}` : at.blockId);
export const frameKey = (at: FrameAt): string => `${at.loopId ?? ''}#${at.items.join('.')}`;
export const MAIN_FRAME: FrameAt = Object.freeze({ loopId: null, items: Object.freeze([]) as readonly number[] });

export function pendingStep(at: StepAt): StepState {
  return {
    at,
    status: 'pending',
    attempts: 0,
    executions: 0,
    startedAt: null,
    finishedAt: null,
    output: null,
    error: null,
    wakeAt: null,
    wait: null,
    loop: null,
    reused: false,
  };
}

/** A new run: queued, due at once, its main frame at the first block. */
export function newRun(runId: string, blocks: readonly Block[], now: number): RunSnapshot {
  const main: FrameState = { at: MAIN_FRAME, cursor: blocks[0]?.id ?? null, status: 'active', item: null, last: null, error: null };
  return {
    runId,
    blocks,
    state: {
      status: 'queued',
      startedAt: null,
      finishedAt: null,
      error: null,
      wakeAt: now,
      cancelRequested: false,
      lastSeq: 0,
      outputBytes: 0,
    },
    frames: new Map([[frameKey(MAIN_FRAME), main]]),
    steps: new Map(),
  };
}

/**
 * Applies a transition to the snapshot in place (what the executor does
 * after persisting it): a long loop has thousands of steps, and copying
 * them per transition would make a run quadratic. Transitions themselves
 * never change the snapshot they are computed from.
 */
export function applyTransition(run: RunSnapshot, transition: Transition): RunSnapshot {
  for (const [key, frame] of transition.frames) run.frames.set(key, frame);
  for (const [key, step] of transition.steps) run.steps.set(key, step);
  run.state = transition.state;
  return run;
}
