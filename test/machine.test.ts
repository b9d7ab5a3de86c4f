/**
 * The engine's one interpreter, step by step, with no executor, storage or
 * network: every step, on the main chain or in a loop at any depth, goes
 * through the same transitions; waits are stored step states; and a crash
 * between any two writes loses nothing and never re-runs a finished step.
 */
import { describe, expect, it } from 'vitest';
import type { Block } from '../src/flows/definition';
import * as machine from '../src/runs/machine';
import { CONFIG, type Driven, drive, ok, type Outcomes } from './helpers/machine-driver';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const log = (id: string, extra: Partial<Block> = {}): Block => ({ id, type: 'log', params: { message: id }, ...extra }) as Block;
const call = (id: string, extra: Partial<Block> = {}): Block =>
  ({ id, type: 'http_request', params: { method: 'GET', url: 'https://api.example.com/' }, ...extra }) as Block;
const delay = (id: string, seconds = 5): Block => ({ id, type: 'delay', params: { seconds } }) as Block;
const child = (id: string): Block => ({ id, type: 'trigger_flow', params: { flowId: 'flw_x', wait: true } }) as Block;
const loop = (id: string, items: unknown[], blocks: Block[], concurrency = 1, extra: Partial<Block> = {}): Block =>
  ({ id, type: 'for_each', params: { items, concurrency, blocks }, ...extra }) as unknown as Block;
const condition = (id: string, then: string | null, otherwise: string | null): Block =>
  ({ id, type: 'condition', params: { left: '1', op: 'eq', right: '1' }, then, else: otherwise }) as Block;

/** What each block type does in these tests; `failing` names the step keys whose block fails (every time). */
function behaviour(failing: ReadonlySet<string> = new Set(), decide: (id: string) => boolean = () => true): Outcomes {
  return (at, run) => {
    const key = machine.stepKey(at);
    const block = findBlock(run.blocks, at.blockId);
    if (failing.has(key) || failing.has(at.blockId)) return { kind: 'failed', error: `boom at ${key}`, output: null };
    const params = block.params as Record<string, any>;
    switch (block.type) {
      case 'for_each':
        return { kind: 'loop', items: params.items, concurrency: params.concurrency ?? 1 };
      case 'delay':
        return { kind: 'waiting', output: { sleptSeconds: params.seconds }, wait: { kind: 'delay' }, wakeAt: T0 + params.seconds * 1000 };
      case 'trigger_flow':
        return {
          kind: 'waiting',
          output: { runId: `run_child_${key}` },
          wait: { kind: 'child', runId: `run_child_${key}`, until: T0 + 60_000 },
          wakeAt: T0 + 1000,
        };
      case 'condition': {
        const result = decide(at.blockId);
        return { kind: 'succeeded', output: { result }, edge: result ? 'then' : 'else' };
      }
      default:
        return ok({ key });
    }
  };
}

function findBlock(blocks: readonly Block[], id: string): Block {
  for (const block of blocks) {
    if (block.id === id) return block;
    const nested = (block.params as { blocks?: Block[] }).blocks;
    if (block.type === 'for_each' && nested) {
      try {
        return findBlock(nested, id);
      } catch {}
    }
  }
  throw new Error(`no block ${id}`);
}

const fresh = (blocks: Block[]) => machine.newRun('run_test', blocks, T0);
const statusOf = (d: Driven, key: string) => d.run.steps.get(key)?.status;
const seqs = (d: Driven) => d.events.map((e) => e.seq);
const consecutive = (list: number[]) => list.every((seq, i) => seq === i + 1);

