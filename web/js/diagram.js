/**
 * Draws a flow's block chain: a box per block (id, type, name, status
 * badge), arrows for `next`, dashed arrows for the implicit "following
 * block" edge, labelled `then`/`else` branches of `condition` blocks, and
 * Start/End terminals. Boxes are positioned divs (real text, focusable);
 * arrows are an SVG layer underneath. Status badges are updated by live events.
 */
import { h, svg, STATUS_ICON } from './dom.js';

const BOX_W = 228;
const BOX_H = 84;
const TERM_W = 92;
const TERM_H = 34;
const GAP_X = 36;
const GAP_Y = 56;
const PAD = 20;
const LANE_GAP = 16;

let instances = 0;

/**
 * @typedef {{ id: string, type: string, name?: string, params?: any, next?: string|null, then?: string|null, else?: string|null }} Block
 * @typedef {{ key: string, kind: 'start'|'end'|'block', block?: Block, index: number, w: number, h: number, rank: number, x: number, y: number, reachable: boolean }} Node
 * @typedef {{ from: string, to: string, label: string, implicit: boolean, kind: string }} Edge
 */

const START = '\u0000start';
const END = '\u0000end';

/**
 * Every way out of a block, exactly as the executor follows them (see
 * src/flows/graph.ts): `next`, `then`/`else` (absent: the following block),
 * a switch's cases and `default` (absent: the end), and `onError`.
 * @param {Block[]} blocks @param {number} index
 * @returns {Array<{ to: string | null, implicit: boolean, label: string, kind: string }>}
 */
function exitsOf(blocks, index) {
  const block = /** @type {any} */ (blocks[index]);
  const following = blocks[index + 1]?.id ?? null;
  /** @param {string} field @param {string} label */
  const written = (field, label) =>
    block[field] !== undefined
      ? { to: block[field], implicit: false, label, kind: label }
      : { to: following, implicit: true, label, kind: label };
  /** @type {Array<{ to: string | null, implicit: boolean, label: string, kind: string }>} */
  let out;
  if (block.type === 'condition') out = [written('then', 'then'), written('else', 'else')];
  else if (block.type === 'switch') {
    const cases = Array.isArray(block.params?.cases) ? block.params.cases : [];
    out = cases.map((/** @type {any} */ c, /** @type {number} */ i) => ({
      to: c?.next ?? null,
      implicit: false,
      label: `case ${i}`,
      kind: 'case',
    }));
    out.push({ to: block.default ?? null, implicit: false, label: 'default', kind: 'case' });
  } else out = [written('next', '')];
  if (block.onError) out.push({ to: block.onError, implicit: false, label: 'on error', kind: 'error' });
  return out;
}

/**
 * Computes nodes (with positions) and edges.
 * @param {Block[]} blocks
 */
