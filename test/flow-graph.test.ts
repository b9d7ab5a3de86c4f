/**
 * The graph rules shared by the Worker and the page (web/js/shared/flow-graph.js),
 * driven by shapes as the block catalogue serves them: nothing in the module
 * knows a block type by name.
 */
import { describe, expect, it } from 'vitest';
import { type BlockShape, flowGraph, type GraphBlock } from '../web/js/shared/flow-graph.js';

const SHAPES: Record<string, BlockShape> = {
  step: { exits: [{ field: 'next', absent: 'following' }] },
  fork: {
    exits: [
      { field: 'yes', absent: 'following' },
      { field: 'no', absent: 'following' },
    ],
  },
  pick: {
    exits: [
      { cases: 'options', field: 'to' },
      { field: 'otherwise', absent: 'end' },
    ],
  },
  loop: { exits: [{ field: 'next', absent: 'following' }], chain: 'body' },
};
const graph = flowGraph((type) => SHAPES[type]);
const b = (id: string, type = 'step', rest: Record<string, unknown> = {}): GraphBlock => ({ id, type, params: {}, ...rest });

describe('the shared flow graph', () => {
  it('follows written exits, falls through when one is absent, and ends where the shape says', () => {
    const chain = [b('a', 'fork', { no: 'c' }), b('b'), b('c', 'pick', { params: { options: [{ to: 'a' }, { to: null }] } }), b('d')];
    expect(graph.exits(chain, 0)).toEqual([
      { edge: 'yes', target: 'b', implicit: true, path: ['yes'] },
      { edge: 'no', target: 'c', implicit: false, path: ['no'] },
    ]);
    expect(graph.exits(chain, 2).map((e) => [e.edge, e.target])).toEqual([
      ['options[0]', 'a'],
      ['options[1]', null],
      ['otherwise', null],
    ]);
    expect(graph.target(chain, 3, 'next')).toBeNull();
    expect(graph.exits([b('x', 'step', { onError: 'y' }), b('y')], 0).at(-1)).toEqual({
      edge: 'onError',
      target: 'y',
      implicit: false,
      path: ['onError'],
    });
  });

  it('an unknown type has one next exit', () => {
    expect(graph.exits([b('a', 'mystery'), b('b')], 0).map((e) => e.target)).toEqual(['b']);
  });

  it('finds a cycle through any exit, error paths included, and names the exit that closes it', () => {
    expect(graph.findCycle([b('a'), b('b', 'step', { next: 'c' }), b('c')])).toBeNull();
    const cycle = graph.findCycle([b('a', 'step', { onError: 'c' }), b('b', 'step', { next: 'c' }), b('c', 'step', { next: 'a' })]);
    expect(cycle?.ids).toEqual(['a', 'b', 'c', 'a']);
    expect(cycle?.exit).toMatchObject({ edge: 'next', target: 'a', path: ['next'] });
    expect(cycle?.index).toBe(2);
  });

  it('lists the blocks only a branch not taken reaches (rejoining branches stay)', () => {
    const chain = [b('f', 'fork', { yes: 'y', no: 'n' }), b('y', 'step', { next: 'join' }), b('n', 'step', { next: 'join' }), b('join')];
    expect(graph.notTaken(chain, 0, 'yes')).toEqual(['n']);
    expect(graph.notTaken(chain, 0, 'no')).toEqual(['y']);
  });

  it('walks nested chains through the param the shape names', () => {
    const chain = [b('l', 'loop', { params: { body: [b('i1'), b('i2', 'loop', { params: { body: [b('deep')] } })] } }), b('after')];
    expect(graph.allBlocks(chain).map(({ block, depth, owner }) => `${block.id}:${depth}:${owner?.id ?? '-'}`)).toEqual([
      'l:0:-',
      'i1:1:l',
      'i2:1:l',
      'deep:2:i2',
      'after:0:-',
    ]);
    expect(graph.nestedChain(b('x', 'step', { params: { body: [b('no')] } }))).toBeNull();
  });
});
