/**
 * The flow canvas: the trigger node, a card per block, a group box per
 * for_each body, and the connections between output ports and inputs.
 * Pan (drag the background, wheel), zoom (Ctrl+wheel, buttons, + and -),
 * select, move (drag or arrow keys), connect (drag from a port), delete and
 * duplicate. The canvas never changes the definition itself: every change
 * goes through `edit()` (the editor keeps the history and the dirty state).
 *
 * Cards are kept elements (by block id), so focus and a drag in progress
 * survive a render; connections are SVG paths redrawn on every render.
 */
import { h, replace, STATUS_ICON, svg } from '../dom.js';
import {
  autoLayoutAll,
  BODY_PAD,
  CARD_W,
  GAP_X,
  GAP_Y,
  layoutFlow,
  PORT_STEP,
  PORT_Y,
  sidePorts,
  START_H,
  START_W,
  uiPosition,
} from './layout.js';
import {
  addBlock,
  allBlocks,
  chainOf,
  connect,
  connectionProblem,
  exits,
  idStem,
  isBlock,
  locate,
  makeFirst,
  nestedChain,
  removeBlock,
  duplicateBlock,
  uniqueId,
  usedIds,
} from './model.js';

/**
 * @typedef {import('./model.js').Block} Block
 * @typedef {import('./model.js').Definition} Definition
 * @typedef {import('./layout.js').Box} Box
 * @typedef {{ kind: 'block', id: string } | { kind: 'trigger' } | { kind: 'edge', from: string, port: string } | null} Selection
 * @typedef {{ type: string, label: string, category?: string, description?: string, params?: any, branches?: string[] }} BlockType
 * @typedef {(label: string, mutate: (def: Definition) => void | string, options?: { coalesce?: string, select?: Selection }) => boolean} Edit
 * @typedef {{ status: string, title?: string, iterations: Map<string, string> }} StepStatus
 */

const ZOOM_MIN = 0.3;
const ZOOM_MAX = 2;
const SNAP = 10;
/** How far (client px) from a port's centre a press still grabs it. */
const PORT_REACH = 12;
let instances = 0;

/** A glyph per block type (decoration only). */
const ICONS = /** @type {Record<string, string>} */ ({
  log: '✎',
  http_request: '⇄',
  condition: '◇',
  switch: '⑂',
  for_each: '↻',
  set: '≔',
  delay: '⏱',
  r2_object: '▣',
  trigger_flow: '↗',
  code: '{}',
  image_info: 'ⓘ',
  image_transform: '▦',
});

const TRIGGER_LABEL = /** @type {Record<string, string>} */ ({
  manual: 'Manual',
  webhook: 'Webhook',
  r2_upload: 'Upload',
  schedule: 'Schedule',
  flow: 'From another flow',
});

/** One line saying what a block does. @param {Block} block */
export function summary(block) {
  const p = block.params && typeof block.params === 'object' ? block.params : {};
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
    case 'switch':
      return typeof p.value === 'string' ? p.value : '';
    case 'for_each':
      return `each of ${typeof p.items === 'string' ? p.items : '…'}`;
    case 'set':
      return p.values && typeof p.values === 'object' ? Object.keys(p.values).join(', ') : '';
    default: {
      const first = Object.values(p).find((v) => typeof v === 'string');
      return typeof first === 'string' ? first : '';
    }
  }
}

/** @param {any} trigger */
export function triggerSummary(trigger) {
  switch (trigger?.type) {
    case 'r2_upload':
      return (
        [trigger.prefix && `prefix ${trigger.prefix}`, trigger.suffix && `suffix ${trigger.suffix}`].filter(Boolean).join(', ') ||
        'any upload'
      );
    case 'schedule':
      return `${trigger.cron ?? ''}${trigger.timezone ? ` (${trigger.timezone})` : ''}`;
    case 'webhook':
      return trigger.verify ? `signed (${trigger.verify.scheme})` : 'POST to the hook URL';
    case 'manual':
      return 'the Test button';
    case 'flow':
      return 'started by another flow';
    default:
      return '';
  }
}

/** @param {string} status @param {Map<string, string>} iterations */
function badgeText(status, iterations) {
  if (iterations.size) {
    const done = [...iterations.values()].filter((s) => s === 'succeeded').length;
    const failed = [...iterations.values()].filter((s) => s === 'failed').length;
    return `${STATUS_ICON[status] ?? ''} ${done}/${iterations.size}${failed ? ` · ${failed} failed` : ''}`.trim();
  }
  if (status === 'idle') return '';
  return `${STATUS_ICON[status] ?? ''} ${status}`.trim();
}

/** The status of a block that ran once per item. @param {Map<string, string>} iterations */
function aggregate(iterations) {
  const all = [...iterations.values()];
  if (all.includes('running')) return 'running';
  if (all.includes('failed')) return 'failed';
  if (all.includes('pending')) return 'pending';
  if (all.length && all.every((s) => s === 'skipped')) return 'skipped';
  return 'succeeded';
}

/**
 * @param {{
 *   getDef: () => Definition,
 *   types: () => Map<string, BlockType>,
 *   edit: Edit,
 *   onSelect: (selection: Selection) => void,
 *   onOpenConfig: () => void,
 *   announce: (text: string, kind?: 'info' | 'error') => void,
 *   issuesOf: (blockId: string | null) => string[],
 *   coveredRight?: () => number,
 * }} options
 */
