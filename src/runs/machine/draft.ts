/**
 * One transition in the making: a copy of the run's state, the frames and
 * steps it touches (read through to the snapshot for the rest), and the
 * events it numbers. The moves every transition is made of live here: a
 * step succeeds, fails, waits; a frame moves on or closes; a loop opens its
 * next items or ends; the run finishes. Nothing here touches storage or a
 * clock: `now` comes in with the input.
 */
import type { Block } from '../../flows/definition';
import { chainOf, notTaken, target } from '../../flows/graph';
import type { NewEvent, RunEvent } from '../types';
import { chainOfFrame, frameOfStep, loopStepOf, placeOf } from './flow-index';
import { MAX_STEP_OUTPUT_BYTES, outputBytes, outputProblem } from './output-bounds';
import { retryDelayMs } from './retry';
import {
  type FrameAt,
  type FrameState,
  frameKey,
  MAIN_FRAME,
  type MachineConfig,
  pendingStep,
  type RunSnapshot,
  type RunState,
  type StepAt,
  type StepState,
  stepKey,
  type Transition,
  type Wait,
} from './state';

export class Draft {
  readonly state: RunState;
  readonly iso: string;
  private readonly frames = new Map<string, FrameState>();
  private readonly steps = new Map<string, StepState>();
  private readonly events: RunEvent[] = [];

  constructor(
    readonly run: RunSnapshot,
    readonly config: MachineConfig,
    readonly now: number,
  ) {
    this.state = { ...run.state };
    this.iso = new Date(now).toISOString();
  }

  get blocks(): readonly Block[] {
    return this.run.blocks;
  }

  step(at: StepAt): StepState {
    const key = stepKey(at);
    return this.steps.get(key) ?? this.run.steps.get(key) ?? pendingStep(at);
  }

  setStep(at: StepAt, patch: Partial<StepState>): void {
    this.steps.set(stepKey(at), { ...this.step(at), ...patch });
  }

  frame(at: FrameAt): FrameState {
    const frame = this.frames.get(frameKey(at)) ?? this.run.frames.get(frameKey(at));
    if (!frame) throw new Error(`no frame ${frameKey(at)} in run ${this.run.runId}`);
    return frame;
  }

  setFrame(at: FrameAt, patch: Partial<FrameState>): void {
    this.frames.set(frameKey(at), { ...this.frame(at), ...patch });
  }

  /** Every frame as it stands in this draft. */
  allFrames(): FrameState[] {
    const merged = new Map(this.run.frames);
    for (const [key, frame] of this.frames) merged.set(key, frame);
    return [...merged.values()];
  }

  emit(event: NewEvent): void {
    this.events.push({ ...event, seq: ++this.state.lastSeq, ts: this.iso, runId: this.run.runId } as RunEvent);
  }

  stepEvent(at: StepAt, status: StepState['status'], extra: { error?: string } = {}): void {
    const step = this.step(at);
    this.emit({ type: 'step', blockId: at.blockId, status, attempt: step.attempts, ...extra, ...iterationOf(at) });
  }

  done(): Transition {
    return { state: this.state, frames: this.frames, steps: this.steps, events: this.events };
  }

  // ---- steps -----------------------------------------------------------------

  /** The step ended well: its frame moves on along `edge`, skipping what only the branches not taken reach. */
  succeed(at: StepAt, output: unknown, edge: string | undefined): void {
    const bytes = outputBytes(output);
    const problem = outputProblem(bytes, this.state.outputBytes, chainOf(placeOf(this.blocks, at.blockId).block) !== null);
    if (problem) {
      this.fail(at, problem, null, 'noRetry');
      return;
    }
    this.state.outputBytes += bytes;
    this.setStep(at, { status: 'succeeded', output, error: null, finishedAt: this.iso, wait: null, wakeAt: null });
    this.stepEvent(at, 'succeeded');
    this.moveOn(at, output, edge);
  }

  /** A step carried over from an earlier run: its frame moves on as if it had just succeeded, and viewers hear of it. */
  passReused(at: StepAt, edge: string | undefined): void {
    const step = this.step(at);
    this.stepEvent(at, 'succeeded');
    this.moveOn(at, step.output, edge);
  }

