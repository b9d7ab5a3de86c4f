/**
 * Drives runs through the machine: asks it what can be done (`plan`), does
 * it, and records each transition in one write before anything that follows
 * from it leaves the object (the output gate holds outbound messages until
 * the write is durable). Steps whose blocks do no I/O (log, set, condition,
 * switch) run back to back within one turn, so their writes reach disk as
 * one; steps in flight at once (a loop's items) each settle when they end.
 *
 * Whoever touches an orphaned run (after a restart) revives it: its
 * interrupted steps start again as their next attempt, its waits resume.
 * A run with nothing in flight and nothing due is dropped from memory; the
 * alarm brings it back when its time comes.
 */
import type { FlowDefinition } from '../../flows/definition';
import * as machine from '../machine';
import type { StepAt } from '../machine';
import { isFinal, type LogLevel } from '../types';
import type { ChildRuns } from './child-runs';
import type { IndexOutbox } from './index-outbox';
import { type LiveRun, liveRun } from './live-run';
import { type RunStore, sameStoredState, type StoredRun } from './run-store';
import type { ExecutorSchema } from './schema';
import type { Snapshots } from './snapshots';
import type { StepRunner } from './step-runner';
import type { ViewerHub } from './viewer-hub';

/** A pass that does more than this is a bug, not a run: it stops, and the watchdog tries again. */
const MAX_ACTIONS_PER_PASS = 100_000;

export interface DriverParts {
  schema: ExecutorSchema;
  runs: RunStore;
  snapshots: Snapshots;
  outbox: IndexOutbox;
  viewers: ViewerHub;
  steps: StepRunner;
  children: ChildRuns;
  config: machine.MachineConfig;
  /** Makes sure the executor's alarm rings no later than `at`. */
  wakeBy(at: number): void;
}

export class RunDriver {
  private readonly active = new Map<string, LiveRun>();

  constructor(private readonly parts: DriverParts) {}

  /** Holds a run just started (its first write done) and drives it. */
  adopt(live: LiveRun): void {
    this.active.set(live.init.runId, live);
    this.pump(live);
  }

  /**
   * The run as this instance drives it. A run it is not driving (after a
   * restart, or a finished one) is read from storage, and one that has not
   * ended is picked up again unless `drive` is false.
   */
  find(tenantId: string, runId: string, drive = true): LiveRun | null {
    const active = this.active.get(runId);
    if (active) return active.init.tenantId === tenantId ? active : null;
    const stored = this.parts.runs.load(runId, tenantId);
    if (!stored) return null;
    const live = this.revive(stored);
    if (!isFinal(stored.state.status)) {
      this.active.set(runId, live);
      if (drive) this.pump(live);
    }
    return live;
  }

  private revive(stored: StoredRun): LiveRun {
    const { snapshots } = this.parts;
    const definition = snapshots.get<FlowDefinition>(stored.init.definitionRef);
    const run: machine.RunSnapshot = { runId: stored.init.runId, blocks: definition.blocks, ...stored };
    const variables = snapshots.get<Record<string, string>>(stored.init.variablesRef);
    const env = stored.init.envRef === null ? {} : snapshots.get<Record<string, string>>(stored.init.envRef);
    return liveRun(stored.init, run, { definition, variables, env }, undefined);
  }

  /**
   * Does everything the machine says can be done now, one action at a time
   * (each changes what the next can be): begins, starts steps (their blocks
   * run without being awaited here: each settles by itself and drives the
   * run on), passes reused steps, wakes due waits.
   */
  pump(live: LiveRun): void {
    const busy = (at: StepAt) => live.inFlight.has(machine.stepKey(at));
    try {
      for (let actions = 0, next = this.next(live, busy); next; next = this.next(live, busy)) {
        if (++actions > MAX_ACTIONS_PER_PASS) throw new Error(`more than ${MAX_ACTIONS_PER_PASS} actions in one pass`);
        this.act(live, next);
      }
    } catch (err) {
      console.error('run driver stopped', live.init.runId, err instanceof Error ? err.message : String(err)); // the watchdog picks it up
    }
    this.rest(live);
  }

