/**
 * The graph rules of a flow, shared by the Worker (validation, the run
 * engine) and the page (the canvas): where each block's exits lead, which
 * blocks hold a nested chain, cycles, and what a branch not taken leaves
 * unreachable. Plain JavaScript with JSDoc types, so the page loads it as is
 * and TypeScript checks it for both.
 *
 * Nothing here knows a block type by name: each type's `shape` (its exits
 * and the param that holds a nested chain) comes from the block catalogue,
 * `GET /v1/blocks` on the page and the block descriptors in the Worker.
 */

/**
 * One kind of way out of a block.
 * - `{ field, absent }`: the block field `field` names the next block; absent,
 *   it falls through to the following block of the chain (`following`) or
 *   ends the chain (`end`); null ends it.
 * - `{ cases, field }`: each entry of the param array `cases` names a block
 *   in its `field` (null ends the chain); its edge is `<cases>[<i>]`.
 * @typedef {{ field: string, absent: 'following' | 'end' } | { cases: string, field: string }} ExitSpec
 */

/**
 * What the graph needs to know of a block type.
 * @typedef {{ exits: ExitSpec[], chain?: string | null }} BlockShape
 */

/**
 * One way out of a block: its edge (`next`, `then`, `cases[1]`, `default`,
 * `onError`…), where it goes (null: the chain ends), whether that comes from
 * the chain's order rather than a written field, and where it is written,
 * relative to the block.
 * @typedef {{ edge: string, target: string | null, implicit: boolean, path: Array<string | number> }} Exit
 */

/**
 * A block as the graph reads it: an id, a type, params and exit fields.
 * @typedef {{ id: string, type: string, params?: unknown, onError?: unknown, [field: string]: unknown }} GraphBlock
 */

/** The shape of a block type the catalogue does not know: one `next` exit. @type {BlockShape} */
const PLAIN = { exits: [{ field: 'next', absent: 'following' }] };

/** @param {unknown} value @returns {value is Record<string, any>} */
const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** @param {unknown} value @returns {value is GraphBlock} */
export const isGraphBlock = (value) => isObject(value) && typeof value.id === 'string';

/**
 * The graph functions for one catalogue of block shapes.
 * @param {(type: string) => BlockShape | undefined} shapeOf
 */
