/**
 * A flow definition seen as a graph, without any DOM. Chains are the top
 * level and each `for_each` body; a block's exits are followed exactly as the
 * engine follows them (src/flows/graph.ts): an absent `next`, `then` or
 * `else` falls through to the following block of the chain, an absent switch
 * `default` ends the chain, `onError` is an exit too.
 *
 * The edits the canvas makes (connect, disconnect, add, remove, duplicate,
 * rename, make first) keep the run's meaning of every edge the user did not
 * touch, and keep the JSON minimal: before an edit every fall-through edge is
 * written out ("pinned"), after it each pinned edge that the array order
 * already implies is removed again. So a flow drawn on the canvas reads like
 * one written by hand, and a flow written by hand keeps its own shape.
 */

export const BLOCK_ID = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * @typedef {Record<string, any>} Block
 * @typedef {{ name?: unknown, trigger?: any, blocks?: unknown, [key: string]: unknown }} Definition
 * @typedef {{ port: string, target: string | null, implicit: boolean }} Exit
 * @typedef {{ port: string, label: string, kind: 'next' | 'branch' | 'case' | 'default' | 'error' }} Port
 * @typedef {{ block: Block, chain: Block[], index: number, owner: Block | null, path: Array<string | number>, depth: number }} Located
 */

/** Exits that fall through to the following block when absent. */
const FALLS_THROUGH = new Set(['next', 'then', 'else']);

/** @param {unknown} value @returns {value is Block} */
export const isBlock = (value) =>
  Boolean(value) && typeof value === 'object' && !Array.isArray(value) && typeof (/** @type {any} */ (value).id) === 'string';

/** The top-level chain (an array, even when the definition's is not). @param {Definition} def @returns {Block[]} */
export function topChain(def) {
  if (!Array.isArray(def.blocks)) def.blocks = [];
  return /** @type {Block[]} */ (def.blocks);
}

/** The nested chain of a `for_each` block, or null. @param {Block | null | undefined} block @returns {Block[] | null} */
export function nestedChain(block) {
  if (block?.type !== 'for_each' || !block.params || typeof block.params !== 'object') return null;
  if (!Array.isArray(block.params.blocks)) return null;
  return block.params.blocks;
}

/**
 * Every block with where it sits, depth first (a for_each, then its body).
 * @param {Definition} def
 * @returns {Located[]}
 */
export function allBlocks(def) {
  /** @type {Located[]} */
  const out = [];
  /** @param {Block[]} chain @param {Block | null} owner @param {Array<string|number>} path @param {number} depth */
  const walk = (chain, owner, path, depth) => {
    chain.forEach((block, index) => {
      if (!isBlock(block)) return;
      const at = [...path, index];
      out.push({ block, chain, index, owner, path: at, depth });
      const nested = nestedChain(block);
      if (nested && depth < 4) walk(nested, block, [...at, 'params', 'blocks'], depth + 1);
    });
  };
  walk(Array.isArray(def.blocks) ? /** @type {Block[]} */ (def.blocks) : [], null, ['blocks'], 0);
  return out;
}

/** @param {Definition} def @param {string} id @returns {Located | null} */
export function locate(def, id) {
  return allBlocks(def).find((l) => l.block.id === id) ?? null;
}

/** The chain a new block goes into: the top level, or a for_each's body. @param {Definition} def @param {string | null} ownerId */
export function chainOf(def, ownerId) {
  if (ownerId === null) return topChain(def);
  return nestedChain(locate(def, ownerId)?.block) ?? null;
}

/**
 * Every way out of `chain[index]`, as the engine follows them.
 * @param {Block[]} chain @param {number} index
 * @returns {Exit[]}
 */
export function exits(chain, index) {
  const block = chain[index];
  if (!isBlock(block)) return [];
  const next = chain[index + 1];
  const following = isBlock(next) ? next.id : null;
  /** @type {Exit[]} */
  const out = [];
  if (block.type === 'switch') {
    const cases = Array.isArray(block.params?.cases) ? block.params.cases : [];
    cases.forEach((/** @type {any} */ c, /** @type {number} */ i) => {
      out.push({ port: `cases[${i}]`, target: typeof c?.next === 'string' ? c.next : null, implicit: false });
    });
    out.push({ port: 'default', target: typeof block.default === 'string' ? block.default : null, implicit: false });
  } else {
    for (const field of exitFields(block.type)) {
      const written = block[field];
      out.push(
        written === undefined
          ? { port: field, target: following, implicit: true }
          : { port: field, target: typeof written === 'string' ? written : null, implicit: false },
      );
    }
  }
  if (typeof block.onError === 'string') out.push({ port: 'onError', target: block.onError, implicit: false });
  return out;
}