  /**
   * The step failed. Retried when its block's retry policy has attempts
   * left (the step waits out the backoff); else its frame goes on at the
   * block's `onError`, or fails. `final`: no retry and no handler (a step
   * stopped or given up on); `noRetry`: the handler only (a loop).
   */
  fail(at: StepAt, error: string, output: unknown = null, how: 'retry' | 'noRetry' | 'final' = 'retry'): void {
    const block = placeOf(this.blocks, at.blockId).block;
    const step = this.step(at);
    const stopping = how === 'final' || this.state.cancelRequested || this.halted(frameOfStep(this.blocks, at));
    const delay = stopping || how === 'noRetry' ? null : retryDelayMs(block.retry, step.attempts);
    if (delay !== null) {
      this.wait(at, output, { kind: 'retry' }, this.now + delay);
      this.setStep(at, { error });
      this.emit({
        type: 'log',
        blockId: at.blockId,
        level: 'warn',
        message: `attempt ${step.attempts} failed: ${error}; trying again in ${delay / 1000} s`,
        ...iterationOf(at),
      });
      return;
    }
    const bytes = outputBytes(output);
    const kept = outputProblem(bytes, this.state.outputBytes, false) === null;
    if (kept) this.state.outputBytes += bytes;
    this.setStep(at, { status: 'failed', output: kept ? output : null, error, finishedAt: this.iso, wait: null, wakeAt: null });
    this.stepEvent(at, 'failed', { error });
    const frame = frameOfStep(this.blocks, at);
    if (!stopping && block.onError) this.setFrame(frame, { cursor: block.onError, error: { blockId: at.blockId, message: error } });
    else this.closeFrame(frame, 'failed', `step "${at.blockId}" failed: ${error}`);
  }

  /**
   * The step waits. A delay or a child run has shown as a step still
   * `running` (in a `waiting` run) since contract 1.0, so only the waits
   * contract 1.2 added (a retry's backoff, an event) announce `waiting`.
   */
  wait(at: StepAt, output: unknown, wait: Wait, wakeAt: number): void {
    // What a waiting step holds is small (a child's id, a failed attempt's output); never more than a step may keep.
    this.setStep(at, { status: 'waiting', output: outputBytes(output) > MAX_STEP_OUTPUT_BYTES ? null : output, wait, wakeAt });
    if (!shownAsRunning(wait)) this.stepEvent(at, 'waiting');
  }

  /** Marks a pending step skipped (any other step keeps its status). */
  skip(at: StepAt): void {
    if (this.step(at).status !== 'pending') return;
    this.setStep(at, { status: 'skipped' });
    this.stepEvent(at, 'skipped');
  }

  private moveOn(at: StepAt, output: unknown, edge: string | undefined): void {
    const { chain, index } = placeOf(this.blocks, at.blockId);
    if (edge) for (const id of notTaken(chain, index, edge)) this.skip({ blockId: id, items: at.items });
    const frame = frameOfStep(this.blocks, at);
    const cursor = target(chain, index, edge ?? 'next');
    this.setFrame(frame, { cursor, last: output });
    if (cursor === null) this.closeFrame(frame, 'succeeded');
    else if (this.halted(frame)) this.closeFrame(frame, 'failed', 'stopped');
  }

  // ---- frames and loops ------------------------------------------------------

  /** Whether a frame may start no more steps: the run is cancelling, or a loop around it is failing. */
  halted(frame: FrameAt): boolean {
    if (this.state.cancelRequested) return true;
    const loopAt = loopStepOf(frame);
    if (!loopAt) return false;
    return this.step(loopAt).loop?.failure != null || this.halted(frameOfStep(this.blocks, loopAt));
  }

  /** A loop step starts: it keeps its items and opens as many item frames as its concurrency allows. */
  startLoop(at: StepAt, items: unknown[], concurrency: number): void {
    this.setStep(at, { loop: { items, concurrency, failure: null } });
    this.continueLoop(at);
  }

  private closeFrame(frame: FrameAt, status: 'succeeded' | 'failed', error = ''): void {
    this.setFrame(frame, { status, cursor: null });
    const loopAt = loopStepOf(frame);
    if (!loopAt) {
      if (this.state.cancelRequested) this.finish('cancelled', null);
      else if (status === 'succeeded') this.finish('succeeded', null);
      else this.finish('failed', error);
      return;
    }
    const loop = this.step(loopAt).loop;
    if (!loop) return; // the loop has already ended (its last item closed while its siblings were being stopped)
    if (status === 'failed' && loop.failure === null) {
      this.setStep(loopAt, { loop: { ...loop, failure: `item ${frame.items.at(-1)}: ${error}` } });
      this.stopFramesOf(loopAt);
    }
    this.continueLoop(loopAt);
  }

  /** A loop that fails stops its other items: waits end, items not begun close; steps running finish first. */
  private stopFramesOf(loopAt: StepAt): void {
    for (const frame of this.framesOf(loopAt)) {
      if (frame.status !== 'active') continue;
      const cursorAt = { blockId: frame.cursor!, items: frame.at.items };
      const step = this.step(cursorAt);
      if (step.status === 'waiting') this.fail(cursorAt, 'stopped: another item failed', step.output, 'final');
      else if (step.loop) {
        this.setStep(cursorAt, { loop: { ...step.loop, failure: step.loop.failure ?? 'stopped: another item failed' } });
        this.stopFramesOf(cursorAt);
        this.continueLoop(cursorAt);
      } else if (step.status !== 'running') this.setFrame(frame.at, { status: 'failed', cursor: null });
    }
  }

