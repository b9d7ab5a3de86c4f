/**
 * The run engine's pure core, step by step, with no executor, storage or
 * network: what each input does to a run, and that a crash between any two
 * writes loses nothing and never re-runs a finished step.
 */
import { describe, expect, it } from 'vitest';
import type { Block } from '../src/flows/definition';
import * as machine from '../src/runs/step-machine';
import type { RunSnapshot, StepOutcome, Transition } from '../src/runs/step-machine';

const CONFIG: machine.MachineConfig = { watchdogMs: 10_000, retentionMs: 86_400_000, maxExecutions: 3 };
const T0 = Date.parse('2026-12-01T10:00:00.000Z');

const log = (id: string, extra: Partial<Block> = {}): Block => ({ id, type: 'log', params: { message: id }, ...extra }) as Block;
const delay = (id: string, extra: Partial<Block> = {}): Block => ({ id, type: 'delay', params: { seconds: 5 }, ...extra }) as Block;
const condition = (id: string, then: string | null, otherwise: string | null): Block =>
  ({ id, type: 'condition', params: { left: '1', op: 'eq', right: '1' }, then, else: otherwise }) as Block;

function newRun(blocks: Block[]): RunSnapshot {
  return { runId: 'run_test', blocks, state: machine.newRunState(blocks, T0), steps: new Map() };
}

/** Applies transitions in turn, as the executor does after persisting each. */
function apply(run: RunSnapshot, ...transitions: Transition[]): RunSnapshot {
  return transitions.reduce(machine.applyTransition, run);
}

const summary = (t: Transition) =>
  t.events.map((e) => `${e.seq}:${e.type}:${'blockId' in e ? `${e.blockId}:` : ''}${'status' in e ? e.status : e.level}`);

describe('a straight chain', () => {
  it('begins, starts and settles each step, numbering events from 1, and succeeds at the end', () => {
    let run = newRun([log('a'), log('b')]);
    expect(machine.nextAction(run, T0)).toEqual({ type: 'begin' });
    const begun = machine.begin(run, CONFIG, T0);
    expect(begun.state).toMatchObject({ status: 'running', startedAt: '2026-12-01T10:00:00.000Z', wakeAt: T0 + CONFIG.watchdogMs });
    expect(summary(begun)).toEqual(['1:run:running']);
    run = apply(run, begun);

    expect(machine.nextAction(run, T0)).toEqual({ type: 'step', blockId: 'a' });
    const started = machine.startStep(run, CONFIG, T0);
    expect(started.steps.get('a')).toMatchObject({ status: 'running', attempts: 1, executions: 1 });
    run = apply(run, started, machine.logLine(apply(run, started), T0, 'info', 'hello'));
    const settled = machine.settleStep(run, CONFIG, T0 + 5, { kind: 'succeeded', output: { message: 'a' } });
    expect(settled.state.cursor).toBe('b');
    expect(settled.steps.get('a')).toMatchObject({ status: 'succeeded', output: { message: 'a' }, finishedAt: '2026-12-01T10:00:00.005Z' });
    run = apply(run, settled);
    expect(run.state.lastSeq).toBe(4);

    run = apply(run, machine.startStep(run, CONFIG, T0));
    run = apply(run, machine.settleStep(run, CONFIG, T0, { kind: 'succeeded', output: null }));
    expect(machine.nextAction(run, T0)).toEqual({ type: 'finish', status: 'succeeded' });
    const finished = machine.finish(run, CONFIG, T0 + 10, 'succeeded');
    expect(finished.state).toMatchObject({
      status: 'succeeded',
      finishedAt: '2026-12-01T10:00:00.010Z',
      wakeAt: T0 + 10 + CONFIG.retentionMs,
    });
    expect(summary(finished)).toEqual(['7:run:succeeded']);
    expect(machine.nextAction(apply(run, finished), T0)).toEqual({ type: 'none' });
  });

  it('next: null ends the chain, and the blocks never reached are skipped at the end', () => {
    let run = apply(newRun([log('a', { next: null }), log('b')]), machine.begin(newRun([log('a', { next: null }), log('b')]), CONFIG, T0));
    run = apply(run, machine.startStep(run, CONFIG, T0));
    run = apply(run, machine.settleStep(run, CONFIG, T0, { kind: 'succeeded', output: null }));
    expect(run.state.cursor).toBeNull();
    const finished = machine.finish(run, CONFIG, T0, 'succeeded');
    expect(finished.steps.get('b')?.status).toBe('skipped');
    expect(summary(finished)).toEqual(['4:step:b:skipped', '5:run:succeeded']);
  });
});