/** Branch fields by block type, from `GET /v1/blocks` (`branches`). @type {Map<string, string[]>} */
const branchFields = new Map();

/**
 * Teaches the model the catalogue's branch fields (e.g. `["then","else","onError"]`).
 * @param {Array<{ type: string, branches?: string[] }>} catalogue
 */
export function learnBranches(catalogue) {
  for (const item of catalogue) {
    if (!Array.isArray(item.branches)) continue;
    branchFields.set(
      item.type,
      item.branches.filter((b) => b !== 'onError' && !b.startsWith('params.')),
    );
  }
}

/** The block fields that name the block after it (switch cases aside). @param {string} type */
export function exitFields(type) {
  const known = branchFields.get(type);
  if (known) return type === 'switch' ? known.filter((f) => f !== 'default') : known;
  if (type === 'condition') return ['then', 'else'];
  if (type === 'switch') return [];
  return ['next'];
}

/**
 * The output ports a card shows, in order: its exits, then `onError`.
 * @param {Block} block
 * @returns {Port[]}
 */
export function portsOf(block) {
  /** @type {Port[]} */
  const ports = [];
  if (block.type === 'switch') {
    const cases = Array.isArray(block.params?.cases) ? block.params.cases : [];
    cases.forEach((/** @type {any} */ c, /** @type {number} */ i) => {
      ports.push({ port: `cases[${i}]`, label: `= ${caseLabel(c?.equals)}`, kind: 'case' });
    });
    ports.push({ port: 'default', label: 'default', kind: 'default' });
  } else {
    for (const field of exitFields(block.type)) {
      ports.push({ port: field, label: field, kind: field === 'next' ? 'next' : 'branch' });
    }
  }
  ports.push({ port: 'onError', label: 'on error', kind: 'error' });
  return ports;
}

/** @param {unknown} value */
function caseLabel(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text === undefined ? '?' : text.length > 18 ? `${text.slice(0, 17)}…` : text;
}

/** Where an exit goes now. @param {Block[]} chain @param {number} index @param {string} port */
export function exitTarget(chain, index, port) {
  return exits(chain, index).find((e) => e.port === port)?.target ?? null;
}

/** Writes one exit field. @param {Block} block @param {string} port @param {string | null} target */
function writePort(block, port, target) {
  const m = /^cases\[(\d+)\]$/.exec(port);
  if (m) {
    const c = block.params?.cases?.[Number(m[1])];
    if (c && typeof c === 'object') c.next = target;
    return;
  }
  if (port === 'onError' || port === 'default') {
    if (target === null) delete block[port];
    else block[port] = target;
    return;
  }
  block[port] = target;
}

/**
 * Writes every fall-through exit of the chain explicitly.
 * @param {Block[]} chain
 * @returns {Array<[Block, string]>} what was written
 */
function pin(chain) {
  /** @type {Array<[Block, string]>} */
  const pinned = [];
  chain.forEach((block, i) => {
    for (const exit of exits(chain, i)) {
      if (!exit.implicit) continue;
      block[exit.port] = exit.target;
      pinned.push([block, exit.port]);
    }
  });
  return pinned;
}

/**
 * Removes each listed exit field again where the array order already implies it.
 * @param {Block[]} chain @param {Array<[Block, string]>} fields
 */
function unpin(chain, fields) {
  for (const [block, port] of fields) {
    if (!FALLS_THROUGH.has(port) || !(port in block)) continue;
    const index = chain.indexOf(block);
    if (index < 0) continue;
    const next = chain[index + 1];
    const following = isBlock(next) ? next.id : null;
    const value = block[port];
    if ((following !== null && value === following) || (following === null && value === null)) delete block[port];
  }
}