  private next(live: LiveRun, busy: (at: StepAt) => boolean): machine.Action | undefined {
    return machine.plan(live.run, Date.now(), busy)[0];
  }

  private act(live: LiveRun, action: machine.Action): void {
    const { config } = this.parts;
    const now = Date.now();
    switch (action.type) {
      case 'begin':
        this.commit(live, machine.begin(live.run, config, now));
        break;
      case 'pass':
        this.commit(live, machine.passStep(live.run, config, now, action.at));
        break;
      case 'abandon':
        this.commit(live, machine.abandonStep(live.run, config, now, action.at));
        break;
      case 'wake':
        if (action.step.wait?.kind === 'child') this.lookAtChild(live, action.at);
        else this.commit(live, machine.wake(live.run, config, now, action.at));
        break;
      case 'start':
        this.commit(live, machine.startStep(live.run, config, now, action.at));
        if (live.run.steps.get(machine.stepKey(action.at))?.status === 'running') this.execute(live, action.at);
        break;
    }
  }

  /** Runs a step's block; when it ends, its outcome is one transition and the run moves on. */
  private execute(live: LiveRun, at: StepAt): void {
    const key = machine.stepKey(at);
    live.inFlight.add(key);
    void this.parts.steps.run(live, at).then((outcome) => {
      live.inFlight.delete(key);
      this.settle(live, at, (run, now) => machine.settleStep(run, this.parts.config, now, at, outcome));
    });
  }

  /** A waiting step's child run: ended, it settles the step; else the step waits on. */
  private lookAtChild(live: LiveRun, at: StepAt): void {
    const key = machine.stepKey(at);
    const step = live.run.steps.get(key)!;
    live.inFlight.add(key);
    void this.parts.children
      .look(live, step, Date.now())
      .catch((err: unknown) => ({ lookAgainAt: Date.now() + 5_000, err }))
      .then((news) => {
        live.inFlight.delete(key);
        this.settle(live, at, (run, now) =>
          'ended' in news
            ? machine.endWait(run, this.parts.config, now, at, news.ended)
            : machine.waitLonger(run, this.parts.config, now, at, news.lookAgainAt),
        );
      });
  }

  /** Applies what ended a step (unless the run has ended meanwhile), then drives on. */
  private settle(live: LiveRun, at: StepAt, transition: (run: machine.RunSnapshot, now: number) => machine.Transition): void {
    const step = live.run.steps.get(machine.stepKey(at));
    if (!isFinal(live.run.state.status) && (step?.status === 'running' || step?.status === 'waiting')) {
      this.commit(live, transition(live.run, Date.now()));
    }
    this.pump(live);
  }

  /** A step whose child run has ended (news from the child): looked at now instead of at its next poll. */
  childEnded(live: LiveRun, childRunId: string): void {
    for (const step of live.run.steps.values()) {
      if (step.status === 'waiting' && step.wait?.kind === 'child' && step.wait.runId === childRunId) this.lookAtChild(live, step.at);
    }
  }

  /**
   * Delivers an event to a waiting wait_for_event step of a run: the step at
   * `items` (any, when the block waits in exactly one place). Answers why
   * not when no such step waits: it has not begun waiting, or it has ended.
   */
  deliverEvent(
    live: LiveRun,
    blockId: string,
    items: readonly number[] | undefined,
    data: unknown,
    via: 'api' | 'callback',
  ): string | null {
    const waiting = [...live.run.steps.values()].filter(
      (step) =>
        step.at.blockId === blockId &&
        step.status === 'waiting' &&
        step.wait?.kind === 'event' &&
        (items === undefined || (step.at.items.length === items.length && step.at.items.every((index, i) => index === items[i]))),
    );
    if (waiting.length === 0) return `step "${blockId}" is not waiting for an event${items?.length ? ` at item ${items.join('.')}` : ''}`;
    if (waiting.length > 1) return `${waiting.length} items of the loop wait at "${blockId}": say which with ?iteration=`;
    const { at } = waiting[0]!;
    const output = { data, receivedAt: new Date().toISOString(), via };
    this.commit(live, machine.endWait(live.run, this.parts.config, Date.now(), at, { kind: 'succeeded', output }));
    this.pump(live);
    return null;
  }