describe('branches', () => {
  it('skips the blocks reachable only through the branch not taken, as soon as the branch is chosen', () => {
    const blocks = [condition('c', 'yes', 'no'), log('yes', { next: 'both' }), log('no', { next: 'both' }), log('both')];
    let run = apply(newRun(blocks), machine.begin(newRun(blocks), CONFIG, T0));
    run = apply(run, machine.startStep(run, CONFIG, T0));
    const settled = machine.settleStep(run, CONFIG, T0, { kind: 'succeeded', output: { result: false }, edge: 'else' });
    expect(settled.state.cursor).toBe('no');
    expect([...settled.steps].map(([id, s]) => `${id}:${s.status}`)).toEqual(['c:succeeded', 'yes:skipped']);
  });
});

describe('failures and retries', () => {
  it('a failed step fails the run with its error; the rest is skipped', () => {
    let run = apply(newRun([log('a'), log('b')]), machine.begin(newRun([log('a'), log('b')]), CONFIG, T0));
    run = apply(run, machine.startStep(run, CONFIG, T0));
    const failed = machine.settleStep(run, CONFIG, T0, { kind: 'failed', error: 'HTTP 500', output: { status: 500 } });
    expect(failed.state).toMatchObject({ status: 'failed', error: 'step "a" failed: HTTP 500' });
    expect(failed.steps.get('a')).toMatchObject({ status: 'failed', error: 'HTTP 500', output: { status: 500 } });
    expect(summary(failed)).toEqual(['3:step:a:failed', '4:step:b:skipped', '5:run:failed']);
  });

  it('a retry counts the attempt and says why', () => {
    let run = apply(newRun([log('a')]), machine.begin(newRun([log('a')]), CONFIG, T0));
    run = apply(run, machine.startStep(run, CONFIG, T0));
    const retry = machine.retryStep(run, T0, 2, 'HTTP 503; retrying in 0.5 s (attempt 2)');
    expect(retry.steps.get('a')?.attempts).toBe(2);
    expect(retry.events.map((e) => e.type)).toEqual(['log', 'step']);
    expect(retry.events[1]).toMatchObject({ status: 'running', attempt: 2 });
  });

  it('a step started maxExecutions times (it kept killing its object) is given up instead of started again', () => {
    let run = apply(newRun([log('a'), log('b')]), machine.begin(newRun([log('a'), log('b')]), CONFIG, T0));
    for (let i = 1; i <= CONFIG.maxExecutions; i++) {
      run = apply(run, machine.startStep(run, CONFIG, T0)); // then the object dies mid-step
      expect(run.steps.get('a')).toMatchObject({ status: 'running', attempts: i, executions: i });
    }
    const gaveUp = machine.startStep(run, CONFIG, T0);
    expect(gaveUp.state).toMatchObject({ status: 'failed', error: 'step "a" failed: it was interrupted 3 times' });
    expect(gaveUp.steps.get('a')).toMatchObject({ status: 'failed', error: 'the step was interrupted 3 times; giving up' });
  });
});

describe('delays', () => {
  it('a sleeping step makes the run wait until its time; waking succeeds the step and goes on', () => {
    let run = apply(newRun([delay('d'), log('after')]), machine.begin(newRun([delay('d'), log('after')]), CONFIG, T0));
    run = apply(run, machine.startStep(run, CONFIG, T0));
    run = apply(run, machine.settleStep(run, CONFIG, T0, { kind: 'sleeping', output: { sleptSeconds: 5 }, until: T0 + 5000 }));
    expect(run.state).toMatchObject({ status: 'waiting', wakeAt: T0 + 5000, cursor: 'd' });
    expect(machine.nextAction(run, T0 + 4999)).toEqual({ type: 'sleep', until: T0 + 5000 });
    expect(machine.nextAction(run, T0 + 5000)).toEqual({ type: 'wake' });
    const woken = machine.wake(run, CONFIG, T0 + 5000);
    expect(woken.state).toMatchObject({ status: 'running', cursor: 'after', wakeAt: T0 + 5000 + CONFIG.watchdogMs });
    expect(woken.steps.get('d')).toMatchObject({ status: 'succeeded', output: { sleptSeconds: 5 } });
    expect(summary(woken)).toEqual(['4:run:running', '5:step:d:succeeded']);
  });
});