/**
 * Runs an edit of a chain with its fall-through edges pinned, then unpins
 * them (and the fields the edit names).
 * @param {Block[]} chain @param {() => Array<[Block, string]> | void} edit
 */
function withPinned(chain, edit) {
  const pinned = pin(chain);
  const touched = edit() ?? [];
  unpin(chain, [...pinned, ...touched]);
}

/**
 * The ids of a cycle through the chain's exits, or null when there is none.
 * @param {Block[]} chain
 * @returns {string[] | null}
 */
export function findCycle(chain) {
  /** @type {Map<string, number>} */
  const indexById = new Map();
  chain.forEach((b, i) => {
    if (isBlock(b) && !indexById.has(b.id)) indexById.set(b.id, i);
  });
  const state = new Uint8Array(chain.length);
  /** @type {string[]} */
  const stack = [];
  /** @param {number} i @returns {string[] | null} */
  const visit = (i) => {
    state[i] = 1;
    stack.push(chain[i]?.id);
    for (const exit of exits(chain, i)) {
      if (exit.target === null) continue;
      const j = indexById.get(exit.target);
      if (j === undefined) continue;
      if (state[j] === 1) return [...stack.slice(stack.indexOf(exit.target)), exit.target];
      if (state[j] === 0) {
        const found = visit(j);
        if (found) return found;
      }
    }
    state[i] = 2;
    stack.pop();
    return null;
  };
  for (let i = 0; i < chain.length; i++) {
    if (state[i] !== 0) continue;
    const found = visit(i);
    if (found) return found;
  }
  return null;
}

/**
 * Why `from.port → to` cannot be drawn, or null when it can.
 * @param {Definition} def @param {string} fromId @param {string} port @param {string} toId
 */
export function connectionProblem(def, fromId, port, toId) {
  const from = locate(def, fromId);
  const to = locate(def, toId);
  if (!from || !to) return 'That block no longer exists.';
  if (fromId === toId) return 'A block cannot lead to itself: flows must not loop.';
  if (from.chain !== to.chain) {
    return to.owner?.id === fromId || from.owner?.id === toId
      ? 'A loop body is reached through “Each item”, not from the loop itself.'
      : 'Blocks connect only within the same chain: the top level, or one Apply on Each body.';
  }
  const trial = /** @type {Block[]} */ (JSON.parse(JSON.stringify(from.chain)));
  const block = trial[from.index];
  if (!block) return 'That block no longer exists.';
  pin(trial);
  writePort(block, port, toId);
  const cycle = findCycle(trial);
  if (cycle) return `That would make a loop (${cycle.join(' → ')}): flows must not loop.`;
  return null;
}

/**
 * Points an exit at a block (or at the end, with null). Returns why not, or null when done.
 * @param {Definition} def @param {string} fromId @param {string} port @param {string | null} toId
 */
export function connect(def, fromId, port, toId) {
  if (toId !== null) {
    const problem = connectionProblem(def, fromId, port, toId);
    if (problem) return problem;
  }
  const from = locate(def, fromId);
  if (!from) return 'That block no longer exists.';
  withPinned(from.chain, () => {
    writePort(from.block, port, toId);
    return [[from.block, port]];
  });
  return null;
}

/**
 * Makes a block the first of its chain (where the trigger, or "Each item", leads).
 * @param {Definition} def @param {string} id
 */
export function makeFirst(def, id) {
  const at = locate(def, id);
  if (!at || at.index === 0) return;
  withPinned(at.chain, () => {
    at.chain.splice(at.index, 1);
    at.chain.unshift(at.block);
  });
}

/**
 * Appends a block to a chain, connected to nothing (the first block of an
 * empty chain is where the chain starts).
 * @param {Block[]} chain @param {Block} block
 */
export function addBlock(chain, block) {
  withPinned(chain, () => {
    chain.push(block);
  });
}

/**
 * Removes a block; exits that led to it now end. When it was the first
 * block, the block it led to becomes the first.
 * @param {Definition} def @param {string} id
 */