export function layout(blocks) {
  /** @type {Map<string, Node>} */
  const nodes = new Map();
  nodes.set(START, { key: START, kind: 'start', index: -1, w: TERM_W, h: TERM_H, rank: 0, x: 0, y: 0, reachable: true });
  blocks.forEach((block, index) => {
    if (!nodes.has(block.id))
      nodes.set(block.id, { key: block.id, kind: 'block', block, index, w: BOX_W, h: BOX_H, rank: -1, x: 0, y: 0, reachable: false });
  });
  nodes.set(END, { key: END, kind: 'end', index: blocks.length, w: TERM_W, h: TERM_H, rank: -1, x: 0, y: 0, reachable: false });

  /** @type {Edge[]} */
  const edges = [{ from: START, to: blocks[0]?.id ?? END, label: '', implicit: false, kind: '' }];
  blocks.forEach((block, index) => {
    if (nodes.get(block.id)?.index !== index) return; // duplicate id: drawn once
    for (const { to, implicit, label, kind } of exitsOf(blocks, index)) {
      const target = to === null ? END : to;
      if (!nodes.has(target)) continue; // unresolved reference: the editor reports it
      edges.push({ from: block.id, to: target, label, implicit, kind });
    }
  });

  // Longest path from Start (the graph is acyclic once saved; the cap keeps a draft with a cycle finite).
  const cap = nodes.size;
  /** @type {Set<string>} */
  const reachable = new Set([START]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const e of edges) {
      if (reachable.has(e.from) && !reachable.has(e.to)) {
        reachable.add(e.to);
        grew = true;
      }
    }
  }
  /** @type {Map<string, number>} */
  const rank = new Map([[START, 0]]);
  // Blocks nothing leads to (never reached) start their own chains on the first row.
  const targets = new Set(edges.map((e) => e.to));
  for (const key of nodes.keys()) if (key !== START && key !== END && !targets.has(key)) rank.set(key, 1);
  for (let round = 0; round < cap; round++) {
    let changed = false;
    for (const e of edges) {
      const r = rank.get(e.from);
      if (r === undefined) continue;
      const next = Math.min(r + 1, cap);
      if ((rank.get(e.to) ?? -1) < next) {
        rank.set(e.to, next);
        changed = true;
      }
    }
    if (!changed) break;
  }
  let maxBlockRank = 0;
  for (const node of nodes.values()) {
    if (node.kind !== 'block') continue;
    node.reachable = reachable.has(node.key);
    node.rank = rank.get(node.key) ?? 1;
    maxBlockRank = Math.max(maxBlockRank, node.rank);
  }
  const end = /** @type {Node} */ (nodes.get(END));
  end.rank = maxBlockRank + 1;
  end.reachable = reachable.has(END);

  // Rows, ordered by position in the blocks array.
  /** @type {Node[][]} */
  const rows = [];
  for (const node of nodes.values()) {
    rows[node.rank] ??= [];
    rows[node.rank].push(node);
  }
  const filled = rows.filter(Boolean);
  for (const row of filled) row.sort((a, b) => a.index - b.index);
  const rowWidth = (/** @type {Node[]} */ row) => row.reduce((sum, n) => sum + n.w, 0) + GAP_X * (row.length - 1);
  const contentW = Math.max(...filled.map(rowWidth));
  let y = PAD;
  for (const row of filled) {
    let x = PAD + (contentW - rowWidth(row)) / 2;
    const rowH = Math.max(...row.map((n) => n.h));
    for (const node of row) {
      node.x = x;
      node.y = y + (rowH - node.h) / 2;
      x += node.w + GAP_X;
    }
    y += rowH + GAP_Y;
  }
  const rowIndex = new Map();
  for (const [i, row] of filled.entries()) for (const n of row) rowIndex.set(n.key, i);

  // Edges that skip rows go round the right-hand side, one lane each.
  let lanes = 0;
  const routed = edges.map((e) => {
    const span = rowIndex.get(e.to) - rowIndex.get(e.from);
    return { ...e, lane: span > 1 || span < 1 ? lanes++ : -1 };
  });
  return {
    nodes: [...nodes.values()],
    edges: routed,
    width: PAD * 2 + contentW + (lanes ? lanes * LANE_GAP + 12 : 0),
    height: y - GAP_Y + PAD,
    contentRight: PAD + contentW,
  };
}

/** @param {string} status */
function badgeText(status) {
  switch (status) {
    case 'idle':
      return '';
    case 'running':
      return 'running';
    case 'succeeded':
      return '✓ succeeded';
    case 'failed':
      return '✗ failed';
    case 'skipped':
      return '↷ skipped';
    default:
      return `${STATUS_ICON[status] ?? ''} ${status}`.trim();
  }
}

/** @param {Block} block */
function summary(block) {
  const p = block.params ?? {};
  switch (block.type) {
    case 'log':
      return typeof p.message === 'string' ? p.message : '';
    case 'http_request':
      return `${p.method ?? ''} ${p.url ?? ''}`.trim();
    case 'condition':
      return `${p.left ?? ''} ${p.op ?? ''} ${p.right ?? ''}`.trim();
    case 'delay':
      return p.seconds !== undefined ? `${p.seconds} s` : '';
    case 'r2_object':
      return `${p.action ?? ''} ${p.key ?? ''}`.trim();
    default:
      return '';
  }
}

const TYPE_LABEL = /** @type {Record<string, string>} */ ({
  log: 'Add to Logs',
  http_request: 'HTTP Request',
  condition: 'Condition',
  delay: 'Delay',
  r2_object: 'Object',
  set: 'Set Values',
  switch: 'Switch',
  for_each: 'Apply on Each',
  trigger_flow: 'Trigger Flow',
});

/**
 * Renders the diagram.
 * @param {Block[]} blocks
 * @returns {{ el: HTMLElement, setStatus: (blockId: string, status: string, title?: string) => void, reset: (status?: string) => void }}
 */
