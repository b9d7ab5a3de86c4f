import { BLOCKS, exitFields } from '../blocks/registry';
import type { BlockSpec } from '../blocks/types';
import type { Block } from './definition';
import { checkRef, forEachString, placeholders, type Segment } from './templates';

/** At most this many blocks in a flow, nested ones included. */
export const MAX_FLOW_BLOCKS = 100;
/** `for_each` chains may nest this deep (a loop inside a loop, no deeper). */
export const MAX_NESTING = 2;

/** A problem in a flow's graph, at a path inside the flow body. */
export interface GraphIssue {
  path: Segment[];
  message: string;
}

/** One way out of a block: its name (`next`, `then`, `cases[1]`, `default`, `onError`…), the target (null: the chain ends), and the field that names it. */
export interface Exit {
  edge: string;
  target: string | null;
  /** Where the target is written, relative to the block. */
  path: Segment[];
}

/**
 * Every way out of `chain[index]`. An absent `next`, `then` or `else` falls
 * through to the following block of the chain; a switch case names its
 * target (null ends the chain), and a switch without `default` ends the
 * chain when no case matches. `onError` is followed only on failure.
 */
export function exits(chain: readonly Block[], index: number): Exit[] {
  const block = chain[index]!;
  const following = chain[index + 1]?.id ?? null;
  const out: Exit[] = [];
  if (block.type === 'switch') {
    const cases = (block.params as { cases?: Array<{ next: string | null }> }).cases ?? [];
    cases.forEach((c, i) => {
      out.push({ edge: `cases[${i}]`, target: c.next, path: ['params', 'cases', i, 'next'] });
    });
    out.push({ edge: 'default', target: block.default ?? null, path: ['default'] });
  } else {
    for (const field of exitFields(block.type)) {
      const written = (block as unknown as Record<string, string | null | undefined>)[field];
      out.push({ edge: field, target: written === undefined ? following : written, path: [field] });
    }
  }
  if (block.onError) out.push({ edge: 'onError', target: block.onError, path: ['onError'] });
  return out;
}

/** Where the chain goes after `chain[index]` along `edge` (null: it ends). */
export function target(chain: readonly Block[], index: number, edge: string): string | null {
  return exits(chain, index).find((exit) => exit.edge === edge)?.target ?? null;
}

/** The nested chain of a `for_each` block, if it is one. */
export const chainOf = (block: Block): readonly Block[] | null =>
  block.type === 'for_each' ? ((block.params as unknown as { blocks: Block[] }).blocks ?? null) : null;

/** Every block of the flow, nested ones included, with the chain it belongs to. */
export function allBlocks(chain: readonly Block[]): Array<{ block: Block; chain: readonly Block[] }> {
  return chain.flatMap((block) => {
    const nested = chainOf(block);
    return [{ block, chain }, ...(nested ? allBlocks(nested) : [])];
  });
}

/**
 * Checks what a schema cannot: ids unique across the flow, exits that
 * resolve inside their own chain, no cycle (error paths included), the
 * limits on nesting and size, and template placeholders with known roots,
 * visible block references and secrets only where a block allows them.
 * Returns every problem with its path; empty when the graph is sound.
 */
export function checkGraph(blocks: readonly Block[]): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const seen = new Set<string>();
  let total = 0;
  const visit = (chain: readonly Block[], path: Segment[], depth: number, visible: ReadonlySet<string>) => {
    const ids = new Set(visible);
    const indexById = new Map<string, number>();
    chain.forEach((block, i) => {
      total++;
      if (seen.has(block.id)) issues.push({ path: [...path, i, 'id'], message: `duplicate block id "${block.id}"` });
      seen.add(block.id);
      if (!indexById.has(block.id)) indexById.set(block.id, i);
      ids.add(block.id);
    });
    const before = issues.length;
    chain.forEach((_block, i) => {
      for (const exit of exits(chain, i)) {
        if (exit.target !== null && !indexById.has(exit.target)) {
          issues.push({ path: [...path, i, ...exit.path], message: `no block with id "${exit.target}" in this chain` });
        }
      }
    });
    if (issues.length === before) issues.push(...findCycle(chain, indexById, path));
    chain.forEach((block, i) => {
      issues.push(...templateIssues(block, [...path, i], ids, depth > 0));
      const nested = chainOf(block);
      if (!nested) return;
      if (depth + 1 > MAX_NESTING) {
        issues.push({ path: [...path, i, 'params', 'blocks'], message: `for_each blocks nest at most ${MAX_NESTING} levels deep` });
        return;
      }
      visit(nested, [...path, i, 'params', 'blocks'], depth + 1, ids);
    });
  };
  visit(blocks, ['blocks'], 0, new Set());
  if (total > MAX_FLOW_BLOCKS)
    issues.push({ path: ['blocks'], message: `at most ${MAX_FLOW_BLOCKS} blocks in a flow, nested ones included (found ${total})` });
  return issues;
}

/** Placeholders of one block's own params (a nested chain is checked as its own blocks). */
function templateIssues(block: Block, path: Segment[], ids: ReadonlySet<string>, inLoop: boolean): GraphIssue[] {
  const spec = BLOCKS[block.type] as BlockSpec;
  const secretParams: readonly string[] = spec.secretParams ?? [];
  const issues: GraphIssue[] = [];
  for (const [name, value] of Object.entries(block.params as Record<string, unknown>)) {
    if (spec.unrendered?.includes(name)) continue;
    forEachString(value, [...path, 'params', name], (text, at) => {
      for (const ref of placeholders(text)) {
        let problem = 'invalid' in ref ? `invalid placeholder {{${ref.raw}}}` : checkRef(ref, ids, inLoop);
        if (!problem && !('invalid' in ref) && ref.root === 'SECRETS' && !secretParams.includes(name)) {
          problem = secretParams.length
            ? `${block.type} blocks can use secrets only in ${secretParams.join(', ')}`
            : `${block.type} blocks cannot use secrets: what they do would reveal them`;
        }
        if (problem) issues.push({ path: at, message: problem });
      }
    });
  }
  return issues;
}

/** Depth-first search over every exit of a chain; reports the exit that closes the first cycle found. */
function findCycle(chain: readonly Block[], indexById: ReadonlyMap<string, number>, path: Segment[]): GraphIssue[] {
  const state = new Uint8Array(chain.length); // 0 unvisited, 1 on the current path, 2 done
  for (let start = 0; start < chain.length; start++) {
    if (state[start] !== 0) continue;
    // An explicit stack of [block index, exits left to follow] keeps deep chains off the call stack.
    const stack: Array<[number, Exit[]]> = [[start, exits(chain, start)]];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const exit = top[1].shift();
      if (!exit) {
        state[top[0]] = 2;
        stack.pop();
        continue;
      }
      if (exit.target === null) continue;
      const next = indexById.get(exit.target)!;
      if (state[next] === 1) {
        return [{ path: [...path, top[0], ...exit.path], message: `"${chain[top[0]]!.id}" → "${exit.target}" makes a cycle` }];
      }
      if (state[next] === 0) {
        state[next] = 1;
        stack.push([next, exits(chain, next)]);
      }
    }
  }
  return [];
}