  /** Cancels a run: waits end now, steps in flight are aborted, the run ends once none runs. */
  cancel(live: LiveRun): void {
    const busy = (at: StepAt) => live.inFlight.has(machine.stepKey(at));
    const transition = machine.cancel(live.run, this.parts.config, Date.now(), busy);
    if (transition) {
      this.commit(live, transition);
      live.abort.abort();
    }
    if (!isFinal(live.run.state.status)) this.pump(live);
  }

  /** A log line of a running step. */
  log(live: LiveRun, at: StepAt, level: LogLevel, message: string): void {
    this.commit(live, machine.logLine(live.run, this.parts.config, Date.now(), at, level, message));
  }

  /** A running step retries by itself (an HTTP retry). */
  retrying(live: LiveRun, at: StepAt, attempt: number, message: string): void {
    this.commit(live, machine.retryStep(live.run, this.parts.config, Date.now(), at, attempt, message));
  }

  /** The watchdog: a run driven here that is still making progress is looked at again later; any other is driven. */
  lookAt(tenantId: string, runId: string, now: number): void {
    const live = this.find(tenantId, runId);
    if (!live || isFinal(live.run.state.status)) return;
    if (live.inFlight.size > 0 && live.run.state.wakeAt <= now) this.commit(live, machine.stillRunning(live.run, this.parts.config, now));
    else this.pump(live);
  }

  /** Resolves once the run has ended, or after `timeoutMs`. */
  untilEnd(live: LiveRun, timeoutMs: number): Promise<void> {
    if (timeoutMs <= 0 || isFinal(live.run.state.status)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        live.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      live.waiters.add(done);
    });
  }

  /** Runs being driven now (their configurations must not be forgotten). */
  live(): Iterable<LiveRun> {
    return this.active.values();
  }

  /**
   * Persists a transition in one write (with the index outbox when the
   * run's status changed), applies it, then tells viewers and whoever waits
   * for the end.
   */
  commit(live: LiveRun, transition: machine.Transition): void {
    const { schema, runs, outbox, viewers } = this.parts;
    const runId = live.init.runId;
    const statusChanged = transition.state.status !== live.run.state.status;
    const write = () => {
      const frames = runs.saveTransition(runId, transition, live.run.state);
      if (statusChanged) outbox.mark(runId);
      return frames;
    };
    // A transition that only records an event (a log line) is one statement, atomic by itself.
    const oneStatement =
      transition.steps.size === 0 &&
      transition.frames.size === 0 &&
      transition.events.length <= 1 &&
      sameStoredState(live.run.state, transition.state);
    const frames = oneStatement ? write() : schema.transaction(write);
    machine.applyTransition(live.run, transition);
    const final = isFinal(transition.state.status);
    viewers.publish(runId, frames, transition.state.lastSeq, final);
    if (statusChanged) outbox.schedule();
    if (final) {
      this.active.delete(runId);
      for (const release of [...live.waiters]) release();
      this.parts.children.tellParent(live);
    }
  }

  /** After a pass: a run with nothing in flight and nothing due now waits for the alarm, holding nothing. */
  private rest(live: LiveRun): void {
    const { state } = live.run;
    if (isFinal(state.status)) return;
    this.parts.wakeBy(state.wakeAt);
    if (state.status === 'waiting' && live.inFlight.size === 0 && live.waiters.size === 0) this.active.delete(live.init.runId);
  }
}