export function removeBlock(def, id) {
  const at = locate(def, id);
  if (!at) return;
  const chain = at.chain;
  const successor = at.index === 0 ? (exits(chain, 0).find((e) => e.port !== 'onError' && e.target)?.target ?? null) : null;
  withPinned(chain, () => {
    chain.splice(chain.indexOf(at.block), 1);
    /** @type {Array<[Block, string]>} */
    const touched = [];
    chain.forEach((block, i) => {
      for (const exit of exits(chain, i)) {
        if (exit.target !== id) continue;
        writePort(block, exit.port, null);
        touched.push([block, exit.port]);
      }
    });
    if (successor && successor !== id) {
      const s = chain.findIndex((b) => b.id === successor);
      if (s > 0) chain.unshift(...chain.splice(s, 1));
    }
    return touched;
  });
}

/** Every id in use, nested ones included. @param {Definition} def */
export function usedIds(def) {
  return new Set(allBlocks(def).map((l) => l.block.id));
}

/** `base`, `base2`, `base3`… the first one not in use. @param {Set<string>} used @param {string} base */
export function uniqueId(used, base) {
  const clean = (/^[A-Za-z]/.test(base) ? base : `b_${base}`).replace(/[^A-Za-z0-9_]/g, '_').slice(0, 60);
  if (!used.has(clean)) return clean;
  for (let n = 2; ; n++) if (!used.has(`${clean}${n}`)) return `${clean}${n}`;
}

/** A short id stem for a block type. @param {string} type */
export function idStem(type) {
  return (
    /** @type {Record<string, string>} */ ({
      log: 'log',
      http_request: 'http',
      condition: 'check',
      switch: 'route',
      for_each: 'each',
      set: 'values',
      delay: 'wait',
      r2_object: 'object',
      trigger_flow: 'start_flow',
      code: 'code',
      image_info: 'info',
      image_transform: 'resize',
    })[type] ?? type
  );
}

/**
 * A copy of a block (and of its body, with fresh ids), connected to nothing.
 * @param {Definition} def @param {string} id
 * @returns {Block | null} the copy, added after the original's chain
 */
export function duplicateBlock(def, id) {
  const at = locate(def, id);
  if (!at) return null;
  const used = usedIds(def);
  /** @type {Map<string, string>} */
  const renamed = new Map();
  /** @param {Block} block */
  const copyOf = (block) => {
    const copy = JSON.parse(JSON.stringify(block));
    /** @param {Block} b */
    const rename = (b) => {
      const fresh = uniqueId(used, b.id.replace(/_?copy\d*$|\d+$/, '') || b.type);
      used.add(fresh);
      renamed.set(b.id, fresh);
      b.id = fresh;
      for (const inner of nestedChain(b) ?? []) if (isBlock(inner)) rename(inner);
    };
    rename(copy);
    // References inside the copied body follow the new ids.
    /** @param {Block[]} chain */
    const remap = (chain) => {
      for (const b of chain) {
        if (!isBlock(b)) continue;
        for (const field of ['next', 'then', 'else', 'default', 'onError'])
          if (typeof b[field] === 'string' && renamed.has(b[field])) b[field] = renamed.get(b[field]);
        for (const c of Array.isArray(b.params?.cases) ? b.params.cases : [])
          if (c && typeof c.next === 'string' && renamed.has(c.next)) c.next = renamed.get(c.next);
        if (b.params) b.params = renameInTemplates(b.params, renamed);
        remap(nestedChain(b) ?? []);
      }
    };
    remap(nestedChain(copy) ?? []);
    for (const field of ['next', 'then', 'else', 'default', 'onError']) delete copy[field];
    for (const c of copy.type === 'switch' && Array.isArray(copy.params?.cases) ? copy.params.cases : []) if (c) c.next = null;
    if (copy.ui && typeof copy.ui === 'object') {
      if (typeof copy.ui.x === 'number') copy.ui.x += 40;
      if (typeof copy.ui.y === 'number') copy.ui.y += 40;
    }
    return copy;
  };
  const copy = copyOf(at.block);
  addBlock(at.chain, copy);
  return copy;
}

/**
 * Renames `steps.<old>` references in every string of a value.
 * @param {any} value @param {Map<string, string>} renamed
 * @returns {any}
 */