export function flowGraph(shapeOf) {
  /** @param {GraphBlock} block */
  const shape = (block) => shapeOf(block.type) ?? PLAIN;

  /**
   * The nested chain a block holds (a loop's body), or null.
   * @param {GraphBlock | null | undefined} block
   * @returns {GraphBlock[] | null}
   */
  function nestedChain(block) {
    if (!block) return null;
    const param = shape(block).chain;
    const chain = param && isObject(block.params) ? block.params[param] : undefined;
    return Array.isArray(chain) ? chain : null;
  }

  /**
   * Every way out of `chain[index]`, `onError` last.
   * @param {readonly GraphBlock[]} chain @param {number} index
   * @returns {Exit[]}
   */
  function exits(chain, index) {
    const block = chain[index];
    if (!isGraphBlock(block)) return [];
    const next = chain[index + 1];
    const following = isGraphBlock(next) ? next.id : null;
    /** @type {Exit[]} */
    const out = [];
    for (const spec of shape(block).exits) {
      if ('cases' in spec) {
        const cases = isObject(block.params) && Array.isArray(block.params[spec.cases]) ? block.params[spec.cases] : [];
        cases.forEach((/** @type {unknown} */ entry, /** @type {number} */ i) => {
          const written = isObject(entry) ? entry[spec.field] : undefined;
          out.push({
            edge: `${spec.cases}[${i}]`,
            target: typeof written === 'string' ? written : null,
            implicit: false,
            path: ['params', spec.cases, i, spec.field],
          });
        });
        continue;
      }
      const written = block[spec.field];
      const implicit = written === undefined;
      const target = implicit ? (spec.absent === 'following' ? following : null) : typeof written === 'string' ? written : null;
      out.push({ edge: spec.field, target, implicit: implicit && spec.absent === 'following', path: [spec.field] });
    }
    if (typeof block.onError === 'string') out.push({ edge: 'onError', target: block.onError, implicit: false, path: ['onError'] });
    return out;
  }

  /**
   * Where the chain goes after `chain[index]` along `edge` (null: it ends).
   * @param {readonly GraphBlock[]} chain @param {number} index @param {string} edge
   */
  function target(chain, index, edge) {
    return exits(chain, index).find((exit) => exit.edge === edge)?.target ?? null;
  }

  /**
   * Every block of a chain and of the chains nested in it, depth first, with
   * the chain it sits in, its index there, the block whose chain that is and
   * how deep (0: the top level).
   * @param {readonly GraphBlock[]} chain
   * @returns {Array<{ block: GraphBlock, chain: readonly GraphBlock[], index: number, owner: GraphBlock | null, depth: number }>}
   */
  function allBlocks(chain) {
    /** @type {ReturnType<typeof allBlocks>} */
    const out = [];
    /** @param {readonly GraphBlock[]} at @param {GraphBlock | null} owner @param {number} depth */
    const walk = (at, owner, depth) => {
      at.forEach((block, index) => {
        if (!isGraphBlock(block)) return;
        out.push({ block, chain: at, index, owner, depth });
        const nested = nestedChain(block);
        if (nested) walk(nested, block, depth + 1);
      });
    };
    walk(chain, null, 0);
    return out;
  }

  /**
   * The first cycle through a chain's exits (error paths included), as the
   * ids along it ending where it closes, with the exit that closes it; null
   * when the chain has none. An explicit stack keeps long chains off the
   * call stack.
   * @param {readonly GraphBlock[]} chain
   * @returns {{ ids: string[], index: number, exit: Exit } | null}
   */
  function findCycle(chain) {
    /** @type {Map<string, number>} */
    const indexById = new Map();
    chain.forEach((block, i) => {
      if (isGraphBlock(block) && !indexById.has(block.id)) indexById.set(block.id, i);
    });
    const state = new Uint8Array(chain.length); // 0 unvisited, 1 on the current path, 2 done
    for (let start = 0; start < chain.length; start++) {
      if (state[start] !== 0) continue;
      /** @type {Array<[number, Exit[]]>} */
      const stack = [[start, exits(chain, start)]];
      state[start] = 1;
      while (stack.length > 0) {
        const top = /** @type {[number, Exit[]]} */ (stack[stack.length - 1]);
        const exit = top[1].shift();
        if (!exit) {
          state[top[0]] = 2;
          stack.pop();
          continue;
        }
        const next = exit.target === null ? undefined : indexById.get(exit.target);
        if (next === undefined) continue;
        if (state[next] === 1) {
          const path = stack.map(([i]) => /** @type {GraphBlock} */ (chain[i]).id);
          const ids = [...path.slice(path.indexOf(/** @type {string} */ (exit.target))), /** @type {string} */ (exit.target)];
          return { ids, index: top[0], exit };
        }
        if (state[next] === 0) {
          state[next] = 1;
          stack.push([next, exits(chain, next)]);
        }
      }
    }
    return null;
  }

  /**
   * The ids reachable from `starts` along every exit of a chain.
   * @param {readonly GraphBlock[]} chain @param {ReadonlyArray<string | null>} starts
   * @returns {Set<string>}
   */
  function reachable(chain, starts) {
    /** @type {Set<string>} */
    const seen = new Set();
    const stack = starts.filter((id) => id !== null);
    for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
      if (seen.has(id)) continue;
      seen.add(id);
      const i = chain.findIndex((block) => block.id === id);
      for (const exit of exits(chain, i)) if (exit.target) stack.push(exit.target);
    }
    return seen;
  }

  /**
   * The ids reachable only through the exits of `chain[index]` other than
   * `taken` (error paths count as reachable): the blocks a branch not taken
   * leaves out of the run.
   * @param {readonly GraphBlock[]} chain @param {number} index @param {string} taken
   * @returns {string[]}
   */
  function notTaken(chain, index, taken) {
    const all = exits(chain, index).filter((exit) => exit.edge !== 'onError');
    const viaTaken = reachable(
      chain,
      all.filter((exit) => exit.edge === taken).map((exit) => exit.target),
    );
    const viaOthers = reachable(
      chain,
      all.filter((exit) => exit.edge !== taken).map((exit) => exit.target),
    );
    return [...viaOthers].filter((id) => !viaTaken.has(id));
  }

  return { nestedChain, exits, target, allBlocks, findCycle, reachable, notTaken };
}
