import { flowGraph } from '../../web/js/shared/flow-graph.js';
import { BLOCKS, shapeOf } from '../blocks/registry';
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

/** One way out of a block (see web/js/shared/flow-graph.js, the rules the page follows too). */
export interface Exit {
  edge: string;
  target: string | null;
  /** Whether the target comes from the chain's order rather than a written field. */
  implicit: boolean;
  /** Where the target is written, relative to the block. */
  path: Segment[];
}

const graph = flowGraph(shapeOf);

/**
 * Every way out of `chain[index]`. An absent `next`, `then` or `else` falls
 * through to the following block of the chain; a switch case names its
 * target (null ends the chain), and a switch without `default` ends the
 * chain when no case matches. `onError` is followed only on failure.
 */
export const exits = (chain: readonly Block[], index: number): Exit[] => graph.exits(chain, index);

/** Where the chain goes after `chain[index]` along `edge` (null: it ends). */
export const target = (chain: readonly Block[], index: number, edge: string): string | null => graph.target(chain, index, edge);

/** The nested chain a block holds (a `for_each` body), if it holds one. */
export const chainOf = (block: Block): readonly Block[] | null => graph.nestedChain(block) as Block[] | null;

/** Every block of the flow, nested ones included, with the chain it belongs to. */
export const allBlocks = (chain: readonly Block[]): Array<{ block: Block; chain: readonly Block[] }> =>
  graph.allBlocks(chain) as Array<{ block: Block; chain: readonly Block[] }>;

/** Blocks reachable only through the exits of `chain[index]` not taken (error paths count as reachable). */
export const notTaken = (chain: readonly Block[], index: number, taken: string): string[] => graph.notTaken(chain, index, taken);

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
  // The blocks that take events (wait_for_event): the only ones with a callback URL.
  const eventBlocks = new Set(
    allBlocks(blocks).flatMap(({ block }) => ((BLOCKS[block.type] as BlockSpec | undefined)?.acceptsEvents ? [block.id] : [])),
  );
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
    if (issues.length === before) issues.push(...cycleIssues(chain, path));
    chain.forEach((block, i) => {
      issues.push(...templateIssues(block, [...path, i], ids, depth > 0, eventBlocks));
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
function templateIssues(
  block: Block,
  path: Segment[],
  ids: ReadonlySet<string>,
  inLoop: boolean,
  eventBlocks: ReadonlySet<string>,
): GraphIssue[] {
  const spec = BLOCKS[block.type] as BlockSpec;
  const secretParams: readonly string[] = spec.secretParams ?? [];
  const issues: GraphIssue[] = [];
  for (const [name, value] of Object.entries(block.params as Record<string, unknown>)) {
    if (spec.unrendered?.includes(name)) continue;
    forEachString(value, [...path, 'params', name], (text, at) => {
      for (const ref of placeholders(text)) {
        let problem = 'invalid' in ref ? `invalid placeholder {{${ref.raw}}}` : checkRef(ref, ids, inLoop, eventBlocks);
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

/** The exit that closes the first cycle of a chain, as an issue at its path. */
function cycleIssues(chain: readonly Block[], path: Segment[]): GraphIssue[] {
  const cycle = graph.findCycle(chain);
  if (!cycle) return [];
  const from = chain[cycle.index]!.id;
  return [{ path: [...path, cycle.index, ...cycle.exit.path], message: `"${from}" → "${cycle.exit.target}" makes a cycle` }];
}