export function createCanvas(options) {
  const uid = `cv${++instances}`;
  const { getDef, types, edit, announce } = options;
  const view = { x: 60, y: 60, zoom: 1 };
  /** @type {Selection} */
  let selection = null;
  /** Positions of cards being dragged (not yet in the definition). @type {Map<string, { x: number, y: number }>} */
  const overrides = new Map();
  /** @type {Map<string, StepStatus>} */
  const statuses = new Map();
  /** @type {Map<string, { el: HTMLElement, head: HTMLElement, body: HTMLElement | null, sig: string }>} */
  const cards = new Map();
  /** @type {import('./layout.js').Layout} */
  let layout = { boxes: new Map(), trigger: { x: 0, y: 0, w: 0, h: 0 } };
  let fitted = false;

  const edgeLayer = svg('svg', { class: 'cv-edges', 'aria-hidden': 'true', width: 1, height: 1 });
  const dragLayer = svg('svg', { class: 'cv-edges cv-drag-layer', 'aria-hidden': 'true', width: 1, height: 1 });
  const tempPath = svg('path', { class: 'cv-edge-path is-temp', d: '' });
  dragLayer.appendChild(tempPath);
  const triggerEl = h('div', {
    class: 'cv-trigger',
    tabindex: '0',
    role: 'button',
    'data-testid': 'trigger-node',
    'aria-pressed': 'false',
  });
  const world = h('div', { class: 'cv-world' }, edgeLayer, triggerEl, dragLayer);
  const empty = h(
    'div',
    { class: 'cv-empty', 'data-testid': 'canvas-empty' },
    h('p', null, h('strong', null, 'Drag a block here from the list'), ' (or press Enter on one) to start the flow.'),
    h('p', { class: 'muted' }, 'The first block runs right after the trigger.'),
  );
  const zoomLabel = h('span', { class: 'cv-zoom-level', 'aria-live': 'polite' }, '100%');
  const root = h(
    'div',
    {
      class: 'cv',
      tabindex: '0',
      role: 'region',
      'aria-roledescription': 'flow canvas',
      'aria-label': 'Flow canvas. Tab moves between the trigger and the blocks; arrow keys move a block or pan; + and − zoom.',
      'data-testid': 'canvas',
    },
    markerDefs(),
    world,
    empty,
  );

  // ------------------------------------------------------------------ view
  function applyView() {
    world.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.zoom})`;
    const grid = 20 * view.zoom;
    root.style.backgroundSize = `${grid}px ${grid}px`;
    root.style.backgroundPosition = `${view.x}px ${view.y}px`;
    zoomLabel.textContent = `${Math.round(view.zoom * 100)}%`;
  }

  /** @param {number} clientX @param {number} clientY */
  function toWorld(clientX, clientY) {
    const r = root.getBoundingClientRect();
    return { x: (clientX - r.left - view.x) / view.zoom, y: (clientY - r.top - view.y) / view.zoom };
  }

  /** World position of a chain container's origin. @param {HTMLElement} container */
  function containerOrigin(container) {
    if (container === world) return { x: 0, y: 0 };
    const r = container.getBoundingClientRect();
    return toWorld(r.left, r.top);
  }

  /** @param {number} factor @param {{ x: number, y: number }} [at] client point kept still */
  function zoomBy(factor, at) {
    const r = root.getBoundingClientRect();
    const cx = at ? at.x - r.left : r.width / 2;
    const cy = at ? at.y - r.top : r.height / 2;
    const zoom = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, view.zoom * factor));
    view.x = cx - ((cx - view.x) * zoom) / view.zoom;
    view.y = cy - ((cy - view.y) * zoom) / view.zoom;
    view.zoom = zoom;
    applyView();
  }

  /** Fits everything into view (never above 100%). */
  function fitView() {
    const r = root.getBoundingClientRect();
    if (!r.width || !r.height) return;
    let left = layout.trigger.x;
    let top = layout.trigger.y;
    let right = layout.trigger.x + layout.trigger.w;
    let bottom = layout.trigger.y + layout.trigger.h;
    for (const b of layout.boxes.values()) {
      left = Math.min(left, b.x);
      top = Math.min(top, b.y);
      right = Math.max(right, b.x + b.w);
      bottom = Math.max(bottom, b.y + b.h + 30);
    }
    const pad = 48;
    const zoom = Math.min(1, Math.max(ZOOM_MIN, Math.min((r.width - pad * 2) / (right - left), (r.height - pad * 2) / (bottom - top))));
    view.zoom = zoom;
    view.x = (r.width - (right - left) * zoom) / 2 - left * zoom;
    view.y = Math.max(pad, (r.height - (bottom - top) * zoom) / 2) - top * zoom;
    applyView();
  }

  // ------------------------------------------------------------------ render
  let frame = 0;
  function scheduleRender() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      render();
    });
  }

  function render() {
    const def = getDef();
    const chain = Array.isArray(def.blocks) ? /** @type {Block[]} */ (def.blocks) : [];
    layout = layoutFlow(def, overrides);
    renderTrigger(def);
    /** @type {Set<string>} */
    const used = new Set();
    renderChain(chain, world, layout.boxes, null, used);
    for (const [id, card] of cards) {
      if (used.has(id)) continue;
      card.el.remove();
      cards.delete(id);
    }
    empty.hidden = chain.some(isBlock);
    drawEdges(chain, layout.boxes, edgeLayer, world, { from: layout.trigger, owner: null });
    if (!fitted && root.isConnected && root.getBoundingClientRect().width) {
      fitted = true;
      fitView();
    }
  }

  /** @param {Definition} def */
  function renderTrigger(def) {
    const t = layout.trigger;
    place(triggerEl, t.x, t.y, t.w, t.h);
    const trigger = def.trigger && typeof def.trigger === 'object' ? def.trigger : {};
    const issues = options.issuesOf(null);
    const sig = JSON.stringify([trigger, issues, selection?.kind === 'trigger']);
    triggerEl.classList.toggle('is-selected', selection?.kind === 'trigger');
    triggerEl.setAttribute('aria-pressed', String(selection?.kind === 'trigger'));
    if (triggerEl.dataset.sig === sig) return;
    triggerEl.dataset.sig = sig;
    triggerEl.dataset.invalid = String(issues.length > 0);
    const label = TRIGGER_LABEL[trigger.type] ?? String(trigger.type ?? 'Trigger');
    triggerEl.setAttribute(
      'aria-label',
      `Trigger: ${label}, ${triggerSummary(trigger)}${issues.length ? `. Problems: ${issues.join('; ')}` : ''}`,
    );
    replace(
      triggerEl,
      h(
        'div',
        { class: 'cv-head' },
        h('span', { class: 'cv-icon', 'aria-hidden': 'true' }, '⚡'),
        h('span', { class: 'cv-type' }, 'Trigger'),
      ),
      h('div', { class: 'cv-title' }, label),
      h('div', { class: 'cv-sub' }, triggerSummary(trigger)),
      h('span', {
        class: 'cv-port cv-out',
        'data-port': 'start',
        'data-from': '',
        title: 'Drag to the block the flow starts with',
        style: `top:${PORT_Y}px`,
      }),
      issues.length ? h('span', { class: 'cv-issue', title: issues.join('\n') }, `⚠ ${issues.length}`) : null,
    );
  }

  /**
   * @param {Block[]} chain @param {HTMLElement} container @param {Map<string, Box>} boxes
   * @param {Block | null} owner @param {Set<string>} used
   * @param {{ x: number, y: number }} [origin]
   */
  function renderChain(chain, container, boxes, owner, used, origin = { x: 0, y: 0 }) {
    for (const block of chain) {
      if (!isBlock(block) || used.has(block.id)) continue;
      used.add(block.id);
      const box = boxes.get(block.id);
      if (!box) continue;
      const card = cardFor(block);
      if (card.el.parentElement !== container) {
        const focused = card.el.contains(document.activeElement);
        container.appendChild(card.el);
        if (focused) card.el.focus({ preventScroll: true });
      }
      place(card.el, origin.x + box.x, origin.y + box.y, box.w, box.h);
      fillCard(card, block, box, owner);
      const nested = nestedChain(block);
      if (nested && box.body && card.body) {
        const body = box.body;
        card.body.style.top = `${body.top}px`;
        card.body.style.height = `${body.h}px`;
        card.body.style.width = `${box.w}px`;
        renderChain(nested, card.body, body.boxes, block, used, { x: body.originX, y: body.originY });
        const layer = /** @type {SVGElement} */ (card.body.querySelector(':scope > .cv-edges'));
        const startPill = /** @type {HTMLElement} */ (card.body.querySelector(':scope > .cv-start'));
        place(startPill, BODY_PAD, BODY_PAD + PORT_Y - START_H / 2, START_W, START_H);
        drawEdges(nested, body.boxes, layer, card.body, {
          from: { x: BODY_PAD, y: BODY_PAD + PORT_Y - PORT_Y, w: START_W, h: START_H },
          owner: block,
          origin: { x: body.originX, y: body.originY },
        });
      }
    }
  }

  /** @param {Block} block */
  function cardFor(block) {
    let card = cards.get(block.id);
    const group = Boolean(nestedChain(block));
    if (card && Boolean(card.body) !== group) {
      card.el.remove();
      cards.delete(block.id);
      card = undefined;
    }
    if (card) return card;
    const head = h('div', { class: 'cv-card-inner' });
    const el = h('div', { class: 'cv-card', tabindex: '0', role: 'button', 'data-testid': 'block-card', 'data-block-id': block.id }, head);
    /** @type {HTMLElement | null} */
    let body = null;
    if (group) {
      body = h(
        'div',
        { class: 'cv-body', 'data-owner': block.id, 'data-testid': 'loop-body' },
        svg('svg', { class: 'cv-edges', 'aria-hidden': 'true', width: 1, height: 1 }),
        h(
          'div',
          { class: 'cv-start', 'aria-hidden': 'true' },
          '↻ Each item',
          h('span', {
            class: 'cv-port cv-out',
            'data-port': 'start',
            'data-from': '',
            'data-owner': block.id,
            title: 'Drag to the block each item starts with',
          }),
        ),
      );
      el.classList.add('cv-group');
      el.appendChild(body);
    }
    card = { el, head, body, sig: '' };
    cards.set(block.id, card);
    return card;
  }

  /**
   * @param {{ el: HTMLElement, head: HTMLElement, body: HTMLElement | null, sig: string }} card
   * @param {Block} block @param {Box} box @param {Block | null} owner
   */
  function fillCard(card, block, box, owner) {
    const def = getDef();
    const located = locate(def, block.id);
    const chainExits = located ? exits(located.chain, located.index) : [];
    const status = statuses.get(block.id);
    const issues = options.issuesOf(block.id);
    const selected = selection?.kind === 'block' && selection.id === block.id;
    const isFirst = located?.index === 0;
    const { ui: _ui, ...shown } = block;
    if (nestedChain(block)) shown.params = { ...shown.params, blocks: shown.params.blocks.length };
    const sig = JSON.stringify([
      shown,
      chainExits,
      status && [status.status, status.title, [...status.iterations]],
      issues,
      selected,
      isFirst,
      box.h,
    ]);
    card.el.classList.toggle('is-selected', selected);
    card.el.setAttribute('aria-pressed', String(selected));
    if (card.sig === sig) return;
    card.sig = sig;
    const type = types().get(block.type);
    const label = type?.label ?? block.type;
    const state = status ? status.status : 'idle';
    card.el.className = `cv-card type-${block.type}${card.body ? ' cv-group' : ''}${selected ? ' is-selected' : ''}`;
    card.el.dataset.type = block.type;
    card.el.dataset.status = state;
    card.el.dataset.invalid = String(issues.length > 0);
    const descId = `${uid}-d-${block.id}`;
    const leads = chainExits.map((e) => `${e.port === 'onError' ? 'on error' : e.port} → ${e.target ?? 'end'}`).join(', ');
    card.el.setAttribute('aria-label', `${label} ${block.name ? `“${block.name}” ` : ''}(${block.id})`);
    card.el.setAttribute('aria-describedby', descId);
    const detail = summary(block);
    const ports = sidePorts(block);
    const target = (/** @type {string} */ port) => chainExits.find((e) => e.port === port)?.target ?? null;
    replace(
      card.head,
      h(
        'div',
        { class: 'cv-head' },
        h('span', { class: 'cv-icon', 'aria-hidden': 'true' }, ICONS[block.type] ?? '◆'),
        h('span', { class: 'cv-type' }, label),
        h('span', { class: 'cv-badge', 'data-testid': 'block-status' }, status ? badgeText(state, status.iterations) : ''),
      ),
      h('div', { class: 'cv-title' }, block.name || block.id),
      h('div', { class: 'cv-sub' }, block.name ? h('code', null, block.id) : null, block.name && detail ? ' · ' : '', detail),
      h('span', {
        class: `cv-port cv-in${isFirst ? ' is-start' : ''}`,
        'data-port': 'in',
        style: `top:${PORT_Y}px`,
        title: isFirst ? (owner ? 'Each item starts here' : 'The flow starts here') : 'Input',
      }),
      ports.map((p, i) =>
        h(
          'span',
          {
            class: `cv-port cv-out kind-${p.kind}${target(p.port) ? ' is-linked' : ''}`,
            'data-port': p.port,
            'data-from': block.id,
            'data-testid': 'port',
            style: `top:${PORT_Y + i * PORT_STEP}px`,
            title: `${p.label}: drag to the block that follows${target(p.port) ? ` (now ${target(p.port)})` : ''}`,
          },
          p.kind === 'next' ? null : h('span', { class: 'cv-port-label' }, p.label),
        ),
      ),
      h(
        'span',
        {
          class: `cv-port cv-err${block.onError ? ' is-linked' : ''}`,
          'data-port': 'onError',
          'data-from': block.id,
          'data-testid': 'port',
          style: `top:${box.headH}px`,
          title: `On error: drag to the block that handles a failure${block.onError ? ` (now ${block.onError})` : ''}`,
        },
        h('span', { class: 'cv-port-label' }, 'on error'),
      ),
      issues.length ? h('span', { class: 'cv-issue', 'data-testid': 'card-issue', title: issues.join('\n') }, `⚠ ${issues.length}`) : null,
      h(
        'span',
        { class: 'visually-hidden', id: descId },
        `${detail ? `${detail}. ` : ''}${isFirst ? (owner ? 'First block of the loop body. ' : 'First block after the trigger. ') : ''}Leads to: ${leads}.`,
        status ? ` Last run: ${state}${status.title ? `: ${status.title}` : ''}.` : '',
        issues.length ? ` Problems: ${issues.join('; ')}.` : '',
      ),
    );
    if (status?.title) card.head.title = status.title;
    else card.head.removeAttribute('title');
  }

  /** @param {HTMLElement} el @param {number} x @param {number} y @param {number} w @param {number} hgt */
  function place(el, x, y, w, hgt) {
    el.style.left = `${x}px`;
    el.style.top = `${y}px`;
    el.style.width = `${w}px`;
    el.style.height = `${hgt}px`;
  }

  /**
   * Draws a chain's connections (and the one from its start: the trigger or "Each item").
   * @param {Block[]} chain @param {Map<string, Box>} boxes @param {SVGElement} layer @param {HTMLElement} container
   * @param {{ from: { x: number, y: number, w: number, h: number }, owner: Block | null, origin?: { x: number, y: number } }} start
   */
  function drawEdges(chain, boxes, layer, container, start) {
    const o = start.origin ?? { x: 0, y: 0 };
    layer.replaceChildren();
    for (const old of container.querySelectorAll(':scope > .cv-edge-remove')) old.remove();
    const first = chain.find(isBlock);
    if (first && boxes.has(first.id)) {
      const b = /** @type {Box} */ (boxes.get(first.id));
      layer.appendChild(
        edgePath(start.from.x + start.from.w, start.from.y + PORT_Y, o.x + b.x, o.y + b.y + PORT_Y, 'start', {
          from: start.owner?.id ?? '',
          port: 'start',
          to: first.id,
        }),
      );
    }
    chain.forEach((block, i) => {
      if (!isBlock(block)) return;
      const a = boxes.get(block.id);
      if (!a) return;
      const side = sidePorts(block);
      for (const exit of exits(chain, i)) {
        if (exit.target === null) continue;
        const b = boxes.get(exit.target);
        if (!b) continue;
        const error = exit.port === 'onError';
        const index = side.findIndex((p) => p.port === exit.port);
        const x1 = error ? o.x + a.x + a.w - 44 : o.x + a.x + a.w;
        const y1 = error ? o.y + a.y + a.headH : o.y + a.y + PORT_Y + Math.max(0, index) * PORT_STEP;
        const kind = error ? 'error' : /^cases\[/.test(exit.port) || exit.port === 'default' ? 'case' : exit.port;
        const selected = selection?.kind === 'edge' && selection.from === block.id && selection.port === exit.port;
        const g = edgePath(
          x1,
          y1,
          o.x + b.x,
          o.y + b.y + PORT_Y,
          kind,
          { from: block.id, port: exit.port, to: exit.target },
          error,
          selected,
        );
        layer.appendChild(g);
        if (selected) {
          const mid = /** @type {{ x: number, y: number }} */ (/** @type {any} */ (g).mid);
          container.appendChild(
            h(
              'button',
              {
                type: 'button',
                class: 'cv-edge-remove',
                style: `left:${mid.x - 12}px;top:${mid.y - 12}px`,
                'aria-label': `Remove the connection ${block.id} ${exit.port} → ${exit.target}`,
                'data-testid': 'edge-remove',
                onclick: () => disconnect(block.id, exit.port),
              },
              '×',
            ),
          );
        }
      }
    });
  }

  /** Arrowheads, shared by every layer of this canvas. */
  function markerDefs() {
    const defs = svg('svg', { class: 'cv-defs', 'aria-hidden': 'true', width: 0, height: 0 });
    const inner = svg('defs');
    for (const kind of ['plain', 'error', 'selected']) {
      const marker = svg('marker', {
        id: `${uid}-${kind}`,
        viewBox: '0 0 10 10',
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: 'auto-start-reverse',
      });
      marker.appendChild(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: `cv-arrow is-${kind}` }));
      inner.appendChild(marker);
    }
    defs.appendChild(inner);
    return defs;
  }

  /**
   * @param {number} x1 @param {number} y1 @param {number} x2 @param {number} y2 @param {string} kind
   * @param {{ from: string, port: string, to: string }} data @param {boolean} [down] leaves downwards (onError)
   * @param {boolean} [selected]
   */
  function edgePath(x1, y1, x2, y2, kind, data, down = false, selected = false) {
    const d = curve(x1, y1, x2, y2, down);
    const marker = `${uid}-${selected ? 'selected' : kind === 'error' ? 'error' : 'plain'}`;
    const g = svg('g', {
      class: `cv-edge is-${kind}${selected ? ' is-selected' : ''}`,
      'data-from': data.from,
      'data-port': data.port,
      'data-to': data.to,
    });
    g.appendChild(svg('path', { d, class: 'cv-edge-hit' }));
    g.appendChild(svg('path', { d, class: 'cv-edge-path', 'marker-end': `url(#${marker})` }));
    /** @type {any} */ (g).mid = bezierMid(x1, y1, x2, y2, down);
    return g;
  }

  /** @param {number} x1 @param {number} y1 @param {number} x2 @param {number} y2 @param {boolean} down */
  function controls(x1, y1, x2, y2, down) {
    const dx = Math.max(40, Math.min(160, Math.abs(x2 - x1) / 2 + (x2 < x1 ? 80 : 0)));
    return down ? [x1, y1 + 70, x2 - dx, y2] : [x1 + dx, y1, x2 - dx, y2];
  }
  /** @param {number} x1 @param {number} y1 @param {number} x2 @param {number} y2 @param {boolean} down */
  function curve(x1, y1, x2, y2, down) {
    const [c1x, c1y, c2x, c2y] = controls(x1, y1, x2 - 2, y2, down);
    return `M${x1},${y1} C${c1x},${c1y} ${c2x},${c2y} ${x2 - 2},${y2}`;
  }
  /** @param {number} x1 @param {number} y1 @param {number} x2 @param {number} y2 @param {boolean} down */
  function bezierMid(x1, y1, x2, y2, down) {
    const [c1x, c1y, c2x, c2y] = controls(x1, y1, x2, y2, down);
    return { x: (x1 + 3 * c1x + 3 * c2x + x2) / 8, y: (y1 + 3 * c1y + 3 * c2y + y2) / 8 };
  }

  // ------------------------------------------------------------------ edits
  /** @param {Selection} next @param {{ focus?: boolean }} [o] */
  function select(next, o = {}) {
    const same = JSON.stringify(next) === JSON.stringify(selection);
    selection = next;
    render();
    if (!same) options.onSelect(selection);
    if (o.focus) focusSelection();
  }

  function focusSelection() {
    if (selection?.kind === 'block') cards.get(selection.id)?.el.focus({ preventScroll: false });
    else if (selection?.kind === 'trigger') triggerEl.focus();
    else root.focus({ preventScroll: true });
  }

  /**
   * Writes each block's shown position into its `ui` where it has none, so
   * that moving one card does not move the others.
   * @param {Definition} def
   */
  function pinPositions(def) {
    /** @param {Map<string, Box>} boxes */
    const walk = (boxes) => {
      for (const [id, box] of boxes) {
        const block = locate(def, id)?.block;
        if (block && !uiPosition(block.ui)) setUi(block, box.x, box.y);
        if (box.body) walk(box.body.boxes);
      }
    };
    walk(layout.boxes);
  }

  /** @param {Block} block @param {number} x @param {number} y */
  function setUi(block, x, y) {
    if (block.ui && typeof block.ui === 'object' && !Array.isArray(block.ui)) {
      block.ui.x = Math.round(x);
      block.ui.y = Math.round(y);
    } else block.ui = { x: Math.round(x), y: Math.round(y) };
  }

  /** @param {string} id @param {number} x @param {number} y @param {string} [coalesce] */
  function moveTo(id, x, y, coalesce) {
    edit(
      `Move ${id}`,
      (def) => {
        pinPositions(def);
        const at = locate(def, id);
        if (!at) return 'That block no longer exists.';
        setUi(at.block, at.owner ? Math.max(0, x) : x, at.owner ? Math.max(0, y) : y);
      },
      { coalesce },
    );
  }

  /** @param {string} from @param {string} port */
  function disconnect(from, port) {
    const ok = edit(`Disconnect ${from} ${port}`, (def) => connect(def, from, port, null) ?? undefined, {
      select: { kind: 'block', id: from },
    });
    if (ok) announce(`Removed the ${port} connection of ${from}.`);
    focusSelection();
  }

  /**
   * Connects `from.port` to `to` ('' as from: the trigger or a loop's "Each item").
   * @param {string} from @param {string} port @param {string} to @param {string | null} owner loop id for "Each item"
   */
  function link(from, port, to, owner) {
    const def = getDef();
    if (from === '') {
      const target = locate(def, to);
      if (!target) return;
      if ((target.owner?.id ?? null) !== owner) {
        announce(
          owner ? 'Each item can only start a block inside this loop’s body.' : 'The trigger can only lead to a top-level block.',
          'error',
        );
        return;
      }
      if (edit(`Start at ${to}`, (d) => makeFirst(d, to))) announce(`${owner ? `Each item of ${owner}` : 'The flow'} now starts at ${to}.`);
      return;
    }
    const problem = connectionProblem(def, from, port, to);
    if (problem) {
      announce(problem, 'error');
      return;
    }
    if (edit(`Connect ${from} ${port} → ${to}`, (d) => connect(d, from, port, to) ?? undefined))
      announce(`Connected ${from} ${port} → ${to}.`);
  }

  /**
   * The innermost element among `elements` whose box holds a client point.
   * Drop targets are found by where things are laid out, never by what is
   * painted at the point: an edge's hit stroke, the connection being drawn
   * or a port's label can sit above a card without hiding it from a drop.
   * @param {Iterable<Element>} elements @param {number} x @param {number} y
   */
  function innermostAt(elements, x, y) {
    /** @type {HTMLElement | null} */
    let found = null;
    let area = Number.POSITIVE_INFINITY;
    for (const el of elements) {
      const r = el.getBoundingClientRect();
      if (!(el instanceof HTMLElement) || x < r.left || x > r.right || y < r.top || y > r.bottom) continue;
      if (r.width * r.height < area) [found, area] = [el, r.width * r.height];
    }
    return found;
  }

  /** The card laid out at a client point (a card inside a loop wins over the loop). @param {number} x @param {number} y */
  function cardAt(x, y) {
    return innermostAt(
      [...cards.values()].map((card) => card.el),
      x,
      y,
    );
  }
  /** @param {number} x @param {number} y */
  const loopBodyAt = (x, y) => innermostAt(root.querySelectorAll('.cv-body'), x, y);

  /**
   * The output port a press at a client point grabs: the one under it, or
   * the nearest within PORT_REACH px (a port is 14 px across; whatever is
   * drawn over it must not turn a press on it into a pan).
   * @param {Element} target @param {number} x @param {number} y
   */
  function portAt(target, x, y) {
    const hit = target.closest('.cv-port.cv-out, .cv-port.cv-err');
    if (hit instanceof HTMLElement) return hit;
    /** @type {HTMLElement | null} */
    let found = null;
    let best = PORT_REACH;
    for (const port of root.querySelectorAll('.cv-port.cv-out, .cv-port.cv-err')) {
      const r = port.getBoundingClientRect();
      if (!(port instanceof HTMLElement) || r.width === 0) continue;
      const d = Math.hypot(x - (r.left + r.width / 2), y - (r.top + r.height / 2));
      if (d <= best) [found, best] = [port, d];
    }
    return found;
  }

  /**
   * Adds a block of a type: at a point (a drop), or to the right of the selection.
   * @param {string} type
   * @param {{ clientX: number, clientY: number } | null} at
   * @param {(def: Definition, id: string) => Block} make builds the new block
   */
  function addBlockOfType(type, at, make) {
    const def = getDef();
    let owner = null;
    /** @type {{ x: number, y: number }} */
    let pos;
    if (at) {
      const body = loopBodyAt(at.clientX, at.clientY);
      owner = body?.dataset.owner ?? null;
      const w = toWorld(at.clientX, at.clientY);
      let ox = 0;
      let oy = 0;
      if (owner && body) {
        const origin = containerOrigin(body);
        const box = findBox(owner);
        ox = origin.x + (box?.body?.originX ?? 0);
        oy = origin.y + (box?.body?.originY ?? 0);
      }
      pos = { x: snap(w.x - ox - CARD_W / 2), y: snap(w.y - oy - 24) };
      if (owner) pos = { x: Math.max(0, pos.x), y: Math.max(0, pos.y) };
      pos.y = alignY(owner, '', pos.y);
    } else {
      pos = freeSpot();
      if (selection?.kind === 'block') owner = locate(def, selection.id)?.owner?.id ?? null;
    }
    const wasEmpty = !(Array.isArray(def.blocks) && def.blocks.some(isBlock));
    const id = uniqueId(usedIds(def), idStem(type));
    const done = edit(
      `Add ${type}`,
      (d) => {
        pinPositions(d);
        const chain = chainOf(d, owner);
        if (!chain) return 'That loop no longer exists.';
        const block = make(d, id);
        setUi(block, pos.x, pos.y);
        addBlock(chain, block);
      },
      { select: { kind: 'block', id } },
    );
    if (done) {
      announce(`Added ${types().get(type)?.label ?? type} (${id})${owner ? ` inside ${owner}` : ''}.`);
      requestAnimationFrame(() => {
        // The trigger moves to sit before the first block: bring it into view too.
        if (wasEmpty) revealElement(triggerEl);
        reveal(id);
        cards.get(id)?.el.focus({ preventScroll: true });
      });
    }
    return done ? id : null;
  }

  /** Right of the selected block (or of everything), below anything in the way. */
  function freeSpot() {
    const def = getDef();
    const sel = selection?.kind === 'block' ? locate(def, selection.id) : null;
    const boxes = sel?.owner ? (findBox(sel.owner.id)?.body?.boxes ?? layout.boxes) : layout.boxes;
    const base = sel ? boxes.get(sel.block.id) : undefined;
    /** @type {number} */
    let x;
    /** @type {number} */
    let y;
    if (base) {
      x = base.x + base.w + GAP_X;
      y = base.y;
    } else if (boxes.size) {
      x = Math.max(...[...boxes.values()].map((b) => b.x + b.w)) + GAP_X;
      y = Math.min(...[...boxes.values()].map((b) => b.y));
    } else {
      x = 0;
      y = 0;
    }
    const overlaps = () => [...boxes.values()].some((b) => x < b.x + b.w && x + CARD_W > b.x && y < b.y + b.h && y + 90 > b.y);
    for (let n = 0; n < 50 && overlaps(); n++) y += 90 + GAP_Y;
    return { x: snap(x), y: snap(y) };
  }

  /** @param {string} id @returns {Box | undefined} */
  function findBox(id) {
    /** @param {Map<string, Box>} boxes @returns {Box | undefined} */
    const walk = (boxes) => {
      for (const [k, b] of boxes) {
        if (k === id) return b;
        const inner = b.body ? walk(b.body.boxes) : undefined;
        if (inner) return inner;
      }
      return undefined;
    };
    return walk(layout.boxes);
  }

  /** Scrolls the view so a block is visible. @param {string} id */
  function reveal(id) {
    const el = cards.get(id)?.el;
    if (el) revealElement(el);
  }

  /** Pans the least needed to show an element of the canvas. @param {HTMLElement} el */
  function revealElement(el) {
    const box = root.getBoundingClientRect();
    // The configure panel covers the canvas's right side.
    const r = { left: box.left, top: box.top, bottom: box.bottom, right: box.right - (options.coveredRight?.() ?? 0) };
    const c = el.getBoundingClientRect();
    let dx = 0;
    let dy = 0;
    if (c.left < r.left + 20) dx = r.left + 20 - c.left;
    else if (c.right > r.right - 20) dx = Math.max(r.left + 20 - c.left, r.right - 20 - c.right);
    if (c.top < r.top + 20) dy = r.top + 20 - c.top;
    else if (c.bottom > r.bottom - 20) dy = Math.max(r.top + 20 - c.top, r.bottom - 20 - c.bottom);
    if (dx || dy) {
      view.x += dx;
      view.y += dy;
      applyView();
    }
  }

  /** @param {string} id */
  function removeById(id) {
    const def = getDef();
    const at = locate(def, id);
    if (!at) return;
    const neighbour = at.chain[at.index + 1] ?? at.chain[at.index - 1] ?? at.owner ?? null;
    if (edit(`Delete ${id}`, (d) => removeBlock(d, id), { select: neighbour ? { kind: 'block', id: neighbour.id } : null })) {
      announce(`Deleted ${id}.`);
      requestAnimationFrame(focusSelection);
    }
  }

  /** @param {string} id */
  function duplicateById(id) {
    /** @type {string | null} */
    let copyId = null;
    const ok = edit(`Duplicate ${id}`, (d) => {
      pinPositions(d);
      const copy = duplicateBlock(d, id);
      if (!copy) return 'That block no longer exists.';
      copyId = copy.id;
    });
    if (ok && copyId) {
      select({ kind: 'block', id: copyId });
      announce(`Duplicated ${id} as ${copyId}.`);
      requestAnimationFrame(() => cards.get(/** @type {string} */ (copyId))?.el.focus());
    }
  }

  function autoLayout() {
    const positions = autoLayoutAll(getDef());
    if (
      edit('Auto-layout', (d) => {
        for (const { block } of allBlocks(d)) {
          const p = positions.get(block.id);
          if (p) setUi(block, p.x, p.y);
        }
      })
    ) {
      requestAnimationFrame(fitView);
      announce('Arranged the blocks left to right.');
    }
  }

  /** @param {number} n */
  const snap = (n) => Math.round(n / SNAP) * SNAP;

  /**
   * Lines a card up with a neighbour of its chain when it is dropped within
   * a few pixels of its row (so hand-placed flows come out straight).
   * @param {string | null} owner the loop whose body holds it, or null @param {string} id @param {number} y
   */
  function alignY(owner, id, y) {
    const boxes = owner ? (findBox(owner)?.body?.boxes ?? new Map()) : layout.boxes;
    let best = y;
    let distance = 17;
    for (const [other, b] of boxes) {
      if (other === id) continue;
      const d = Math.abs(b.y - y);
      if (d < distance) {
        distance = d;
        best = b.y;
      }
    }
    return best;
  }

  // ------------------------------------------------------------------ pointer
  /** @type {null | { kind: 'pan' | 'move' | 'link', id?: string, port?: string, owner?: string | null, startX: number, startY: number, origin?: { x: number, y: number }, moved: boolean, vx?: number, vy?: number, from?: { x: number, y: number }, over?: HTMLElement | null }} */
  let drag = null;
  /** Set while the canvas itself moves focus to a card (no panning to it then). */
  let quietFocus = false;

  root.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    const target = /** @type {Element} */ (event.target);
    if (target.closest('button')) return;
    const port = portAt(target, event.clientX, event.clientY);
    if (port) {
      event.preventDefault();
      const r = port.getBoundingClientRect();
      const from = toWorld(r.left + r.width / 2, r.top + r.height / 2);
      drag = {
        kind: 'link',
        id: port.dataset.from ?? '',
        port: port.dataset.port ?? 'next',
        owner: port.dataset.owner ?? null,
        startX: event.clientX,
        startY: event.clientY,
        moved: false,
        from,
        over: null,
      };
      root.setPointerCapture(event.pointerId);
      root.classList.add('is-linking');
      return;
    }
    const edge = target.closest('.cv-edge');
    if (edge instanceof SVGGElement && edge.dataset.port !== 'start') {
      select({ kind: 'edge', from: edge.dataset.from ?? '', port: edge.dataset.port ?? '' });
      root.focus({ preventScroll: true });
      return;
    }
    const card = target.closest('.cv-card');
    const body = target.closest('.cv-body');
    // A press on a loop body's empty area pans; on a card (or a loop's header) it selects and moves.
    if (card instanceof HTMLElement && !(body && card.contains(body))) {
      const id = card.dataset.blockId ?? '';
      const box = findBox(id);
      if (!box) return;
      if (!(selection?.kind === 'block' && selection.id === id)) select({ kind: 'block', id });
      drag = { kind: 'move', id, startX: event.clientX, startY: event.clientY, origin: { x: box.x, y: box.y }, moved: false };
      // Pointer capture keeps the press's focus off the card: give it focus (without panning yet).
      quietFocus = true;
      card.focus({ preventScroll: true });
      quietFocus = false;
      root.setPointerCapture(event.pointerId);
      return;
    }
    if (target.closest('.cv-trigger')) {
      select({ kind: 'trigger' });
      event.preventDefault();
      triggerEl.focus({ preventScroll: true });
      return;
    }
    drag = { kind: 'pan', startX: event.clientX, startY: event.clientY, vx: view.x, vy: view.y, moved: false };
    root.setPointerCapture(event.pointerId);
    root.classList.add('is-panning');
  });

  root.addEventListener('pointermove', (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.startX;
    const dy = event.clientY - drag.startY;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    drag.moved = true;
    if (drag.kind === 'pan') {
      view.x = /** @type {number} */ (drag.vx) + dx;
      view.y = /** @type {number} */ (drag.vy) + dy;
      applyView();
    } else if (drag.kind === 'move' && drag.id && drag.origin) {
      const inLoop = Boolean(locate(getDef(), drag.id)?.owner);
      let x = snap(drag.origin.x + dx / view.zoom);
      let y = snap(drag.origin.y + dy / view.zoom);
      if (inLoop) {
        x = Math.max(0, x);
        y = Math.max(0, y);
      }
      overrides.set(drag.id, { x, y });
      scheduleRender();
    } else if (drag.kind === 'link' && drag.from) {
      const to = toWorld(event.clientX, event.clientY);
      tempPath.setAttribute('d', curve(drag.from.x, drag.from.y, to.x, to.y, drag.port === 'onError'));
      const over = cardAt(event.clientX, event.clientY);
      if (drag.over && drag.over !== over) drag.over.classList.remove('is-drop-ok', 'is-drop-bad');
      drag.over = over;
      if (over) {
        const problem = linkProblem(drag, over.dataset.blockId ?? '');
        over.classList.toggle('is-drop-ok', !problem);
        over.classList.toggle('is-drop-bad', Boolean(problem));
        over.title = problem ?? '';
      }
    }
  });

  /** Why a connection being drawn may not end at a block (null: it may). @param {NonNullable<typeof drag>} d @param {string} toId */
  function linkProblem(d, toId) {
    return d.id === '' ? startProblem(toId, d.owner ?? null) : connectionProblem(getDef(), d.id ?? '', d.port ?? '', toId);
  }

  /** @param {string} toId @param {string | null} owner */
  function startProblem(toId, owner) {
    const at = locate(getDef(), toId);
    return at && (at.owner?.id ?? null) === owner ? null : 'Not in this chain';
  }

  /** @param {PointerEvent} event */
  function endDrag(event) {
    if (!drag) return;
    const d = drag;
    drag = null;
    root.classList.remove('is-panning', 'is-linking');
    if (root.hasPointerCapture(event.pointerId)) root.releasePointerCapture(event.pointerId);
    if (d.kind === 'pan' && !d.moved && event.type === 'pointerup') {
      select(null);
      root.focus({ preventScroll: true });
    }
    if (d.kind === 'move' && d.id) {
      const at = overrides.get(d.id);
      overrides.clear();
      if (d.moved && at && event.type === 'pointerup') moveTo(d.id, at.x, alignY(locate(getDef(), d.id)?.owner?.id ?? null, d.id, at.y));
      else {
        render();
        // A click: show the whole card beside the configure panel.
        requestAnimationFrame(() => reveal(/** @type {string} */ (d.id)));
      }
      quietFocus = true;
      cards.get(d.id)?.el.focus({ preventScroll: true });
      quietFocus = false;
    }
    if (d.kind === 'link') {
      tempPath.setAttribute('d', '');
      d.over?.classList.remove('is-drop-ok', 'is-drop-bad');
      d.over?.removeAttribute('title');
      // Where the button came up decides, not where the last pointermove was seen.
      const over = event.type === 'pointerup' ? cardAt(event.clientX, event.clientY) : null;
      if (over) link(d.id ?? '', d.port ?? 'next', over.dataset.blockId ?? '', d.owner ?? null);
    }
  }
  root.addEventListener('pointerup', endDrag);
  root.addEventListener('pointercancel', endDrag);

  root.addEventListener(
    'wheel',
    (event) => {
      event.preventDefault();
      if (event.ctrlKey || event.metaKey) zoomBy(Math.exp(-event.deltaY / 300), { x: event.clientX, y: event.clientY });
      else {
        view.x -= event.deltaX;
        view.y -= event.deltaY;
        applyView();
      }
    },
    { passive: false },
  );

  // ------------------------------------------------------------------ focus and keys
  root.addEventListener('focusin', (event) => {
    const target = /** @type {Element} */ (event.target);
    const card = target.closest('.cv-card');
    if (card instanceof HTMLElement && target === card) {
      const id = card.dataset.blockId ?? '';
      if (!(selection?.kind === 'block' && selection.id === id)) select({ kind: 'block', id });
      if (!quietFocus) reveal(id);
    } else if (target === triggerEl && selection?.kind !== 'trigger') select({ kind: 'trigger' });
  });

  root.addEventListener('keydown', (event) => {
    const target = /** @type {Element} */ (event.target);
    const mod = event.ctrlKey || event.metaKey;
    const card = target instanceof HTMLElement && target.classList.contains('cv-card') ? target : null;
    const step = event.shiftKey ? 50 : SNAP;
    const arrows = /** @type {Record<string, [number, number]>} */ ({
      ArrowLeft: [-1, 0],
      ArrowRight: [1, 0],
      ArrowUp: [0, -1],
      ArrowDown: [0, 1],
    });
    if (card) {
      const id = card.dataset.blockId ?? '';
      const dir = arrows[event.key];
      if (dir && !mod && !event.altKey) {
        event.preventDefault();
        const box = findBox(id);
        if (!box) return;
        moveTo(id, snap(box.x) + dir[0] * step, snap(box.y) + dir[1] * step, `move:${id}`);
        requestAnimationFrame(() => reveal(id));
        return;
      }
      if ((event.key === 'Delete' || event.key === 'Backspace') && !mod) {
        event.preventDefault();
        removeById(id);
        return;
      }
      if (mod && (event.key === 'd' || event.key === 'D')) {
        event.preventDefault();
        duplicateById(id);
        return;
      }
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        options.onOpenConfig();
        return;
      }
    }
    if (target === triggerEl && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      options.onOpenConfig();
      return;
    }
    if (event.key === 'Escape' && selection) {
      event.preventDefault();
      select(null);
      root.focus({ preventScroll: true });
      return;
    }
    if (target === root) {
      const dir = arrows[event.key];
      if (dir && !mod) {
        event.preventDefault();
        view.x -= dir[0] * 60;
        view.y -= dir[1] * 60;
        applyView();
        return;
      }
      if ((event.key === 'Delete' || event.key === 'Backspace') && selection?.kind === 'edge') {
        event.preventDefault();
        disconnect(selection.from, selection.port);
        return;
      }
    }
    if (!mod && (event.key === '+' || event.key === '=')) {
      event.preventDefault();
      zoomBy(1.2);
    } else if (!mod && (event.key === '-' || event.key === '_')) {
      event.preventDefault();
      zoomBy(1 / 1.2);
    } else if (!mod && event.key === '0') {
      event.preventDefault();
      fitView();
    }
  });

  const resize = new ResizeObserver(() => {
    if (!fitted && root.getBoundingClientRect().width) {
      fitted = true;
      render();
      fitView();
    }
  });
  resize.observe(root);

  applyView();

  return {
    el: root,
    zoomLabel,
    render,
    fit: fitView,
    zoomBy,
    select,
    focusSelection,
    autoLayout,
    /** @returns {Selection} */
    selection: () => selection,
    /** @param {string} type @param {{ clientX: number, clientY: number } | null} at @param {(def: Definition, id: string) => Block} make */
    add: addBlockOfType,
    /** Whether a client point is over the canvas (and not over what covers it). @param {number} x @param {number} y */
    contains(x, y) {
      const hit = document.elementFromPoint(x, y);
      return Boolean(hit && root.contains(hit));
    },
    remove: removeById,
    duplicate: duplicateById,
    disconnect,
    link,
    /** @param {string} id */
    focusBlock(id) {
      reveal(id);
      cards.get(id)?.el.focus({ preventScroll: true });
    },
    // The live-status control the run sidebar drives (see views/sidebar.js).
    /** @param {string} blockId @param {string} status @param {string} [title] @param {number} [iteration] */
    setStatus(blockId, status, title, iteration) {
      let entry = statuses.get(blockId);
      if (!entry) {
        entry = { status, iterations: new Map() };
        statuses.set(blockId, entry);
      }
      if (iteration !== undefined && iteration !== null) {
        entry.iterations.set(String(iteration), status);
        entry.status = aggregate(entry.iterations);
      } else entry.status = status;
      entry.title = title;
      if (status === 'idle') statuses.delete(blockId);
      scheduleRender();
    },
    /** @param {string} [status] */
    reset(status = 'idle') {
      statuses.clear();
      if (status !== 'idle') for (const { block } of allBlocks(getDef())) statuses.set(block.id, { status, iterations: new Map() });
      scheduleRender();
    },
    /** @param {string} blockId */
    statusOf: (blockId) => statuses.get(blockId) ?? null,
    destroy() {
      resize.disconnect();
      cancelAnimationFrame(frame);
    },
  };
}
