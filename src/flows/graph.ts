import { BLOCKS, BRANCHING_TYPES } from '../blocks/registry';
import type { BlockSpec } from '../blocks/types';
import type { Block } from './definition';
import { checkRef, forEachString, placeholders } from './templates';

type Edge = 'next' | 'then' | 'else';

/** A problem in a flow's graph, at a path inside the flow body. */
export interface GraphIssue {
  path: Array<string | number>;
  message: string;
}

/**
 * The id of the block that runs after `block` along `edge`: the named block,
 * `null` (end of run), or, when the edge is absent, the following block.
 */
export function successor(blocks: readonly Block[], index: number, edge: Edge): string | null {
  const block = blocks[index]!;
  const target = block[edge];
  if (target !== undefined) return target;
  return blocks[index + 1]?.id ?? null;
}

/** The edges a block leaves by. */
export function edgesOf(block: Block): Edge[] {
  return BRANCHING_TYPES.has(block.type) ? ['then', 'else'] : ['next'];
}

/**
 * Checks what a schema cannot: unique ids, successors that resolve, no
 * cycle, and template placeholders with known roots and block references.
 * Returns every problem with its path; empty when the graph is sound.
 */
export function checkGraph(blocks: readonly Block[]): GraphIssue[] {
  const details: GraphIssue[] = [];
  const indexById = new Map<string, number>();
  blocks.forEach((block, i) => {
    if (indexById.has(block.id)) details.push({ path: ['blocks', i, 'id'], message: `duplicate block id "${block.id}"` });
    else indexById.set(block.id, i);
  });

  blocks.forEach((block, i) => {
    for (const edge of edgesOf(block)) {
      const target = block[edge];
      if (typeof target === 'string' && !indexById.has(target)) {
        details.push({ path: ['blocks', i, edge], message: `no block with id "${target}"` });
      }
    }
  });
  if (details.length === 0) details.push(...findCycle(blocks, indexById));

  const ids = new Set(indexById.keys());
  blocks.forEach((block, i) => {
    const secretParams: readonly string[] = (BLOCKS[block.type] as BlockSpec).secretParams ?? [];
    forEachString(block.params, ['blocks', i, 'params'], (text, path) => {
      for (const ref of placeholders(text)) {
        let problem = 'invalid' in ref ? `invalid placeholder {{${ref.raw}}}` : checkRef(ref, ids);
        if (!problem && !('invalid' in ref) && ref.root === 'SECRETS' && !secretParams.includes(String(path[3]))) {
          problem = secretParams.length
            ? `${block.type} blocks can use secrets only in ${secretParams.join(', ')}`
            : `${block.type} blocks cannot use secrets: what they do would reveal them`;
        }
        if (problem) details.push({ path, message: problem });
      }
    });
  });
  return details;
}

/** Depth-first search over successor edges; reports the edge that closes the first cycle found. */
function findCycle(blocks: readonly Block[], indexById: ReadonlyMap<string, number>): GraphIssue[] {
  const state = new Uint8Array(blocks.length); // 0 unvisited, 1 on the current path, 2 done
  for (let start = 0; start < blocks.length; start++) {
    if (state[start] !== 0) continue;
    // An explicit stack of [block index, edges left to follow] keeps deep chains off the call stack.
    const stack: Array<[number, Edge[]]> = [[start, edgesOf(blocks[start]!)]];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const edge = top[1].shift();
      if (!edge) {
        state[top[0]] = 2;
        stack.pop();
        continue;
      }
      const targetId = successor(blocks, top[0], edge);
      if (targetId === null) continue;
      const target = indexById.get(targetId)!;
      if (state[target] === 1) {
        return [{ path: ['blocks', top[0], edge], message: `"${blocks[top[0]]!.id}" → "${targetId}" makes a cycle` }];
      }
      if (state[target] === 0) {
        state[target] = 1;
        stack.push([target, edgesOf(blocks[target]!)]);
      }
    }
  }
  return [];
}