describe('a straight chain', () => {
  it('begins, runs each step once, numbers events from 1 and succeeds', () => {
    const d = drive(fresh([log('a'), log('b')]), behaviour(), { now: T0 });
    expect(d.run.state.status).toBe('succeeded');
    expect(d.executions).toEqual(['a', 'b']);
    expect(d.events.map((e) => `${e.type}:${'blockId' in e ? `${e.blockId}:` : ''}${'status' in e ? e.status : ''}`)).toEqual([
      'run:running',
      'step:a:running',
      'step:a:succeeded',
      'step:b:running',
      'step:b:succeeded',
      'run:succeeded',
    ]);
    expect(consecutive(seqs(d))).toBe(true);
    expect(d.run.state.wakeAt).toBe(T0 + CONFIG.retentionMs);
  });

  it('skips what only the branch not taken reaches, and the blocks never reached at the end', () => {
    const blocks = [condition('c', 'yes', 'no'), log('yes', { next: 'both' }), log('no', { next: 'both' }), log('both'), log('tail', {})];
    blocks[3] = log('both', { next: null });
    const d = drive(
      fresh(blocks),
      behaviour(new Set(), () => false),
      { now: T0 },
    );
    expect(d.executions).toEqual(['c', 'no', 'both']);
    expect(statusOf(d, 'yes')).toBe('skipped');
    expect(statusOf(d, 'tail')).toBe('skipped');
  });

  it('an unhandled failure fails the run; onError goes on at the handler, which reads the failure', () => {
    const failed = drive(fresh([call('x'), log('after')]), behaviour(new Set(['x'])), { now: T0 });
    expect(failed.run.state).toMatchObject({ status: 'failed', error: 'step "x" failed: boom at x' });
    expect(statusOf(failed, 'after')).toBe('skipped');

    const handled = drive(fresh([call('x', { onError: 'alert' }), log('after'), log('alert')]), behaviour(new Set(['x'])), { now: T0 });
    expect(handled.run.state.status).toBe('succeeded');
    expect(handled.executions).toEqual(['x', 'alert']);
    expect(handled.run.frames.get(machine.frameKey(machine.MAIN_FRAME))?.error).toEqual({ blockId: 'x', message: 'boom at x' });
  });
});

describe('waits are stored step states', () => {
  it('a delay makes the run waiting until its end, then the step succeeds with its output', () => {
    const run = fresh([delay('nap', 30), log('after')]);
    const d = drive(run, behaviour(), { now: T0, crashAfter: 3 });
    expect(d.run.state).toMatchObject({ status: 'waiting', wakeAt: T0 + 30_000 });
    expect(d.run.steps.get('nap')).toMatchObject({ status: 'waiting', wait: { kind: 'delay' }, wakeAt: T0 + 30_000 });
    expect(machine.plan(run, T0 + 29_999, () => false)).toEqual([]);
    const rest = drive(run, behaviour(), { now: T0 + 30_000 });
    expect(rest.executions).toEqual(['after']);
    expect(rest.run.steps.get('nap')).toMatchObject({ status: 'succeeded', output: { sleptSeconds: 30 } });
    expect(rest.run.state.status).toBe('succeeded');
  });

  it('a retry policy tries a failed step again after its backoff, waiting durably; onError applies after the last', () => {
    const blocks = [call('x', { retry: { attempts: 2, backoffSeconds: 10, factor: 3 }, onError: 'alert' }), log('alert')];
    const d = drive(fresh(blocks), behaviour(new Set(['x'])), { now: T0 });
    expect(d.executions).toEqual(['x', 'x', 'x', 'alert']);
    expect(d.run.steps.get('x')).toMatchObject({ status: 'failed', attempts: 3 });
    const waits = d.writes.filter((w) => w.steps.get('x')?.status === 'waiting').map((w) => w.steps.get('x')!.wakeAt);
    expect(waits).toEqual([T0 + 10_000, T0 + 10_000 + 30_000]);
    expect(d.events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message)).toEqual([
      'attempt 1 failed: boom at x; trying again in 10 s',
      'attempt 2 failed: boom at x; trying again in 30 s',
    ]);
    expect(d.run.state.status).toBe('succeeded');
  });
});