describe('cancel', () => {
  it('ends a waiting run at once: its delay step fails as cancelled, the rest is skipped', () => {
    let run = apply(newRun([delay('d'), log('after')]), machine.begin(newRun([delay('d'), log('after')]), CONFIG, T0));
    run = apply(run, machine.startStep(run, CONFIG, T0));
    run = apply(run, machine.settleStep(run, CONFIG, T0, { kind: 'sleeping', output: null, until: T0 + 5000 }));
    const cancelled = machine.cancel(run, CONFIG, T0 + 1)!;
    expect(cancelled.state).toMatchObject({ status: 'cancelled', error: null });
    expect(summary(cancelled)).toEqual(['4:step:d:failed', '5:step:after:skipped', '6:run:cancelled']);
    expect(machine.cancel(apply(run, cancelled), CONFIG, T0 + 2)).toBeNull();
  });

  it('marks a running run; the interrupted step then ends it as cancelled, not failed', () => {
    let run = apply(newRun([log('a'), log('b')]), machine.begin(newRun([log('a'), log('b')]), CONFIG, T0));
    run = apply(run, machine.startStep(run, CONFIG, T0));
    const marked = machine.cancel(run, CONFIG, T0)!;
    expect(marked.events).toEqual([]);
    run = apply(run, marked);
    expect(machine.cancel(run, CONFIG, T0)).toBeNull();
    const ended = machine.settleStep(run, CONFIG, T0, { kind: 'failed', error: 'The operation was aborted', output: null });
    expect(ended.state).toMatchObject({ status: 'cancelled', error: null });
    expect(ended.steps.get('a')).toMatchObject({ status: 'failed', error: 'cancelled' });
  });

  it('a cancel that came while a delay step was starting ends the run instead of letting it wait', () => {
    let run = apply(newRun([delay('d'), log('after')]), machine.begin(newRun([delay('d'), log('after')]), CONFIG, T0));
    run = apply(run, machine.startStep(run, CONFIG, T0), machine.cancel(apply(run, machine.startStep(run, CONFIG, T0)), CONFIG, T0)!);
    const settled = machine.settleStep(run, CONFIG, T0, { kind: 'sleeping', output: { sleptSeconds: 86_400 }, until: T0 + 86_400_000 });
    expect(settled.state).toMatchObject({ status: 'cancelled', error: null });
    expect(settled.steps.get('d')).toMatchObject({ status: 'failed', error: 'cancelled' });
  });

  it('a waiting run still marked for cancel (stored by an older version) ends at the next cancel', () => {
    let run = apply(newRun([delay('d')]), machine.begin(newRun([delay('d')]), CONFIG, T0));
    run = apply(run, machine.startStep(run, CONFIG, T0));
    run = apply(run, machine.settleStep(run, CONFIG, T0, { kind: 'sleeping', output: null, until: T0 + 5000 }));
    run = { ...run, state: { ...run.state, cancelRequested: true } };
    expect(machine.cancel(run, CONFIG, T0)?.state.status).toBe('cancelled');
  });

  it('cancelling a run whose step was interrupted (its executor died) ends that step as cancelled, without starting it again', () => {
    let run = apply(newRun([log('a'), log('b')]), machine.begin(newRun([log('a'), log('b')]), CONFIG, T0));
    run = apply(run, machine.startStep(run, CONFIG, T0)); // then the executor dies mid-step
    run = apply(run, machine.cancel(run, CONFIG, T0)!);
    expect(machine.nextAction(run, T0)).toEqual({ type: 'finish', status: 'cancelled' });
    const ended = machine.finish(run, CONFIG, T0, 'cancelled');
    expect(ended.steps.get('a')).toMatchObject({ status: 'failed', error: 'cancelled', attempts: 1 });
    expect(summary(ended)).toEqual(['3:step:a:failed', '4:step:b:skipped', '5:run:cancelled']);
  });

  it('a cancelled run whose step had succeeded stops at the step boundary', () => {
    let run = apply(newRun([log('a'), log('b')]), machine.begin(newRun([log('a'), log('b')]), CONFIG, T0));
    run = apply(run, machine.startStep(run, CONFIG, T0), machine.cancel(run, CONFIG, T0)!);
    run = apply(run, machine.settleStep(run, CONFIG, T0, { kind: 'succeeded', output: null }));
    expect(machine.nextAction(run, T0)).toEqual({ type: 'finish', status: 'cancelled' });
  });
});