export function createDiagram(blocks) {
  const uid = `d${++instances}`;
  const { nodes, edges, width, height, contentRight } = layout(blocks);
  const byKey = new Map(nodes.map((n) => [n.key, n]));

  const layer = svg('svg', { class: 'diagram-edges', width, height, viewBox: `0 0 ${width} ${height}`, 'aria-hidden': 'true' });
  const defs = svg('defs');
  const marker = svg('marker', {
    id: `${uid}-arrow`,
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse',
  });
  marker.appendChild(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'diagram-arrowhead' }));
  defs.appendChild(marker);
  layer.appendChild(defs);

  /** @type {Map<string, number>} */
  const pairCount = new Map();
  for (const e of edges) {
    const a = /** @type {Node} */ (byKey.get(e.from));
    const b = /** @type {Node} */ (byKey.get(e.to));
    const pair = `${e.from}>${e.to}`;
    const dup = pairCount.get(pair) ?? 0;
    pairCount.set(pair, dup + 1);
    let d;
    let lx;
    let ly;
    if (e.lane >= 0) {
      const laneX = contentRight + 12 + e.lane * LANE_GAP;
      const sy = a.y + a.h / 2 + (dup ? 8 : 0);
      const ty = b.y + b.h / 2;
      const r = 8;
      const down = ty > sy ? 1 : -1;
      d = `M${a.x + a.w},${sy} H${laneX - r} Q${laneX},${sy} ${laneX},${sy + r * down} V${ty - r * down} Q${laneX},${ty} ${laneX - r},${ty} H${b.x + b.w + 2}`;
      lx = laneX;
      ly = (sy + ty) / 2;
    } else {
      const sx = a.x + a.w / 2 + (dup ? 14 : 0);
      const sy = a.y + a.h;
      const tx = b.x + b.w / 2 + (dup ? 14 : 0);
      const ty = b.y - 2;
      const bend = Math.max(18, (ty - sy) / 2);
      d = `M${sx},${sy} C${sx},${sy + bend} ${tx},${ty - bend} ${tx},${ty}`;
      lx = (sx + tx) / 2;
      ly = (sy + ty) / 2;
    }
    const path = svg('path', {
      d,
      class: `diagram-edge${e.implicit ? ' is-implicit' : ''}${e.kind ? ` is-${e.kind}` : ''}`,
      'marker-end': `url(#${uid}-arrow)`,
    });
    layer.appendChild(path);
    if (e.label) {
      const g = svg('g', { class: `diagram-label is-${e.kind}` });
      const text = svg('text', { x: lx, y: ly + 4, 'text-anchor': 'middle' });
      text.textContent = e.label;
      const w = e.label.length * 7 + 12;
      g.appendChild(svg('rect', { x: lx - w / 2, y: ly - 9, width: w, height: 18, rx: 9 }));
      g.appendChild(text);
      layer.appendChild(g);
    }
  }

  /** @type {Map<string, { box: HTMLElement, badge: HTMLElement }>} */
  const boxes = new Map();
  const canvas = h(
    'div',
    {
      class: 'diagram-canvas',
      style: `width:${width}px;height:${height}px`,
      role: 'list',
      'aria-label': `Flow diagram, ${blocks.length} block${blocks.length === 1 ? '' : 's'}`,
    },
    layer,
  );

  for (const node of nodes) {
    const style = `left:${node.x}px;top:${node.y}px;width:${node.w}px;height:${node.h}px`;
    if (node.kind !== 'block') {
      canvas.appendChild(
        h(
          'div',
          { class: `diagram-terminal is-${node.kind}`, style, role: 'listitem', 'data-testid': `diagram-${node.kind}` },
          node.kind === 'start' ? 'Start' : 'End',
        ),
      );
      continue;
    }
    const block = /** @type {Block} */ (node.block);
    const outgoing = edges
      .filter((e) => e.from === node.key)
      .map((e) => `${e.label || 'next'}: ${e.to === END ? 'end' : e.to}${e.implicit ? ' (following block)' : ''}`)
      .join(', ');
    const badge = h('span', { class: 'diagram-badge', 'data-testid': 'block-status' });
    const detail = summary(block);
    const box = h(
      'div',
      {
        class: `diagram-node type-${block.type}${node.reachable ? '' : ' is-unreachable'}`,
        style,
        role: 'listitem',
        'data-testid': 'block-box',
        'data-block-id': block.id,
        'data-status': 'idle',
        title: detail || undefined,
      },
      h('div', { class: 'diagram-node-head' }, h('span', { class: 'diagram-type' }, TYPE_LABEL[block.type] ?? block.type), badge),
      h('div', { class: 'diagram-id' }, block.id),
      h('div', { class: 'diagram-name' }, block.name || detail || '\u00a0'),
      h('span', { class: 'visually-hidden' }, `, ${block.type} block; ${outgoing || 'end'}${node.reachable ? '' : '; never reached'}`),
    );
    boxes.set(block.id, { box, badge });
    canvas.appendChild(box);
  }

  const legend = h(
    'p',
    { class: 'diagram-legend' },
    h('span', { class: 'legend-solid' }, 'next'),
    h('span', { class: 'legend-dashed' }, 'following block'),
    blocks.some((b) => b.type === 'condition')
      ? [h('span', { class: 'legend-then' }, 'then'), h('span', { class: 'legend-else' }, 'else')]
      : null,
  );
  const el = h(
    'div',
    { class: 'diagram', 'data-testid': 'diagram' },
    h('div', { class: 'diagram-scroll', tabindex: '0', 'aria-label': 'Flow diagram (scrollable)' }, canvas),
    legend,
  );

  return {
    el,
    setStatus(blockId, status, title) {
      const entry = boxes.get(blockId);
      if (!entry) return;
      entry.box.dataset.status = status;
      entry.badge.textContent = badgeText(status);
      if (title) entry.badge.title = title;
      else entry.badge.removeAttribute('title');
    },
    reset(status = 'idle') {
      for (const [id] of boxes) this.setStatus(id, status);
    },
  };
}
