/**
 * Where everything sits on the canvas, without any DOM: card sizes (from
 * their ports), a for_each's group box (sized by its body), positions from
 * each block's `ui` or, for blocks without one (flows made through the API),
 * an automatic left-to-right layout.
 */
import { exits, isBlock, nestedChain, portsOf } from './model.js';

export const CARD_W = 240;
export const CARD_MIN_H = 86;
/** y of the input port and of the first output port, from the card's top. */
export const PORT_Y = 46;
export const PORT_STEP = 24;
export const TRIGGER_W = 210;
export const GAP_X = 100;
export const GAP_Y = 44;
export const BODY_PAD = 22;
export const START_W = 96;
export const START_H = 30;
export const START_GAP = 56;
const BODY_MIN_W = CARD_W + 60;

/**
 * @typedef {import('./model.js').Block} Block
 * @typedef {{ x: number, y: number, w: number, h: number, headH: number, auto: boolean, body?: Body }} Box
 * @typedef {{ top: number, w: number, h: number, originX: number, originY: number, boxes: Map<string, Box> }} Body
 * @typedef {{ boxes: Map<string, Box>, trigger: { x: number, y: number, w: number, h: number } }} Layout
 */

/** Output ports on the card's right side (onError sits on its bottom edge). @param {Block} block */
export function sidePorts(block) {
  return portsOf(block).filter((p) => p.kind !== 'error');
}

/** @param {Block} block */
function headHeight(block) {
  return Math.max(CARD_MIN_H, PORT_Y + (sidePorts(block).length - 1) * PORT_STEP + 30);
}

/** @param {unknown} ui @returns {{ x: number, y: number } | null} */
export function uiPosition(ui) {
  if (!ui || typeof ui !== 'object') return null;
  const { x, y } = /** @type {any} */ (ui);
  return typeof x === 'number' && Number.isFinite(x) && typeof y === 'number' && Number.isFinite(y) ? { x, y } : null;
}

/**
 * Lays out one chain: sizes first (bodies recursively), then positions.
 * @param {Block[]} chain
 * @param {Map<string, { x: number, y: number }>} overrides positions being dragged
 * @param {number} depth
 * @returns {Map<string, Box>}
 */
function layoutChain(chain, overrides, depth) {
  const blocks = chain.filter(isBlock);
  /** @type {Map<string, Box>} */
  const boxes = new Map();
  for (const block of blocks) {
    if (boxes.has(block.id)) continue;
    const headH = headHeight(block);
    const nested = nestedChain(block);
    if (nested && depth < 4) {
      const inner = layoutChain(nested, overrides, depth + 1);
      let right = 0;
      let bottom = START_H;
      for (const b of inner.values()) {
        right = Math.max(right, b.x + b.w);
        bottom = Math.max(bottom, b.y + b.h);
      }
      const originX = BODY_PAD + START_W + START_GAP;
      const originY = BODY_PAD;
      const w = Math.max(BODY_MIN_W, originX + right + BODY_PAD);
      const h = Math.max(START_H + PORT_Y + BODY_PAD, originY + bottom + BODY_PAD);
      const body = { top: headH, w, h, originX, originY, boxes: inner };
      boxes.set(block.id, { x: 0, y: 0, w: Math.max(CARD_W, w), h: headH + h, headH, auto: true, body });
    } else {
      boxes.set(block.id, { x: 0, y: 0, w: CARD_W, h: headH, headH, auto: true });
    }
  }

  const auto = autoPositions(chain, boxes);
  const placed = blocks.filter((b) => uiPosition(b.ui) || overrides.has(b.id));
  const unplaced = blocks.filter((b) => !uiPosition(b.ui) && !overrides.has(b.id));
  // Blocks without a position go below the ones that have one, laid out among themselves.
  let dx = 0;
  let dy = 0;
  if (placed.length && unplaced.length) {
    let bottom = -Infinity;
    let left = Infinity;
    for (const b of placed) {
      const p = overrides.get(b.id) ?? /** @type {{ x: number, y: number }} */ (uiPosition(b.ui));
      bottom = Math.max(bottom, p.y + (boxes.get(b.id)?.h ?? 0));
      left = Math.min(left, p.x);
    }
    const top = Math.min(...unplaced.map((b) => auto.get(b.id)?.y ?? 0));
    const autoLeft = Math.min(...unplaced.map((b) => auto.get(b.id)?.x ?? 0));
    dy = bottom + GAP_Y - top;
    dx = left - autoLeft;
  }
  for (const block of blocks) {
    const box = /** @type {Box} */ (boxes.get(block.id));
    const at = overrides.get(block.id) ?? uiPosition(block.ui);
    if (at) {
      box.x = at.x;
      box.y = at.y;
      box.auto = false;
    } else {
      const p = auto.get(block.id) ?? { x: 0, y: 0 };
      box.x = p.x + dx;
      box.y = p.y + dy;
    }
  }
  return boxes;
}