describe('output bounds', () => {
  it('a step whose output is over 1 MiB fails once (no retry), keeping nothing; the run counts what its steps keep', () => {
    const big = 'x'.repeat(1024 * 1024);
    const blocks = [log('small'), call('huge', { retry: { attempts: 3 } }), log('after')];
    const outcomes: Outcomes = (at, run) => (at.blockId === 'huge' ? ok({ big }) : behaviour()(at, run));
    const d = drive(fresh(blocks), outcomes, { now: T0 });
    expect(d.executions).toEqual(['small', 'huge']);
    expect(d.run.steps.get('huge')).toMatchObject({
      status: 'failed',
      output: null,
      error: 'its output is 1.0 MiB; a step keeps at most 1.0 MiB',
    });
    expect(d.run.state.outputBytes).toBe(JSON.stringify({ key: 'small' }).length);
  });
});

describe('loops', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];

  it('runs the chain once per item in order, results in item order, events with the iteration', () => {
    const d = drive(fresh([loop('each', items, [log('note'), call('post')]), log('done')]), behaviour(), { now: T0 });
    expect(d.run.state.status).toBe('succeeded');
    expect(d.executions).toEqual(['each', ...items.flatMap((_, i) => [`note#${i}`, `post#${i}`]), 'done']);
    expect(d.run.steps.get('each')?.output).toEqual({ count: 5, results: items.map((_, i) => ({ key: `post#${i}` })) });
    const noteEvents = d.events.filter((e) => e.type === 'step' && e.blockId === 'note' && e.status === 'succeeded');
    expect(noteEvents.map((e) => (e as { iteration?: number }).iteration)).toEqual([0, 1, 2, 3, 4]);
    expect(d.run.steps.get('post#3')?.at).toEqual({ blockId: 'post', items: [3] });
  });

  it('keeps at most `concurrency` items in flight, and opens the next as one ends', () => {
    const run = fresh([loop('each', items, [delay('wait', 1), log('note')], 3)]);
    let most = 0;
    const d = drive(run, behaviour(), { now: T0 });
    for (let i = 1; i <= d.writes.length; i++) {
      const replay = fresh(run.blocks as Block[]);
      for (const w of d.writes.slice(0, i)) machine.applyTransition(replay, w);
      const active = [...replay.frames.values()].filter((f) => f.at.loopId === 'each' && f.status === 'active').length;
      most = Math.max(most, active);
    }
    expect(most).toBe(3);
    expect(d.run.state.status).toBe('succeeded');
    expect([...d.run.frames.values()].filter((f) => f.at.loopId === 'each')).toHaveLength(5);
  });

  it('a loop inside a loop: steps keyed by both items, results nested', () => {
    const d = drive(fresh([loop('outer', [1, 2], [loop('inner', ['x', 'y', 'z'], [log('leaf')])])]), behaviour(), { now: T0 });
    expect(d.run.state.status).toBe('succeeded');
    expect(d.executions.filter((k) => k.startsWith('leaf'))).toEqual([
      'leaf#0.0',
      'leaf#0.1',
      'leaf#0.2',
      'leaf#1.0',
      'leaf#1.1',
      'leaf#1.2',
    ]);
    expect((d.run.steps.get('outer')!.output as { results: unknown[] }).results).toEqual([
      { count: 3, results: [{ key: 'leaf#0.0' }, { key: 'leaf#0.1' }, { key: 'leaf#0.2' }] },
      { count: 3, results: [{ key: 'leaf#1.0' }, { key: 'leaf#1.1' }, { key: 'leaf#1.2' }] },
    ]);
  });

  it('an item that fails stops new items and fails the loop once the others in flight end', () => {
    const run = fresh([loop('each', items, [call('post')], 2), log('done')]);
    drive(run, behaviour(), { now: T0, crashAfter: 3 }); // begin, start each, the loop opens items 0 and 1
    const post = (i: number) => ({ blockId: 'post', items: [i] });
    const apply = (t: machine.Transition) => machine.applyTransition(run, t);
    apply(machine.startStep(run, CONFIG, T0, post(0)));
    apply(machine.startStep(run, CONFIG, T0, post(1)));
    apply(machine.settleStep(run, CONFIG, T0, post(1), { kind: 'failed', error: 'boom', output: null }));
    // Item 0 is still in flight: the loop waits for it, and opens no new item.
    expect(run.steps.get('each')?.status).toBe('running');
    expect(machine.plan(run, T0, (at) => machine.stepKey(at) === 'post#0')).toEqual([]);
    apply(machine.settleStep(run, CONFIG, T0, post(0), ok()));
    expect(run.state).toMatchObject({ status: 'failed', error: 'step "each" failed: item 1: step "post" failed: boom' });
    expect([...run.frames.values()].filter((f) => f.at.loopId === 'each')).toHaveLength(2);
    expect(run.steps.get('done')?.status).toBe('skipped');
  });

  it("a failing item's waiting siblings are stopped, and the loop's own onError handles it", () => {
    const blocks = [
      loop('each', [0, 1, 2], [delay('nap', 60), call('post')], 3, { onError: 'alert' }),
      log('done', { next: null }),
      log('alert'),
    ];
    const outcomes: Outcomes = (at, run) => {
      if (at.blockId === 'nap' && at.items[0] === 1) return { kind: 'waiting', output: null, wait: { kind: 'delay' }, wakeAt: T0 + 1000 };
      if (at.blockId === 'post' && at.items[0] === 1) return { kind: 'failed', error: 'no', output: null };
      return behaviour()(at, run);
    };
    const d = drive(fresh(blocks), outcomes, { now: T0 });
    expect(d.run.state.status).toBe('succeeded');
    expect(d.run.steps.get('nap#0')).toMatchObject({ status: 'failed', error: 'stopped: another item failed' });
    expect(d.run.steps.get('nap#2')).toMatchObject({ status: 'failed', error: 'stopped: another item failed' });
    expect(d.run.steps.get('each')).toMatchObject({ status: 'failed', error: 'item 1: step "post" failed: no' });
    expect(d.executions).toEqual(['each', 'nap#0', 'nap#1', 'nap#2', 'post#1', 'alert']);
    expect(d.now).toBe(T0 + 1000);
  });
});