  private framesOf(loopAt: StepAt): FrameState[] {
    const prefix = loopAt.items;
    return this.allFrames().filter(
      (frame) =>
        frame.at.loopId === loopAt.blockId &&
        frame.at.items.length === prefix.length + 1 &&
        prefix.every((index, i) => frame.at.items[i] === index),
    );
  }

  /** Opens item frames up to the loop's concurrency; once none is in flight, the loop step ends. */
  private continueLoop(loopAt: StepAt): void {
    const loop = this.step(loopAt).loop;
    if (!loop) return;
    const frames = this.framesOf(loopAt);
    let opened = frames.length;
    let active = frames.filter((frame) => frame.status === 'active').length;
    const chain = chainOfFrame(this.blocks, { loopId: loopAt.blockId, items: [...loopAt.items, 0] });
    while (loop.failure === null && !this.state.cancelRequested && active < loop.concurrency && opened < loop.items.length) {
      const at: FrameAt = { loopId: loopAt.blockId, items: [...loopAt.items, opened] };
      this.frames.set(frameKey(at), { at, cursor: chain[0]!.id, status: 'active', item: loop.items[opened], last: null, error: null });
      opened++;
      active++;
    }
    if (active > 0) return;
    if (loop.failure !== null || this.state.cancelRequested) {
      // A loop is not retried as a whole (put `retry` on the blocks inside); onError still applies.
      this.setStep(loopAt, { loop: null });
      this.fail(loopAt, this.state.cancelRequested ? 'cancelled' : loop.failure!, { count: loop.items.length }, 'noRetry');
      return;
    }
    if (opened < loop.items.length) return;
    const results = this.framesOf(loopAt)
      .sort((a, b) => a.at.items.at(-1)! - b.at.items.at(-1)!)
      .map((frame) => frame.last ?? null);
    this.setStep(loopAt, { loop: null });
    this.succeed(loopAt, { count: loop.items.length, results }, undefined);
  }

  // ---- the run ---------------------------------------------------------------

  /** Ends the run: steps never reached skipped, steps left running or waiting failed as cancelled, the final event. */
  finish(status: 'succeeded' | 'failed' | 'cancelled', error: string | null): void {
    for (const step of [...this.run.steps.values(), ...this.steps.values()]) {
      const now = this.step(step.at);
      if (now.status === 'running' || now.status === 'waiting') {
        this.setStep(step.at, { status: 'failed', error: 'cancelled', finishedAt: this.iso, wait: null, wakeAt: null });
        this.stepEvent(step.at, 'failed', { error: 'cancelled' });
      }
    }
    for (const block of this.blocks) this.skip({ blockId: block.id, items: [] });
    for (const frame of this.allFrames()) if (frame.status === 'active') this.setFrame(frame.at, { status: 'failed', cursor: null });
    Object.assign(this.state, { status, error, finishedAt: this.iso, wakeAt: this.now + this.config.retentionMs });
    this.emit({ type: 'run', status, ...(error ? { error } : {}) });
  }

  /** After any input: the run is running while a step runs or can start, else waiting for its earliest wake. */
  refreshStatus(): void {
    const { status } = this.state;
    if (status === 'queued' || status === 'succeeded' || status === 'failed' || status === 'cancelled') return;
    let working = false;
    let wakeAt = Number.POSITIVE_INFINITY;
    for (const frame of this.allFrames()) {
      if (frame.status !== 'active' || frame.cursor === null) continue;
      const step = this.step({ blockId: frame.cursor, items: frame.at.items });
      if (step.status === 'waiting') wakeAt = Math.min(wakeAt, step.wakeAt ?? Number.POSITIVE_INFINITY);
      else if (!step.loop) working = true; // a loop in progress works through its items' frames
    }
    const next = working || wakeAt === Number.POSITIVE_INFINITY ? 'running' : 'waiting';
    if (next !== status) this.emit({ type: 'run', status: next });
    this.state.status = next;
    this.state.wakeAt = next === 'running' ? this.now + this.config.watchdogMs : wakeAt;
  }

  /** The main frame. */
  get main(): FrameState {
    return this.frame(MAIN_FRAME);
  }

  /** A flow without blocks: its run succeeds as soon as it begins. */
  endEmptyChain(): void {
    this.closeFrame(MAIN_FRAME, 'succeeded');
  }
}

/** Waits that contract 1.0 shows as a `running` step: a delay, a child run. */
export const shownAsRunning = (wait: Wait | null): boolean => wait?.kind === 'delay' || wait?.kind === 'child';

export const iterationOf = (at: StepAt): { iteration?: number } => (at.items.length ? { iteration: at.items.at(-1)! } : {});