/**
 * Left to right by longest path from the chain's start; in a column, each
 * block as high as its first predecessor allows, so straight chains stay
 * straight and branches fan out below.
 * @param {Block[]} chain @param {Map<string, Box>} sizes
 * @returns {Map<string, { x: number, y: number }>}
 */
export function autoPositions(chain, sizes) {
  const blocks = chain.filter(isBlock);
  /** @type {Map<string, number>} */
  const rank = new Map();
  /** @type {Array<[string, string]>} */
  const edges = [];
  chain.forEach((b, i) => {
    if (!isBlock(b)) return;
    for (const e of exits(chain, i)) if (e.target !== null && sizes.has(e.target)) edges.push([b.id, e.target]);
  });
  const targets = new Set(edges.map(([, to]) => to));
  for (const b of blocks) if (b === blocks[0] || !targets.has(b.id)) rank.set(b.id, 0);
  for (let round = 0; round < blocks.length; round++) {
    let changed = false;
    for (const [from, to] of edges) {
      const r = rank.get(from);
      if (r === undefined) continue;
      const next = Math.min(r + 1, blocks.length);
      if ((rank.get(to) ?? -1) < next) {
        rank.set(to, next);
        changed = true;
      }
    }
    if (!changed) break;
  }
  // Visit order: depth first from the start along the exits in port order, then the rest.
  /** @type {string[]} */
  const order = [];
  const seen = new Set();
  const indexOf = new Map(blocks.map((b) => [b.id, chain.indexOf(b)]));
  /** @param {string} id */
  const visit = (id) => {
    if (seen.has(id)) return;
    seen.add(id);
    order.push(id);
    const i = indexOf.get(id);
    if (i === undefined) return;
    for (const e of exits(chain, i)) if (e.target !== null && indexOf.has(e.target)) visit(e.target);
  };
  for (const b of blocks) visit(b.id);

  /** @type {Map<number, string[]>} */
  const columns = new Map();
  for (const id of order) {
    const r = rank.get(id) ?? 0;
    if (!columns.has(r)) columns.set(r, []);
    /** @type {string[]} */ (columns.get(r)).push(id);
  }
  /** @type {Map<string, { x: number, y: number }>} */
  const out = new Map();
  const preds = (/** @type {string} */ id) => edges.filter(([, to]) => to === id).map(([from]) => from);
  let x = 0;
  for (const r of [...columns.keys()].sort((a, b) => a - b)) {
    const ids = /** @type {string[]} */ (columns.get(r));
    let cursor = 0;
    let width = 0;
    for (const id of ids) {
      const size = /** @type {Box} */ (sizes.get(id));
      const above = preds(id)
        .map((p) => out.get(p)?.y)
        .filter((y) => y !== undefined);
      const y = Math.max(cursor, above.length ? Math.min(.../** @type {number[]} */ (above)) : 0);
      out.set(id, { x, y });
      cursor = y + size.h + GAP_Y;
      width = Math.max(width, size.w);
    }
    x += width + GAP_X;
  }
  return out;
}

/**
 * The whole canvas: every block's box (bodies nested) and the trigger's.
 * @param {{ blocks?: unknown }} def
 * @param {Map<string, { x: number, y: number }>} [overrides]
 * @returns {Layout}
 */
export function layoutFlow(def, overrides = new Map()) {
  const chain = Array.isArray(def.blocks) ? /** @type {Block[]} */ (def.blocks) : [];
  const boxes = layoutChain(chain, overrides, 0);
  const first = chain.find(isBlock);
  const firstBox = first ? boxes.get(first.id) : undefined;
  let left = Infinity;
  for (const b of boxes.values()) left = Math.min(left, b.x);
  const trigger = firstBox
    ? { x: left - TRIGGER_W - GAP_X, y: firstBox.y, w: TRIGGER_W, h: CARD_MIN_H }
    : { x: 0, y: 0, w: TRIGGER_W, h: CARD_MIN_H };
  return { boxes, trigger };
}

/**
 * Fresh automatic positions for every block of every chain (the Auto-layout button).
 * @param {{ blocks?: unknown }} def
 * @returns {Map<string, { x: number, y: number }>}
 */
export function autoLayoutAll(def) {
  /** @type {Map<string, { x: number, y: number }>} */
  const out = new Map();
  /** @param {Block[]} chain @param {number} depth */
  const walk = (chain, depth) => {
    for (const b of chain) {
      const nested = nestedChain(b);
      if (nested && depth < 4) walk(nested, depth + 1);
    }
    const sizes = layoutChain(
      chain.map((b) => (isBlock(b) ? { ...b, ui: undefined, params: b.params } : b)),
      out,
      depth,
    );
    const fresh = autoPositions(chain, sizes);
    for (const [id, p] of fresh) out.set(id, p);
  };
  walk(Array.isArray(def.blocks) ? /** @type {Block[]} */ (def.blocks) : [], 0);
  return out;
}