export function renameInTemplates(value, renamed) {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return value;
    return value.replace(/(\{\{\s*steps\.)([A-Za-z][A-Za-z0-9_]*)/g, (all, head, id) =>
      renamed.has(id) ? `${head}${renamed.get(id)}` : all,
    );
  }
  if (Array.isArray(value)) return value.map((v) => renameInTemplates(v, renamed));
  if (value && typeof value === 'object') {
    /** @type {Record<string, any>} */
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = renameInTemplates(v, renamed);
    return out;
  }
  return value;
}

/**
 * Renames a block and every reference to it. Returns why not, or null.
 * @param {Definition} def @param {string} oldId @param {string} newId
 */
export function renameBlock(def, oldId, newId) {
  if (oldId === newId) return null;
  if (!BLOCK_ID.test(newId)) return 'An id starts with a letter and has only letters, digits and _ (at most 64).';
  if (usedIds(def).has(newId)) return `Another block already has the id “${newId}”.`;
  const at = locate(def, oldId);
  if (!at) return 'That block no longer exists.';
  at.block.id = newId;
  const renamed = new Map([[oldId, newId]]);
  for (const { block } of allBlocks(def)) {
    for (const field of ['next', 'then', 'else', 'default', 'onError']) if (block[field] === oldId) block[field] = newId;
    for (const c of Array.isArray(block.params?.cases) ? block.params.cases : []) if (c?.next === oldId) c.next = newId;
    if (block.params && typeof block.params === 'object') {
      for (const [key, value] of Object.entries(block.params)) {
        if (key === 'blocks' && block.type === 'for_each') continue;
        block.params[key] = renameInTemplates(value, renamed);
      }
    }
  }
  return null;
}

/**
 * The blocks that may run before `id`: those that reach it in its chain and,
 * for a block in a loop body, those before the loop (not the loop itself).
 * @param {Definition} def @param {string} id
 * @returns {Block[]}
 */
export function upstreamOf(def, id) {
  const at = locate(def, id);
  if (!at) return [];
  /** @type {Map<string, Set<string>>} */
  const into = new Map();
  at.chain.forEach((b, i) => {
    for (const e of exits(at.chain, i)) {
      if (e.target === null) continue;
      if (!into.has(e.target)) into.set(e.target, new Set());
      /** @type {Set<string>} */ (into.get(e.target)).add(b.id);
    }
  });
  /** @type {Set<string>} */
  const seen = new Set();
  const queue = [id];
  while (queue.length) {
    const cur = /** @type {string} */ (queue.shift());
    for (const p of into.get(cur) ?? []) {
      if (seen.has(p) || p === id) continue;
      seen.add(p);
      queue.push(p);
    }
  }
  const own = at.chain.filter((b) => seen.has(b.id));
  return at.owner ? [...upstreamOf(def, at.owner.id), ...own] : own;
}

/**
 * Whether a block is reached on an error path (some `onError` names it, or
 * leads to it), so `{{error.…}}` means something there.
 * @param {Definition} def @param {string} id
 */
export function onErrorPath(def, id) {
  const at = locate(def, id);
  if (!at) return false;
  const handlers = at.chain.filter((b) => typeof b.onError === 'string').map((b) => b.onError);
  if (handlers.includes(id)) return true;
  return upstreamOf(def, id).some((b) => handlers.includes(b.id));
}

/** Whether a block lies inside a loop body. @param {Definition} def @param {string} id */
export function inLoop(def, id) {
  return Boolean(locate(def, id)?.owner);
}

/**
 * Maps a contract error path (`blocks[2].params.blocks[0].params.url`) to
 * the block it names and the field inside it (`params.url`).
 * @param {Definition} def @param {string} path
 * @returns {{ blockId: string | null, field: string }}
 */
export function blockOfPath(def, path) {
  const parts = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : /** @type {string} */ (m[1])));
  /** @type {any} */
  let node = def;
  /** @type {string | null} */
  let blockId = null;
  let rest = 0;
  for (let i = 0; i < parts.length; i++) {
    const key = /** @type {string | number} */ (parts[i]);
    if (node === null || typeof node !== 'object') break;
    node = node[key];
    if (typeof key === 'number' && isBlock(node) && (parts[i - 1] === 'blocks' || i === 1)) {
      blockId = node.id;
      rest = i + 1;
    }
  }
  const field = parts
    .slice(blockId === null ? 0 : rest)
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p))
    .join('');
  return { blockId, field };
}