/**
 * A driver that does what the executor does: asks for the next action, runs
 * the step (here: an outcome from a table), and "persists" every transition.
 * `crashAfter` kills it right after that many transitions were persisted.
 */
class Crash extends Error {}

function drive(
  start: RunSnapshot,
  outcome: (blockId: string) => StepOutcome,
  log: Transition[],
  crashAfter = Infinity,
  now = T0,
): RunSnapshot {
  let run = start;
  const persist = (t: Transition) => {
    log.push(t);
    run = machine.applyTransition(run, t);
    if (log.length === crashAfter) throw new Crash();
  };
  for (;;) {
    const action = machine.nextAction(run, now);
    if (action.type === 'none') return run;
    if (action.type === 'sleep') now = action.until;
    else if (action.type === 'begin') persist(machine.begin(run, CONFIG, now));
    else if (action.type === 'wake') persist(machine.wake(run, CONFIG, now));
    else if (action.type === 'finish') persist(machine.finish(run, CONFIG, now, action.status));
    else {
      persist(machine.startStep(run, CONFIG, now));
      if (run.state.status !== 'running') continue;
      persist(machine.logLine(run, now, 'info', `doing ${action.blockId}`));
      persist(machine.settleStep(run, CONFIG, now, outcome(action.blockId)));
    }
  }
}

describe('a crash at every point between two writes', () => {
  const blocks = [log('a'), condition('c', 'send', 'skip'), log('send'), delay('pause', { next: null }), log('skip')];
  const outcome = (blockId: string): StepOutcome =>
    blockId === 'c'
      ? { kind: 'succeeded', output: { result: true }, edge: 'then' }
      : blockId === 'pause'
        ? { kind: 'sleeping', output: { sleptSeconds: 5 }, until: T0 + 5000 }
        : { kind: 'succeeded', output: { done: blockId } };

  const uninterrupted: Transition[] = [];
  drive(newRun(blocks), outcome, uninterrupted);

  it.each(Array.from({ length: uninterrupted.length }, (_, i) => i + 1))(
    'after write %i: the run resumes from what was stored, finishes, and no finished step starts again',
    (crashAfter) => {
      const written: Transition[] = [];
      let stored = newRun(blocks);
      try {
        drive(stored, outcome, written, crashAfter);
      } catch (err) {
        if (!(err instanceof Crash)) throw err;
      }
      stored = written.reduce(machine.applyTransition, newRun(blocks)); // what a fresh instance reads back
      const end = drive(stored, outcome, written);

      expect(end.state.status).toBe('succeeded');
      const events = written.flatMap((t) => t.events);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      for (const block of blocks) {
        const starts = events.filter((e) => e.type === 'step' && e.blockId === block.id && e.status === 'running');
        const successes = events.filter((e) => e.type === 'step' && e.blockId === block.id && e.status === 'succeeded');
        expect(successes.length, block.id).toBeLessThanOrEqual(1);
        // A step starts again only when the crash came while it was running, and then as its next attempt.
        expect(starts.length, block.id).toBeLessThanOrEqual(2);
        if (starts.length === 2) expect(starts.map((e) => (e as { attempt: number }).attempt)).toEqual([1, 2]);
        const finishedBeforeCrash = written.slice(0, crashAfter).some((t) => t.steps.get(block.id)?.status === 'succeeded');
        if (finishedBeforeCrash) expect(starts.length, `${block.id} ran again after it had succeeded`).toBe(1);
      }
      expect(end.steps.get('skip')?.status).toBe('skipped');
      expect(events.filter((e) => e.type === 'run' && e.status === 'succeeded')).toHaveLength(1);
    },
  );
});