describe('a crash between any two writes', () => {
  const shapes: Record<string, Block[]> = {
    'depth 0': [log('a'), delay('nap', 5), call('b'), child('c'), log('d')],
    'depth 1': [log('a'), loop('each', [0, 1, 2], [call('b'), delay('nap', 5), child('c')], 2), log('d')],
    'depth 2': [loop('outer', [0, 1], [log('a'), loop('inner', [0, 1], [call('b'), delay('nap', 5)], 2)]), log('d')],
  };

  for (const [name, blocks] of Object.entries(shapes)) {
    it(`${name}: finished steps never run again, waits resume, seq stays consecutive, the end is the same`, () => {
      const whole = drive(fresh(blocks), behaviour(), { now: T0 });
      expect(whole.run.state.status).toBe('succeeded');
      for (let k = 1; k < whole.writes.length; k++) {
        const run = fresh(blocks);
        const before = drive(run, behaviour(), { now: T0, crashAfter: k });
        expect(before.crashed).toBe(true);
        const atCrash = new Map([...run.steps].map(([key, step]) => [key, step.status]));
        const after = drive(run, behaviour(), { now: before.now });
        const where = `${name}, crash after write ${k}`;
        expect(after.run.state.status, where).toBe('succeeded');
        for (const key of after.executions) {
          // Only a step that was running (interrupted) or not begun runs after the restart; a wait is never redone.
          expect(['running', undefined, 'pending'], `${where}: ${key} ran again`).toContain(atCrash.get(key));
        }
        expect(consecutive([...seqs(before), ...seqs(after)]), where).toBe(true);
        const outputs = (d: machine.RunSnapshot) => JSON.stringify([...d.steps].map(([key, s]) => [key, s.status, s.output]).sort());
        expect(outputs(after.run), where).toBe(outputs(whole.run));
      }
    });
  }

  it('a step that keeps killing its object is given up on after maxExecutions starts', () => {
    const run = fresh([call('x'), log('after')]);
    for (let i = 0; i < CONFIG.maxExecutions; i++) {
      const writes = i === 0 ? 2 : 1; // begin + start, then one start per restart
      drive(run, behaviour(), { now: T0, crashAfter: writes });
    }
    const d = drive(run, behaviour(), { now: T0 });
    expect(d.executions).toEqual([]);
    expect(d.run.state).toMatchObject({ status: 'failed', error: 'step "x" failed: the step was interrupted 3 times; giving up' });
  });
});

