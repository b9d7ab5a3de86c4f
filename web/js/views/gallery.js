/**
 * "New flow": the starters gallery. Each starter is a real flow definition
 * (web/js/flow-templates.js) drawn as a small map of its canvas; choosing
 * one opens it on the canvas, unsaved.
 */
import { api, ApiError, describeError } from '../api.js';
import { h, replace, setTitle, svg } from '../dom.js';
import { learnBranches } from '../canvas/model.js';
import { layoutFlow } from '../canvas/layout.js';
import { blankFlow, starters } from '../flow-templates.js';
import { describeTrigger } from './flow.js';

/**
 * @param {HTMLElement} root
 */
export async function galleryView(root) {
  setTitle('New flow');
  replace(root, h('p', { class: 'loading', role: 'status' }, 'Loading starters…'));
  /** @type {Array<{ type: string, label: string, branches?: string[] }>} */
  let catalogue = [];
  try {
    catalogue = (await api.blocks())?.items ?? [];
    learnBranches(catalogue);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    replace(root, h('h1', null, 'New flow'), h('p', { role: 'alert' }, describeError(error)));
    return;
  }
  const labels = new Map(catalogue.map((t) => [t.type, t.label]));
  const list = starters(new Set(catalogue.map((t) => t.type)));

  /** @param {string} key @param {string} title @param {string} summary @param {any} definition @param {{ needs?: { secrets: string[], variables: string[] }, note?: string }} [extra] */
  const card = (key, title, summary, definition, extra = {}) => {
    const headingId = `starter-${key}`;
    const blocks = Array.isArray(definition.blocks) ? definition.blocks : [];
    return h(
      'li',
      { class: 'starter', 'data-testid': 'starter', 'data-starter': key },
      h(
        'a',
        {
          class: 'starter-link',
          href: `/flows/new?template=${encodeURIComponent(key)}`,
          'aria-labelledby': headingId,
          'aria-describedby': `${headingId}-d`,
          'data-testid': `starter-${key}`,
        },
        miniMap(definition),
      ),
      h('h2', { id: headingId }, title),
      h(
        'p',
        { class: 'starter-meta' },
        h('span', { class: 'tag tag-trigger' }, describeTrigger(definition.trigger)),
        ' ',
        blocks.map((/** @type {any} */ b) => h('span', { class: `tag type-tag type-${b.type}` }, labels.get(b.type) ?? b.type)),
      ),
      h('p', { id: `${headingId}-d`, class: 'starter-summary' }, summary),
      extra.needs && (extra.needs.secrets.length || extra.needs.variables.length)
        ? h(
            'p',
            { class: 'help' },
            'Needs ',
            [
              ...extra.needs.secrets.map((n) => ['secret ', h('code', null, n)]),
              ...extra.needs.variables.map((n) => ['variable ', h('code', null, n)]),
            ].map((x, i) => [i ? ' and ' : '', x]),
            ' (set them after saving).',
          )
        : null,
      extra.note ? h('p', { class: 'hint' }, extra.note) : null,
    );
  };

  replace(
    root,
    h(
      'header',
      { class: 'page-head' },
      h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'Flows'), ' / '),
      h('h1', null, 'New flow'),
      h('p', { class: 'page-desc' }, 'Start from a working example or from an empty canvas. Nothing is saved until you press Save.'),
    ),
    h(
      'ul',
      { class: 'starters', 'data-testid': 'gallery' },
      card('blank', 'Empty canvas', 'Just a manual trigger: drag blocks from the list and connect them.', blankFlow()),
      list.map((s) => card(s.key, s.title, s.summary, s.definition, { needs: s.needs, note: s.note })),
    ),
  );
}

/**
 * A small drawing of a flow's canvas (decoration: the card's text says it all).
 * @param {any} definition
 */
function miniMap(definition) {
  const { boxes, trigger } = layoutFlow(definition);
  let left = trigger.x;
  let top = trigger.y;
  let right = trigger.x + trigger.w;
  let bottom = trigger.y + trigger.h;
  for (const b of boxes.values()) {
    left = Math.min(left, b.x);
    top = Math.min(top, b.y);
    right = Math.max(right, b.x + b.w);
    bottom = Math.max(bottom, b.y + b.h);
  }
  const pad = 30;
  const map = svg('svg', {
    class: 'starter-map',
    viewBox: `${left - pad} ${top - pad} ${right - left + pad * 2} ${Math.max(bottom - top + pad * 2, 260)}`,
    preserveAspectRatio: 'xMidYMid meet',
    'aria-hidden': 'true',
  });
  const blocks = Array.isArray(definition.blocks) ? definition.blocks : [];
  const first = blocks[0] ? boxes.get(blocks[0].id) : undefined;
  if (first)
    map.appendChild(svg('path', { class: 'map-edge', d: `M${trigger.x + trigger.w},${trigger.y + 46} L${first.x},${first.y + 46}` }));
  /** @param {any[]} chain @param {number} ox @param {number} oy @param {Map<string, any>} inner */
  const draw = (chain, ox, oy, inner) => {
    chain.forEach((b, i) => {
      const box = inner.get(b.id);
      if (!box) return;
      const to = b.next !== undefined ? b.next : b.then !== undefined ? b.then : chain[i + 1]?.id;
      const targets = [to, b.else, b.onError].filter((t) => typeof t === 'string');
      for (const t of targets) {
        const tb = inner.get(t);
        if (tb)
          map.appendChild(
            svg('path', {
              class: `map-edge${t === b.onError ? ' is-error' : ''}`,
              d: `M${ox + box.x + box.w},${oy + box.y + 46} C${ox + box.x + box.w + 50},${oy + box.y + 46} ${ox + tb.x - 50},${oy + tb.y + 46} ${ox + tb.x},${oy + tb.y + 46}`,
            }),
          );
      }
      map.appendChild(
        svg('rect', {
          class: `map-node type-${b.type}${box.body ? ' is-group' : ''}`,
          x: ox + box.x,
          y: oy + box.y,
          width: box.w,
          height: box.h,
          rx: 12,
        }),
      );
      map.appendChild(svg('rect', { class: `map-band type-${b.type}`, x: ox + box.x, y: oy + box.y, width: 10, height: box.headH, rx: 4 }));
      if (box.body) draw(b.params.blocks, ox + box.x + box.body.originX, oy + box.y + box.body.top + box.body.originY, box.body.boxes);
    });
  };
  draw(blocks, 0, 0, boxes);
  map.appendChild(svg('rect', { class: 'map-node is-trigger', x: trigger.x, y: trigger.y, width: trigger.w, height: trigger.h, rx: 40 }));
  return map;
}