describe('cancel', () => {
  it('a waiting run ends cancelled at once, its wait failed as cancelled', () => {
    const run = fresh([loop('each', [0, 1], [delay('nap', 60)], 2), log('after')]);
    drive(run, behaviour(), { now: T0, crashAfter: 7 });
    expect(run.state.status).toBe('waiting');
    const t = machine.cancel(run, CONFIG, T0 + 5, () => false)!;
    machine.applyTransition(run, t);
    expect(run.state.status).toBe('cancelled');
    expect(run.steps.get('nap#0')).toMatchObject({ status: 'failed', error: 'cancelled' });
    expect(run.steps.get('after')?.status).toBe('skipped');
    expect(machine.cancel(run, CONFIG, T0 + 6, () => false)).toBeNull();
  });

  it('a running step is left to end; the run ends cancelled when it does, whatever its outcome', () => {
    const run = fresh([call('x'), log('after')]);
    drive(run, behaviour(), { now: T0, crashAfter: 2 });
    const at = { blockId: 'x', items: [] };
    machine.applyTransition(run, machine.cancel(run, CONFIG, T0, () => true)!);
    expect(run.state).toMatchObject({ status: 'running', cancelRequested: true });
    expect(machine.plan(run, T0, () => true)).toEqual([]);
    machine.applyTransition(run, machine.settleStep(run, CONFIG, T0, at, ok()));
    expect(run.state.status).toBe('cancelled');
  });

  it('a queued run ends cancelled; after a restart, a step left running is abandoned, not started again', () => {
    const queued = fresh([log('a')]);
    machine.applyTransition(queued, machine.cancel(queued, CONFIG, T0, () => false)!);
    expect(queued.state.status).toBe('cancelled');

    const run = fresh([call('x'), log('after')]);
    drive(run, behaviour(), { now: T0, crashAfter: 2 });
    machine.applyTransition(run, machine.cancel(run, CONFIG, T0, () => false)!);
    expect(run.state.status).toBe('cancelled');
    expect(run.steps.get('x')).toMatchObject({ status: 'failed', error: 'cancelled' });
  });
});

describe('steps carried over from an earlier run', () => {
  it('are passed without running: branches follow their stored output, and execution starts at the first not carried', () => {
    const blocks = [log('a'), condition('c', 'yes', 'no'), log('yes', { next: null }), log('no'), loop('each', [0, 1, 2], [call('post')])];
    const run = fresh(blocks);
    const reuse = (blockId: string, output: unknown, items: number[] = []) =>
      run.steps.set(machine.stepKey({ blockId, items }), {
        ...machine.pendingStep({ blockId, items }),
        status: 'succeeded',
        attempts: 1,
        output,
        reused: true,
      });
    reuse('a', { message: 'a' });
    reuse('c', { result: false });
    reuse('no', { message: 'no' });
    reuse('post', { status: 200 }, [0]);
    reuse('post', { status: 200 }, [2]);
    const d = drive(run, behaviour(), { now: T0 });
    expect(d.executions).toEqual(['each', 'post#1']);
    expect(statusOf(d, 'yes')).toBe('skipped');
    expect(d.run.steps.get('each')?.output).toEqual({ count: 3, results: [{ status: 200 }, { key: 'post#1' }, { status: 200 }] });
  });
});
