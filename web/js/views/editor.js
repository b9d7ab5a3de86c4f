/**
 * The flow editor: a block palette (from `GET /v1/blocks`, by category,
 * searchable), the canvas, the "Configure block" panel, and the Advanced
 * tab with the JSON. It owns the definition being edited, its undo history
 * and its dirty state; saves with `If-Match` (a 409 offers to reload, a
 * 422 marks the blocks and fields its details name); guards unsaved changes.
 *
 * `createEditor()` is used by the flow page (an existing flow) and by
 * `newFlowView()` (a starter, not saved yet).
 */
import { api, ApiError, definitionOf, describeError } from '../api.js';
import { createCanvas } from '../canvas/canvas.js';
import {
  allBlocks,
  blockOfPath,
  connect,
  inLoop,
  learnBranches,
  locate,
  makeFirst,
  onErrorPath,
  renameBlock,
  uniqueId,
  upstreamOf,
  usedIds,
} from '../canvas/model.js';
import { blockPanel, showIssues, triggerPanel } from '../canvas/panel.js';
import { closePicker } from '../canvas/picker.js';
import { flowIssues } from '../canvas/validate.js';
import { h, notice, replace, setTitle, statusPill } from '../dom.js';
import { blankFlow, starters } from '../flow-templates.js';
import { guardLeave, navigate, onLeave } from '../router.js';
import { referencedNames } from '../templates.js';
import { createJsonTab } from './json-tab.js';

/**
 * @typedef {import('../canvas/model.js').Definition} Definition
 * @typedef {import('../canvas/model.js').Block} Block
 * @typedef {import('../canvas/canvas.js').Selection} Selection
 * @typedef {import('../canvas/canvas.js').BlockType} BlockType
 * @typedef {import('../canvas/validate.js').Issue} Issue
 * @typedef {import('../canvas/picker.js').PickGroup} PickGroup
 */

const CATEGORY_ORDER = ['Actions', 'Data', 'Flow', 'Media'];
const HISTORY_LIMIT = 200;
const COALESCE_MS = 1500;

/** Where `{{SECRETS.…}}` may go (contract 1.1): top-level params, by block type. */
const SECRET_PARAMS = /** @type {Record<string, string[]>} */ ({ http_request: ['url', 'headers', 'body'], log: ['message'] });

/** What each block type's output holds (contract tables), when `GET /v1/blocks` gives no output schema. */
const OUTPUTS = /** @type {Record<string, Array<[string, string]>>} */ ({
  log: [['message', 'the message as logged']],
  http_request: [
    ['status', 'HTTP status'],
    ['body', 'response body (JSON parsed)'],
    ['headers', 'response headers'],
  ],
  condition: [['result', 'true or false']],
  delay: [['sleptSeconds', 'seconds waited']],
  r2_object: [
    ['key', 'object key'],
    ['size', 'size in bytes'],
    ['contentType', 'content type'],
    ['eTag', 'ETag'],
    ['customMetadata', 'custom metadata'],
    ['uploaded', 'upload time'],
  ],
  switch: [['matched', 'index of the matching case']],
  for_each: [
    ['count', 'number of items'],
    ['results', 'per item, the last output'],
  ],
  trigger_flow: [
    ['runId', 'the started run'],
    ['status', 'its status'],
    ['output', 'its output (with wait)'],
  ],
  image_info: [
    ['width', 'width in pixels'],
    ['height', 'height in pixels'],
    ['format', 'image format'],
    ['size', 'size in bytes'],
    ['key', 'object key'],
  ],
  image_transform: [
    ['key', 'written object key'],
    ['width', 'width in pixels'],
    ['height', 'height in pixels'],
    ['size', 'size in bytes'],
    ['contentType', 'content type'],
  ],
});

/** What `{{trigger.…}}` holds, by trigger type (contract "Triggers"). */
const TRIGGER_FIELDS = /** @type {Record<string, Array<[string, string]>>} */ ({
  webhook: [
    ['body', 'the request body (JSON parsed)'],
    ['headers', 'request headers'],
    ['query', 'query parameters'],
  ],
  r2_upload: [
    ['key', 'object key'],
    ['size', 'size in bytes'],
    ['eTag', 'ETag'],
    ['bucket', 'bucket'],
    ['action', 'event action'],
    ['eventTime', 'event time'],
  ],
  schedule: [
    ['scheduledTime', 'when it fired'],
    ['cron', 'the cron expression'],
  ],
  flow: [
    ['input', 'input from the starting flow'],
    ['parentRunId', 'the starting run'],
    ['parentFlowId', 'the starting flow'],
  ],
  manual: [],
});

/** @param {unknown} value */
const pretty = (value) => JSON.stringify(value, null, 2);

/** A default for a schema (required properties only). @param {any} s @returns {unknown} */
function defaultFor(s) {
  if (!s || typeof s !== 'object') return '';
  if (Array.isArray(s.enum)) return s.enum[0];
  if (Array.isArray(s.anyOf)) return s.anyOf.some((/** @type {any} */ x) => x?.type === 'null') ? null : defaultFor(s.anyOf[0]);
  const t = Array.isArray(s.type) ? s.type[0] : s.type;
  if (t === 'integer' || t === 'number') return typeof s.minimum === 'number' ? s.minimum : 0;
  if (t === 'boolean') return false;
  if (t === 'array') return Array.from({ length: s.minItems ?? 0 }, () => defaultFor(s.items));
  if (t === 'object') {
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const key of Array.isArray(s.required) ? s.required : []) out[key] = defaultFor(s.properties?.[key]);
    return out;
  }
  return '';
}

/**
 * A new block of a type, with its required params filled sensibly.
 * @param {BlockType | undefined} type @param {string} typeName @param {string} id @param {Set<string>} used
 * @returns {Block}
 */
function newBlock(type, typeName, id, used) {
  /** @type {Record<string, any>} */
  const params = type?.params ? /** @type {Record<string, any>} */ (defaultFor(type.params)) : {};
  switch (typeName) {
    case 'http_request':
      params.method = 'POST';
      break;
    case 'for_each': {
      const inner = uniqueId(new Set([...used, id]), 'item_log');
      params.items = '{{trigger.items}}';
      params.blocks = [{ id: inner, type: 'log', params: { message: 'Item {{index}}: {{item}}' }, ui: { x: 0, y: 0 } }];
      break;
    }
    case 'switch':
      params.value = '{{trigger.body.kind}}';
      params.cases = [{ equals: 'a', next: null }];
      break;
    case 'delay':
      params.seconds = 5;
      break;
    case 'r2_object':
      params.key = '{{trigger.key}}';
      break;
    case 'condition':
      params.op = 'eq';
      if (params.right === undefined) params.right = '';
      break;
  }
  return { id, type: typeName, params };
}

/**
 * Sets (or, with undefined, deletes) a value at a path inside an object.
 * @param {any} target @param {Array<string | number>} path @param {unknown} value
 */
function setPath(target, path, value) {
  let node = target;
  for (let i = 0; i < path.length - 1; i++) {
    const key = /** @type {string | number} */ (path[i]);
    if (node[key] === null || typeof node[key] !== 'object') {
      if (value === undefined) return;
      node[key] = typeof path[i + 1] === 'number' ? [] : {};
    }
    node = node[key];
  }
  const last = /** @type {string | number} */ (path[path.length - 1]);
  if (value === undefined) {
    if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
    else delete node[last];
  } else node[last] = value;
}

/**
 * @param {{
 *   definition: Definition,
 *   flowId: string | null,
 *   version?: number,
 *   catalogue: BlockType[],
 *   onSaved: (flow: any, created: boolean) => void,
 *   onTest?: () => void,
 *   onDirty?: (dirty: boolean) => void,
 *   testInput?: () => unknown,
 *   onSecretsChanged?: () => void,
 * }} options
 */
export function createEditor(options) {
  const { flowId } = options;
  let version = options.version;
  learnBranches(options.catalogue);
  /** @type {Map<string, BlockType>} */
  const types = new Map(options.catalogue.map((t) => [t.type, t]));

  /** @type {Definition} */
  let def = JSON.parse(JSON.stringify(options.definition));
  let savedJson = flowId ? JSON.stringify(def) : '';
  /** @type {Array<{ json: string, label: string }>} */
  let past = [];
  /** @type {Array<{ json: string, label: string }>} */
  let future = [];
  let last = { key: '', at: 0 };
  /** @type {Map<string | null, Issue[]>} */
  let clientIssues = new Map();
  /** @type {Map<string | null, Issue[]>} */
  let serverIssues = new Map();
  /** The run whose steps the cards show. @type {string | null} */
  let runId = null;
  let tab = /** @type {'canvas' | 'json'} */ ('canvas');
  /** The JSON text as the user wrote it, and the definition it parsed to (so it round-trips as written). */
  let jsonText = pretty(def);
  let jsonOf = JSON.stringify(def);
  /** The text the Advanced tab was last filled with (edits since then are unsaved work). */
  let shownText = jsonText;

  const msg = notice({ 'data-testid': 'editor-notice' });
  const live = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'data-testid': 'announcer' });
  const toast = h('div', { class: 'cv-toast', hidden: true, 'data-testid': 'canvas-toast' });
  let toastTimer = 0;
  /** @param {string} text @param {'info' | 'error'} [kind] */
  const announce = (text, kind = 'info') => {
    live.textContent = '';
    requestAnimationFrame(() => (live.textContent = text));
    toast.textContent = text;
    toast.className = `cv-toast is-${kind}`;
    toast.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = window.setTimeout(() => (toast.hidden = true), kind === 'error' ? 7000 : 3500);
  };

  // ------------------------------------------------------------------ history
  /**
   * Applies a change to a copy of the definition; a string returned by
   * `mutate` refuses it (and is announced).
   * @type {import('../canvas/canvas.js').Edit}
   */
  function edit(label, mutate, o = {}) {
    const before = JSON.stringify(def);
    const draft = JSON.parse(before);
    const problem = mutate(draft);
    if (typeof problem === 'string') {
      announce(problem, 'error');
      return false;
    }
    const after = JSON.stringify(draft);
    if (after !== before) {
      const now = Date.now();
      if (!(o.coalesce && last.key === o.coalesce && now - last.at < COALESCE_MS)) {
        past.push({ json: before, label });
        if (past.length > HISTORY_LIMIT) past.shift();
      }
      last = { key: o.coalesce ?? '', at: now };
      future = [];
      def = draft;
    }
    changed({ rebuildPanel: !o.coalesce?.startsWith('field:') && !o.coalesce?.startsWith('move:'), select: o.select });
    return true;
  }

  /** @param {'undo' | 'redo'} which */
  function step(which) {
    const from = which === 'undo' ? past : future;
    const to = which === 'undo' ? future : past;
    const entry = from.pop();
    if (!entry) {
      announce(which === 'undo' ? 'Nothing to undo.' : 'Nothing to redo.');
      return;
    }
    to.push({ json: JSON.stringify(def), label: entry.label });
    def = JSON.parse(entry.json);
    last = { key: '', at: 0 };
    const sel = canvas.selection();
    const keep = sel?.kind === 'block' ? (locate(def, sel.id) ? sel : null) : sel?.kind === 'edge' ? null : sel;
    changed({ rebuildPanel: true, select: keep });
    announce(`${which === 'undo' ? 'Undid' : 'Redid'}: ${entry.label}.`);
  }

  /** @param {{ rebuildPanel?: boolean, select?: Selection }} [o] */
  function changed(o = {}) {
    clientIssues = flowIssues(def, types);
    if (o.select !== undefined) canvas.select(o.select);
    else canvas.render();
    if (o.rebuildPanel) renderPanel();
    else refreshPanelIssues();
    refreshState();
  }

  function dirty() {
    return JSON.stringify(def) !== savedJson;
  }

  function refreshState() {
    const isDirty = dirty();
    undoBtn.toggleAttribute('disabled', past.length === 0);
    redoBtn.toggleAttribute('disabled', future.length === 0);
    undoBtn.title = past.length ? `Undo ${past[past.length - 1]?.label} (Ctrl+Z)` : 'Undo (Ctrl+Z)';
    redoBtn.title = future.length ? `Redo ${future[future.length - 1]?.label} (Ctrl+Shift+Z)` : 'Redo (Ctrl+Shift+Z)';
    dirtyState.textContent = !flowId ? 'Not saved yet' : isDirty ? 'Unsaved changes' : 'All changes saved';
    dirtyState.dataset.dirty = String(isDirty || !flowId);
    options.onDirty?.(isDirty);
  }

  // ------------------------------------------------------------------ issues
  /** @param {string | null} id @returns {Issue[]} */
  const issuesFor = (id) => [...(clientIssues.get(id) ?? []), ...(serverIssues.get(id) ?? [])];
  /** @param {Issue} i */
  const issueText = (i) => (i.field && i.field !== 'params' ? `${i.field.replace(/^params\./, '')}: ${i.message}` : i.message);

  // ------------------------------------------------------------------ canvas
  const canvas = createCanvas({
    getDef: () => def,
    types: () => types,
    edit,
    announce,
    onSelect: () => renderPanel(),
    onOpenConfig: () => {
      const controls = 'input, select, textarea, button';
      const first = /** @type {HTMLElement | null} */ (
        panelBody.querySelector(`.cfg-params :is(${controls})`) ?? panelBody.querySelector(controls)
      );
      first?.focus();
    },
    issuesOf: (id) => issuesFor(id).map(issueText),
    coveredRight: () => (panel.hidden ? 0 : panel.getBoundingClientRect().width),
  });

  // ------------------------------------------------------------------ palette
  const search = /** @type {HTMLInputElement} */ (
    h('input', {
      type: 'search',
      id: 'palette-search',
      placeholder: 'Search blocks  ( / )',
      autocomplete: 'off',
      'data-testid': 'palette-search',
      'aria-describedby': 'palette-help',
      'aria-controls': 'palette-list',
    })
  );
  const paletteList = h('div', { class: 'palette-list', id: 'palette-list', 'data-testid': 'palette' });
  const byCategory = new Map();
  for (const t of options.catalogue) {
    const c = t.category ?? 'Other';
    if (!byCategory.has(c)) byCategory.set(c, []);
    byCategory.get(c).push(t);
  }
  const categories = [...byCategory.keys()].sort((a, b) => {
    const ia = CATEGORY_ORDER.indexOf(a);
    const ib = CATEGORY_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });

  /** @param {string} typeName @param {{ clientX: number, clientY: number } | null} at */
  function addOfType(typeName, at) {
    return canvas.add(typeName, at, (d, id) => newBlock(types.get(typeName), typeName, id, usedIds(d)));
  }

  function renderPalette() {
    const q = search.value.trim().toLowerCase();
    paletteList.replaceChildren(
      ...categories.map((c) => {
        const items = /** @type {BlockType[]} */ (byCategory.get(c)).filter(
          (t) => !q || `${t.label} ${t.type} ${t.description ?? ''} ${c}`.toLowerCase().includes(q),
        );
        if (!items.length) return h('span', { hidden: true });
        return h(
          'section',
          { class: 'palette-group', 'aria-label': c },
          h('h3', null, c),
          h(
            'ul',
            { role: 'list' },
            items.map((t) => h('li', null, paletteItem(t))),
          ),
        );
      }),
    );
    if (!paletteList.querySelector('.palette-item')) paletteList.appendChild(h('p', { class: 'muted small' }, 'No block matches.'));
  }

  /** @param {BlockType} t */
  function paletteItem(t) {
    const button = h(
      'button',
      {
        type: 'button',
        class: `palette-item type-${t.type}`,
        'data-type': t.type,
        'data-testid': 'palette-item',
        title: t.description ?? '',
        'aria-label': `Add ${t.label}`,
        'aria-describedby': `pal-${t.type}-d`,
      },
      h('span', { class: 'palette-name' }, t.label),
      h('span', { class: 'palette-desc', id: `pal-${t.type}-d` }, t.description ?? ''),
    );
    /** @type {null | { x: number, y: number, ghost: HTMLElement | null, id: number }} */
    let press = null;
    let dragged = false;
    button.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      press = { x: event.clientX, y: event.clientY, ghost: null, id: event.pointerId };
      dragged = false;
      button.setPointerCapture(event.pointerId);
    });
    button.addEventListener('pointermove', (event) => {
      if (!press) return;
      if (!press.ghost && Math.hypot(event.clientX - press.x, event.clientY - press.y) > 5) {
        press.ghost = h('div', { class: `palette-ghost type-${t.type}`, 'aria-hidden': 'true' }, t.label);
        document.body.appendChild(press.ghost);
        dragged = true;
      }
      if (press.ghost) {
        press.ghost.style.left = `${event.clientX + 8}px`;
        press.ghost.style.top = `${event.clientY + 8}px`;
        canvas.el.classList.toggle('is-drop-target', canvas.contains(event.clientX, event.clientY));
      }
    });
    const end = (/** @type {PointerEvent} */ event) => {
      if (!press) return;
      const p = press;
      press = null;
      p.ghost?.remove();
      canvas.el.classList.remove('is-drop-target');
      if (button.hasPointerCapture(event.pointerId)) button.releasePointerCapture(event.pointerId);
      if (p.ghost && event.type === 'pointerup' && canvas.contains(event.clientX, event.clientY)) {
        addOfType(t.type, { clientX: event.clientX, clientY: event.clientY });
      }
    };
    button.addEventListener('pointerup', end);
    button.addEventListener('pointercancel', end);
    button.addEventListener('click', (event) => {
      if (dragged) {
        dragged = false;
        event.preventDefault();
        return;
      }
      addOfType(t.type, null);
    });
    return button;
  }
  search.addEventListener('input', renderPalette);
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      const first = /** @type {HTMLElement | null} */ (paletteList.querySelector('.palette-item'));
      if (first) addOfType(first.dataset.type ?? '', null);
    } else if (event.key === 'ArrowDown') {
      event.preventDefault();
      /** @type {HTMLElement | null} */ (paletteList.querySelector('.palette-item'))?.focus();
    } else if (event.key === 'Escape' && search.value) {
      event.preventDefault();
      search.value = '';
      renderPalette();
    }
  });
  paletteList.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const items = /** @type {HTMLElement[]} */ ([...paletteList.querySelectorAll('.palette-item')]);
    const at = items.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    if (at < 0) return;
    event.preventDefault();
    if (event.key === 'ArrowUp' && at === 0) search.focus();
    else items[Math.max(0, Math.min(items.length - 1, at + (event.key === 'ArrowDown' ? 1 : -1)))]?.focus();
  });
  renderPalette();

  // ------------------------------------------------------------------ configure panel
  const panelTitle = h('h2', { id: 'cfg-title', tabindex: '-1' }, 'Configure');
  const panelBody = h('div', { class: 'cfg-scroll' });
  const panel = h(
    'aside',
    { class: 'cfg', 'aria-labelledby': 'cfg-title', 'data-testid': 'config-panel', hidden: true },
    h(
      'div',
      { class: 'cfg-headline' },
      panelTitle,
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-icon btn-small',
          'aria-label': 'Close the configure panel',
          'data-testid': 'config-close',
          onclick: () => {
            canvas.select(null);
            canvas.focusSelection();
          },
        },
        '×',
      ),
    ),
    panelBody,
  );
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !event.defaultPrevented) {
      event.preventDefault();
      closePicker();
      canvas.focusSelection();
    }
  });

  function renderPanel() {
    closePicker();
    const sel = canvas.selection();
    const focusKey = panel.contains(document.activeElement) ? focusKeyOf(/** @type {Element} */ (document.activeElement)) : null;
    if (sel?.kind === 'trigger') {
      panel.hidden = false;
      panelTitle.textContent = 'Trigger and flow';
      replace(
        panelBody,
        triggerPanel({
          def,
          set: (path, value, o = {}) => {
            edit(`Change ${path.join('.')}`, (d) => setPath(d, path, value), {
              coalesce: o.rebuild ? undefined : `field:trigger:${path.join('.')}`,
            });
            serverIssues.delete(null);
          },
          secrets: () => secretNames(),
        }),
      );
    } else if (sel?.kind === 'block' && locate(def, sel.id)) {
      const at = /** @type {import('../canvas/model.js').Located} */ (locate(def, sel.id));
      const id = sel.id;
      panel.hidden = false;
      panelTitle.textContent = 'Configure block';
      replace(
        panelBody,
        blockPanel({
          def,
          blockId: id,
          type: types.get(at.block.type),
          set: (path, value, o = {}) => {
            const field = path
              .map((p) => (typeof p === 'number' ? `[${p}]` : p))
              .join('.')
              .replace(/\.\[/g, '[');
            const issues = serverIssues.get(id);
            if (issues)
              serverIssues.set(
                id,
                issues.filter((i) => !i.field.startsWith(field)),
              );
            edit(
              `Change ${id} ${field}`,
              (d) => {
                const b = locate(d, id)?.block;
                if (!b) return 'That block no longer exists.';
                setPath(b, path, value);
              },
              { coalesce: o.rebuild ? undefined : `field:${id}:${field}` },
            );
          },
          rename: (next) => {
            /** @type {string | null} */
            let problem = null;
            const ok = edit(
              `Rename ${id} to ${next}`,
              (d) => {
                problem = renameBlock(d, id, next);
                return problem ?? undefined;
              },
              { select: { kind: 'block', id: next } },
            );
            if (ok) {
              const moved = serverIssues.get(id);
              if (moved) {
                serverIssues.delete(id);
                serverIssues.set(next, moved);
              }
              announce(`Renamed ${id} to ${next}.`);
            }
            return problem;
          },
          connect: (port, target) => {
            /** @type {string | null} */
            let problem = null;
            edit(`Connect ${id} ${port}`, (d) => {
              problem = connect(d, id, port, target);
              return problem ?? undefined;
            });
            if (!problem) announce(target ? `Connected ${id} ${port} → ${target}.` : `${id} ${port} now ends the flow.`);
            return problem;
          },
          makeFirst: () => {
            if (edit(`Start at ${id}`, (d) => makeFirst(d, id))) announce(`${at.owner ? 'Each item' : 'The flow'} now starts at ${id}.`);
          },
          remove: () => canvas.remove(id),
          duplicate: () => canvas.duplicate(id),
          picker: (field) => pickerFor(id, field),
          flows: async () => {
            const page = await api.flows.list({ limit: 100 });
            return (page?.items ?? []).filter((/** @type {any} */ f) => f.id !== flowId);
          },
          lastRun: runId ? lastRunSection(id) : null,
        }),
      );
    } else {
      panel.hidden = true;
      panelBody.replaceChildren();
      return;
    }
    refreshPanelIssues();
    if (focusKey) {
      const again = /** @type {HTMLElement | null} */ (panel.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`));
      again?.focus();
    }
  }

  /** A stable key for a panel control, to give focus back after a rebuild. @param {Element} el */
  function focusKeyOf(el) {
    const wrapper = el.closest('[data-field]');
    const key = `${wrapper?.getAttribute('data-field') ?? ''}|${el.getAttribute('data-testid') ?? el.tagName}`;
    el.setAttribute('data-focus-key', key);
    for (const control of panel.querySelectorAll('input, select, textarea, button')) {
      const w = control.closest('[data-field]');
      control.setAttribute(
        'data-focus-key',
        `${w?.getAttribute('data-field') ?? ''}|${control.getAttribute('data-testid') ?? control.tagName}`,
      );
    }
    return key;
  }

  function refreshPanelIssues() {
    if (panel.hidden) return;
    const sel = canvas.selection();
    const id = sel?.kind === 'block' ? sel.id : sel?.kind === 'trigger' ? null : undefined;
    if (id === undefined) return;
    showIssues(panelBody, issuesFor(id));
    for (const control of panel.querySelectorAll('input, select, textarea, button')) {
      const w = control.closest('[data-field]');
      control.setAttribute(
        'data-focus-key',
        `${w?.getAttribute('data-field') ?? ''}|${control.getAttribute('data-testid') ?? control.tagName}`,
      );
    }
  }

  /** The last run's step(s) of a block: status, masked output and error. @param {string} id */
  function lastRunSection(id) {
    const box = h(
      'section',
      { class: 'cfg-run', 'aria-label': 'Last run of this block', 'data-testid': 'step-output' },
      h('h3', null, 'Last run'),
      h('p', { class: 'muted small', role: 'status' }, 'Loading…'),
    );
    const current = runId;
    if (!current) return box;
    void api.runs
      .get(current)
      .then((run) => {
        const steps = (Array.isArray(run?.steps) ? run.steps : []).filter((/** @type {any} */ s) => s.blockId === id);
        if (!steps.length) {
          replace(
            box,
            h('h3', null, 'Last run'),
            h('p', { class: 'muted small' }, canvas.statusOf(id) ? 'Not recorded yet.' : 'This block did not run.'),
          );
          return;
        }
        /** @param {any} s */
        const show = (s) => [
          h(
            'p',
            { class: 'cfg-run-status' },
            statusPill(s.status),
            s.attempts > 1 ? h('span', { class: 'muted small' }, ` ${s.attempts} attempts`) : null,
          ),
          s.error ? h('p', { class: 'step-error', 'data-testid': 'step-error' }, s.error) : null,
          s.output !== undefined && s.output !== null
            ? h(
                'pre',
                { class: 'code cfg-output', tabindex: '0', 'aria-label': 'Output', 'data-testid': 'step-output-json' },
                clip(pretty(s.output)),
              )
            : null,
        ];
        replace(
          box,
          h('h3', null, 'Last run', h('span', { class: 'muted small' }, ` · run ${current.slice(0, 12)}…`)),
          steps.length === 1 && steps[0].iteration === undefined
            ? show(steps[0])
            : h(
                'ol',
                { class: 'cfg-iterations', 'data-testid': 'step-iterations' },
                steps.map((/** @type {any} */ s) =>
                  h(
                    'li',
                    null,
                    h(
                      'details',
                      null,
                      h(
                        'summary',
                        null,
                        `Item ${Array.isArray(s.iterationPath) ? s.iterationPath.join(' › ') : s.iteration} `,
                        statusPill(s.status),
                      ),
                      show(s),
                    ),
                  ),
                ),
              ),
        );
      })
      .catch((error) => replace(box, h('h3', null, 'Last run'), h('p', { class: 'muted small' }, describeError(error))));
    return box;
  }

  // ------------------------------------------------------------------ the "+" picker's values
  /** @type {Map<string, Promise<string[]>>} */
  const lists = new Map();
  /** @param {string} key @param {() => Promise<any>} load */
  const names = (key, load) => {
    if (!lists.has(key))
      lists.set(
        key,
        load()
          .then((page) => (Array.isArray(page?.items) ? page.items.map((/** @type {any} */ i) => String(i.name)) : []))
          .catch(() => []),
      );
    return /** @type {Promise<string[]>} */ (lists.get(key));
  };
  const secretNames = () => (flowId ? names('secrets', () => api.secrets.list(flowId)) : Promise.resolve([]));
  const variableNames = () => (flowId ? names('variables', () => api.variables.list(flowId)) : Promise.resolve([]));
  const envNames = () => names('env', () => api.env());

  /**
   * @param {'secret' | 'variable'} kind @param {(path: string) => void} insert
   */
  function newNameForm(kind, insert) {
    const root = kind === 'secret' ? 'SECRETS' : 'VARIABLES';
    const nameInput = /** @type {HTMLInputElement} */ (
      h('input', {
        placeholder: 'name',
        class: 'mono',
        pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$',
        'aria-label': `New ${kind} name`,
        'data-testid': `new-${kind}-name`,
      })
    );
    const valueInput = /** @type {HTMLInputElement} */ (
      h('input', {
        type: kind === 'secret' ? 'password' : 'text',
        autocomplete: kind === 'secret' ? 'new-password' : 'off',
        placeholder: 'value',
        'aria-label': `New ${kind} value`,
        'data-testid': `new-${kind}-value`,
      })
    );
    const error = h('p', { class: 'field-error', hidden: true, role: 'alert' });
    const form = h(
      'form',
      { class: 'pick-new', 'data-testid': `new-${kind}` },
      h('p', { class: 'small muted' }, flowId ? `A new ${kind} of this flow:` : `Name a ${kind} (set its value after saving):`),
      h(
        'div',
        { class: 'pick-new-row' },
        nameInput,
        flowId ? valueInput : null,
        h('button', { type: 'submit', class: 'btn btn-small' }, flowId ? 'Save and insert' : 'Insert'),
      ),
      error,
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const name = nameInput.value.trim();
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
        error.hidden = false;
        error.textContent = 'A name has letters, digits and _, and does not start with a digit.';
        return;
      }
      if (flowId) {
        try {
          if (kind === 'secret') await api.secrets.put(flowId, name, { value: valueInput.value });
          else await api.variables.put(flowId, name, valueInput.value);
          valueInput.value = '';
          lists.delete(kind === 'secret' ? 'secrets' : 'variables');
          options.onSecretsChanged?.();
        } catch (e) {
          valueInput.value = '';
          error.hidden = false;
          error.textContent = describeError(e);
          return;
        }
      }
      insert(`${root}.${name}`);
    });
    return form;
  }

  /**
   * The values the "+" of a field offers.
   * @param {string} blockId @param {string} field `params.url`, `params.headers.Accept`…
   * @returns {() => Promise<PickGroup[]>}
   */
  function pickerFor(blockId, field) {
    return async () => {
      const at = locate(def, blockId);
      const param = field.replace(/^params\./, '').split(/[.[]/)[0] ?? '';
      const secretsHere = Boolean(at && SECRET_PARAMS[at.block.type]?.includes(param));
      const [secrets, variables, env] = await Promise.all([secretNames(), variableNames(), envNames()]);
      const blocks = allBlocks(def).map((l) => l.block);
      const usedSecrets = referencedNames(blocks, 'SECRETS');
      const usedVariables = referencedNames(blocks, 'VARIABLES');
      const trigger = def.trigger && typeof def.trigger === 'object' ? def.trigger : { type: 'manual' };
      /** @type {PickGroup[]} */
      const groups = [];
      // The trigger's fields (and, for a test input, its keys).
      const input = options.testInput?.();
      const triggerItems = (TRIGGER_FIELDS[trigger.type] ?? []).map(([k, hint]) => ({ label: k, path: `trigger.${k}`, hint }));
      if (input && typeof input === 'object' && !Array.isArray(input)) {
        const source = trigger.type === 'webhook' ? /** @type {any} */ (input).body : input;
        const prefix = trigger.type === 'webhook' ? 'trigger.body' : 'trigger';
        if (source && typeof source === 'object' && !Array.isArray(source))
          for (const k of Object.keys(source))
            if (!triggerItems.some((i) => i.path === `${prefix}.${k}`))
              triggerItems.push({ label: k, path: `${prefix}.${k}`, hint: 'from the test input' });
      }
      groups.push({
        key: 'trigger',
        label: `Trigger (${trigger.type ?? '?'})`,
        items: triggerItems,
        note: triggerItems.length ? undefined : 'A manual run’s trigger is its test input: {{trigger.<key>}}.',
      });
      if (at && inLoop(def, blockId))
        groups.push({
          key: 'loop',
          label: 'This item',
          items: [
            { label: 'item', path: 'item', hint: 'the current item' },
            { label: 'index', path: 'index', hint: 'its position, from 0' },
          ],
        });
      if (at && onErrorPath(def, blockId))
        groups.push({
          key: 'error',
          label: 'The failure being handled',
          items: [
            { label: 'message', path: 'error.message', hint: 'what went wrong (masked)' },
            { label: 'blockId', path: 'error.blockId', hint: 'the block that failed' },
          ],
        });
      const upstream = upstreamOf(def, blockId);
      groups.push({
        key: 'steps',
        label: 'Earlier blocks',
        note: upstream.length ? undefined : 'No block runs before this one.',
        items: upstream.flatMap((b) => {
          const type = /** @type {any} */ (types.get(b.type));
          const props =
            type?.output?.properties && typeof type.output.properties === 'object'
              ? Object.keys(type.output.properties).map((k) => [k, ''])
              : null;
          const fields =
            props ??
            (b.type === 'set' && b.params?.values && typeof b.params.values === 'object'
              ? Object.keys(b.params.values).map((k) => [k, 'set value'])
              : (OUTPUTS[b.type] ?? []));
          const who = b.name ? `${b.name} (${b.id})` : b.id;
          return fields.length
            ? fields.map(([k, hint]) => ({ label: `${who} › ${k}`, path: `steps.${b.id}.${k}`, hint }))
            : [{ label: who, path: `steps.${b.id}`, hint: 'its whole output' }];
        }),
      });
      const secretList = [...new Set([...secrets, ...usedSecrets])].sort();
      groups.push({
        key: 'secrets',
        label: 'Secrets of this flow',
        items: secretsHere
          ? secretList.map((n) => ({ label: n, path: `SECRETS.${n}`, hint: secrets.includes(n) ? 'set' : 'not set yet' }))
          : [],
        note: secretsHere
          ? secretList.length
            ? 'Names only: the value is added at run time and masked as *** everywhere.'
            : 'None yet.'
          : 'Secrets can go only into an HTTP request’s URL, headers and body, and into log messages.',
        extra: secretsHere ? (insert) => newNameForm('secret', insert) : undefined,
      });
      const variableList = [...new Set([...variables, ...usedVariables])].sort();
      groups.push({
        key: 'variables',
        label: 'Variables of this flow',
        items: variableList.map((n) => ({ label: n, path: `VARIABLES.${n}`, hint: variables.includes(n) ? '' : 'not set yet' })),
        note: variableList.length ? undefined : 'None yet.',
        extra: (insert) => newNameForm('variable', insert),
      });
      groups.push({
        key: 'env',
        label: 'Environment variables',
        items: env.map((n) => ({ label: n, path: `ENV.${n}`, hint: 'shared by all flows' })),
        note: env.length ? undefined : 'None set for this tenant (PUT /v1/env/<name>).',
      });
      groups.push({
        key: 'run',
        label: 'This run',
        items: [
          { label: 'run id', path: 'run.id' },
          { label: 'flow id', path: 'flow.id' },
          { label: 'flow name', path: 'flow.name' },
        ],
      });
      return groups;
    };
  }

  // ------------------------------------------------------------------ tabs and JSON
  const jsonTab = createJsonTab({ onSave: () => void save(), onInput: () => refreshJsonDirty() });
  const canvasTab = h(
    'button',
    {
      type: 'button',
      role: 'tab',
      id: 'tab-canvas',
      'aria-controls': 'panel-canvas',
      'aria-selected': 'true',
      'data-testid': 'tab-canvas',
    },
    'Canvas',
  );
  const advancedTab = h(
    'button',
    {
      type: 'button',
      role: 'tab',
      id: 'tab-json',
      'aria-controls': 'panel-json',
      'aria-selected': 'false',
      tabindex: '-1',
      'data-testid': 'tab-json',
    },
    'Advanced (JSON)',
  );
  const stage = h('div', { class: 'stage' }, canvas.el, panel, toast);
  const canvasPanel = h(
    'div',
    { role: 'tabpanel', id: 'panel-canvas', class: 'editor-stage', 'aria-labelledby': 'tab-canvas' },
    h(
      'aside',
      { class: 'palette', 'aria-label': 'Blocks' },
      h('label', { for: 'palette-search', class: 'visually-hidden' }, 'Search blocks'),
      search,
      h('p', { class: 'help', id: 'palette-help' }, 'Drag a block onto the canvas, or press Enter on it to add it.'),
      paletteList,
    ),
    stage,
  );
  const jsonPanel = h('div', { role: 'tabpanel', id: 'panel-json', 'aria-labelledby': 'tab-json', hidden: true }, jsonTab.el);

  function refreshJsonDirty() {
    dirtyState.textContent = 'Edited in JSON';
    dirtyState.dataset.dirty = 'true';
  }

  /** @param {'canvas' | 'json'} next @param {{ focus?: boolean }} [o] */
  function showTab(next, o = {}) {
    if (next === tab) return true;
    if (next === 'json') {
      shownText = JSON.stringify(def) === jsonOf ? jsonText : pretty(def);
      jsonTab.setText(shownText);
      jsonTab.setDetails(serverDetails);
    } else if (!applyJson()) return false;
    tab = next;
    canvasTab.setAttribute('aria-selected', String(tab === 'canvas'));
    advancedTab.setAttribute('aria-selected', String(tab === 'json'));
    canvasTab.tabIndex = tab === 'canvas' ? 0 : -1;
    advancedTab.tabIndex = tab === 'json' ? 0 : -1;
    canvasPanel.hidden = tab !== 'canvas';
    jsonPanel.hidden = tab !== 'json';
    if (tab === 'canvas') {
      canvas.render();
      refreshState();
      if (o.focus) canvasTab.focus();
    } else if (o.focus) advancedTab.focus();
    return true;
  }

  /** Reads the JSON tab into the definition (one undo step). Returns false when it cannot be read. */
  function applyJson() {
    if (tab !== 'json') return true;
    const text = jsonTab.text();
    const value = jsonTab.parsed();
    if (!value) {
      msg.show('error', 'The JSON has a syntax error: fix it (or undo it) before leaving the Advanced tab or saving.');
      jsonTab.revealFirst();
      return false;
    }
    msg.clear();
    jsonText = text;
    shownText = text;
    jsonOf = JSON.stringify(value);
    if (jsonOf !== JSON.stringify(def)) {
      past.push({ json: JSON.stringify(def), label: 'Edit the JSON' });
      future = [];
      def = value;
      const sel = canvas.selection();
      changed({ rebuildPanel: true, select: sel?.kind === 'block' && !locate(def, sel.id) ? null : undefined });
    }
    return true;
  }

  const tablist = h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Editor views' }, canvasTab, advancedTab);
  canvasTab.addEventListener('click', () => showTab('canvas'));
  advancedTab.addEventListener('click', () => showTab('json'));
  tablist.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      event.preventDefault();
      showTab(tab === 'canvas' ? 'json' : 'canvas', { focus: true });
    }
  });

  // ------------------------------------------------------------------ toolbar
  const undoBtn = h(
    'button',
    { type: 'button', class: 'btn btn-small', 'data-testid': 'undo', 'aria-keyshortcuts': 'Control+Z', onclick: () => step('undo') },
    '↶ Undo',
  );
  const redoBtn = h(
    'button',
    { type: 'button', class: 'btn btn-small', 'data-testid': 'redo', 'aria-keyshortcuts': 'Control+Shift+Z', onclick: () => step('redo') },
    '↷ Redo',
  );
  const dirtyState = h('span', { class: 'dirty-state', 'data-testid': 'dirty-state', role: 'status' });
  const saveBtn = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-primary btn-small',
      'data-testid': 'save-button',
      'aria-keyshortcuts': 'Control+S',
      onclick: () => void save(),
    },
    flowId ? 'Save' : 'Save flow',
  );
  const testBtn = options.onTest
    ? h(
        'button',
        {
          type: 'button',
          class: 'btn btn-run btn-small',
          'data-testid': 'test-button',
          title: 'Save if needed, then run the flow with the test input',
          onclick: () => void test(),
        },
        '▶ Test',
      )
    : null;
  const toolbar = h(
    'div',
    { class: 'editor-toolbar', role: 'toolbar', 'aria-label': 'Flow editor' },
    tablist,
    h('div', { class: 'tool-group' }, undoBtn, redoBtn),
    h(
      'div',
      { class: 'tool-group' },
      h(
        'button',
        { type: 'button', class: 'btn btn-small', 'data-testid': 'auto-layout', onclick: () => canvas.autoLayout() },
        'Auto-layout',
      ),
      h(
        'button',
        { type: 'button', class: 'btn btn-icon btn-small', 'aria-label': 'Zoom out', onclick: () => canvas.zoomBy(1 / 1.2) },
        '−',
      ),
      canvas.zoomLabel,
      h('button', { type: 'button', class: 'btn btn-icon btn-small', 'aria-label': 'Zoom in', onclick: () => canvas.zoomBy(1.2) }, '+'),
      h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'zoom-fit', onclick: () => canvas.fit() }, 'Fit'),
    ),
    h('div', { class: 'tool-spacer' }),
    dirtyState,
    saveBtn,
    testBtn,
  );

  // ------------------------------------------------------------------ save
  /** @type {Array<{ path: string, message: string }>} */
  let serverDetails = [];
  const errorList = h('div', { class: 'save-errors', hidden: true, role: 'alert', 'data-testid': 'save-errors' });

  /** @param {Array<{ path: string, message: string }>} details */
  function showServerErrors(details) {
    serverDetails = details;
    serverIssues = new Map();
    /** @type {Array<{ blockId: string | null, field: string, message: string, path: string }>} */
    const placed = details.map((d) => ({ ...blockOfPath(def, d.path), message: d.message, path: d.path }));
    for (const p of placed) {
      const key = p.blockId;
      if (!serverIssues.has(key)) serverIssues.set(key, []);
      /** @type {Issue[]} */ (serverIssues.get(key)).push({ field: p.field, message: p.message });
    }
    if (!details.length) {
      errorList.hidden = true;
      errorList.replaceChildren();
    } else {
      replace(
        errorList,
        h('strong', null, `${details.length} problem${details.length === 1 ? '' : 's'} to fix before saving:`),
        h(
          'ul',
          null,
          placed.map((p) =>
            h(
              'li',
              { 'data-testid': 'save-error', 'data-path': p.path, 'data-block-id': p.blockId ?? '' },
              h(
                'button',
                {
                  type: 'button',
                  class: 'link-button',
                  onclick: () => {
                    showTab('canvas');
                    canvas.select(p.blockId ? { kind: 'block', id: p.blockId } : { kind: 'trigger' }, { focus: true });
                  },
                },
                p.blockId ?? (p.field.startsWith('trigger') ? 'trigger' : 'flow'),
              ),
              p.field ? [' › ', h('code', null, p.field)] : null,
              ': ',
              p.message,
            ),
          ),
        ),
      );
      errorList.hidden = false;
    }
    canvas.render();
    refreshPanelIssues();
    if (tab === 'json') jsonTab.setDetails(details);
  }

  let saving = false;
  /** Saves; resolves true when saved. */
  async function save() {
    if (saving) return false;
    if (!applyJson()) return false;
    msg.clear();
    saving = true;
    saveBtn.setAttribute('disabled', '');
    const sending = JSON.stringify(def);
    try {
      const saved = flowId ? await api.flows.update(flowId, def, version) : await api.flows.create(def);
      version = saved.version;
      savedJson = sending;
      showServerErrors([]);
      if (JSON.stringify(def) === sending) announce(flowId ? `Saved version ${saved.version}.` : 'Flow created.');
      refreshState();
      options.onSaved(saved, !flowId);
      return true;
    } catch (error) {
      if (!(error instanceof ApiError)) {
        msg.show('error', describeError(error));
        return false;
      }
      if (error.status === 422 || error.status === 400) {
        showServerErrors(error.details.length ? error.details : [{ path: '', message: error.message }]);
        msg.show('error', `Not saved: ${error.message}. The blocks with problems are marked on the canvas.`);
        const first = [...serverIssues.keys()][0];
        if (tab === 'canvas' && first !== undefined) {
          canvas.select(first === null ? { kind: 'trigger' } : { kind: 'block', id: first });
          if (first !== null) canvas.focusBlock(first);
        }
        if (tab === 'json') jsonTab.revealFirst();
      } else if (error.status === 409) {
        msg.show(
          'warn',
          h('strong', null, 'This flow was changed elsewhere since you opened it. '),
          `You were editing version ${version}. Reload the latest version (your changes here are discarded), or keep editing and copy what you need from the Advanced tab first.`,
          h(
            'span',
            { class: 'notice-actions' },
            h(
              'button',
              { type: 'button', class: 'btn btn-small', 'data-testid': 'reload-flow', onclick: () => void reload() },
              'Reload latest',
            ),
          ),
        );
      } else if (error.status === 403) {
        showServerErrors(error.details);
        msg.show('error', describeError(error));
      } else if (error.status !== 401) {
        msg.show('error', describeError(error));
      }
      return false;
    } finally {
      saving = false;
      saveBtn.removeAttribute('disabled');
    }
  }

  async function reload() {
    if (!flowId) return;
    try {
      const flow = await api.flows.get(flowId);
      version = flow.version;
      def = /** @type {Definition} */ (definitionOf(flow));
      savedJson = JSON.stringify(def);
      past = [];
      future = [];
      jsonText = pretty(def);
      jsonOf = JSON.stringify(def);
      shownText = jsonText;
      if (tab === 'json') jsonTab.setText(jsonText);
      showServerErrors([]);
      changed({ rebuildPanel: true, select: null });
      msg.show('success', `Reloaded version ${flow.version}.`);
      options.onSaved(flow, false);
    } catch (error) {
      msg.show('error', describeError(error));
    }
  }

  async function test() {
    if (!applyJson()) return;
    if (dirty() && !(await save())) return;
    options.onTest?.();
  }

  // ------------------------------------------------------------------ keys
  /** @param {KeyboardEvent} event */
  const onKey = (event) => {
    if (!el.isConnected) return;
    const target = /** @type {Element | null} */ (event.target instanceof Element ? event.target : null);
    const mod = event.ctrlKey || event.metaKey;
    const typing = Boolean(target?.closest('input, textarea, select, [contenteditable="true"]'));
    if (document.querySelector('dialog[open]')) return;
    if (mod && (event.key === 's' || event.key === 'S')) {
      event.preventDefault();
      void save();
      return;
    }
    if (tab !== 'canvas' || typing) {
      if (!typing && event.key === '/' && tab === 'canvas') {
        event.preventDefault();
        search.focus();
        search.select();
      }
      return;
    }
    if (mod && !event.altKey && (event.key === 'z' || event.key === 'Z')) {
      event.preventDefault();
      step(event.shiftKey ? 'redo' : 'undo');
    } else if (mod && (event.key === 'y' || event.key === 'Y')) {
      event.preventDefault();
      step('redo');
    } else if (event.key === '/' && !mod) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  };
  document.addEventListener('keydown', onKey);
  const beforeUnload = (/** @type {BeforeUnloadEvent} */ event) => {
    if (el.isConnected && (dirty() || (tab === 'json' && jsonTab.text() !== shownText))) event.preventDefault();
  };
  window.addEventListener('beforeunload', beforeUnload);
  onLeave(() => {
    document.removeEventListener('keydown', onKey);
    window.removeEventListener('beforeunload', beforeUnload);
    closePicker();
    canvas.destroy();
  });
  guardLeave(() => dirty() || (tab === 'json' && jsonTab.text() !== shownText));

  const help = h(
    'details',
    { class: 'kbd-help' },
    h('summary', null, 'Keyboard shortcuts'),
    h(
      'dl',
      null,
      [
        ['Tab / Shift+Tab', 'move between the trigger, the blocks and the panel'],
        ['/', 'search the block list; Enter adds the first match'],
        ['Enter', 'on a block: go to its settings; Esc comes back'],
        ['Arrow keys', 'move the selected block (Shift: further); on the empty canvas: pan'],
        ['Delete', 'delete the selected block (or the selected connection)'],
        ['Ctrl+D', 'duplicate the selected block'],
        ['Ctrl+Z, Ctrl+Shift+Z', 'undo, redo'],
        ['+, −, 0', 'zoom in, zoom out, fit'],
        ['Ctrl+S', 'save'],
      ].map(([k, v]) => [h('dt', null, h('kbd', null, k)), h('dd', null, v)]),
    ),
    h('p', { class: 'help' }, 'Connections are also set in the panel: “Then go to”, each branch, and “On error, go to”.'),
  );

  let runRefresh = 0;
  function renderPanelKeepingFocus() {
    if (panel.contains(document.activeElement)) return;
    renderPanel();
  }
  function scheduleRunRefresh() {
    clearTimeout(runRefresh);
    runRefresh = window.setTimeout(renderPanelKeepingFocus, 400);
  }

  const el = h(
    'section',
    { class: 'card editor', 'aria-label': 'Flow editor', 'data-testid': 'editor' },
    toolbar,
    msg.el,
    errorList,
    canvasPanel,
    jsonPanel,
    help,
    live,
  );

  changed({ rebuildPanel: true });
  requestAnimationFrame(() => canvas.render());

  return {
    el,
    save,
    dirty,
    /** @param {boolean} enabled */
    setEnabled(enabled) {
      edit(enabled ? 'Enable the flow' : 'Disable the flow', (d) => {
        d.enabled = enabled;
      });
    },
    definition: () => def,
    /** The control the run sidebar drives: card colours, and which run the panel shows. */
    control: {
      /** @param {string} blockId @param {string} status @param {string} [title] @param {number} [iteration] */
      setStatus(blockId, status, title, iteration) {
        canvas.setStatus(blockId, status, title, iteration);
        const sel = canvas.selection();
        if (sel?.kind === 'block' && sel.id === blockId && runId) scheduleRunRefresh();
      },
      /** @param {string} [status] */
      reset(status) {
        canvas.reset(status);
      },
      /** @param {string | null} id */
      showRun(id) {
        runId = id;
        renderPanelKeepingFocus();
      },
      /** The loop a block runs in (for grouping iterations). @param {string} blockId */
      loopOf: (blockId) => locate(def, blockId)?.owner?.id ?? null,
    },
  };
}

/** @param {string} text */
function clip(text) {
  return text.length > 20_000 ? `${text.slice(0, 20_000)}\n… (${text.length - 20_000} more characters)` : text;
}

/**
 * "New flow" with a starter (or an empty canvas): the editor, unsaved.
 * @param {HTMLElement} root
 * @param {string} key the starter, `blank` for an empty canvas
 */
export async function newFlowView(root, key) {
  setTitle('New flow');
  replace(root, h('p', { class: 'loading', role: 'status' }, 'Loading…'));
  /** @type {BlockType[]} */
  let catalogue;
  try {
    catalogue = (await api.blocks())?.items ?? [];
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    replace(root, h('h1', null, 'New flow'), h('p', { role: 'alert' }, describeError(error)));
    return;
  }
  const starter = starters(new Set(catalogue.map((t) => t.type))).find((s) => s.key === key);
  const definition = starter ? starter.definition : blankFlow();
  const title = h('h1', { 'data-testid': 'flow-title' }, starter ? starter.title : 'New flow');
  const editor = createEditor({
    definition,
    flowId: null,
    catalogue,
    onSaved: (flow) =>
      navigate(`/flows/${encodeURIComponent(flow.id)}${starter ? `?created=${encodeURIComponent(starter.key)}` : '?created=blank'}`),
  });
  replace(
    root,
    h(
      'header',
      { class: 'page-head' },
      h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'Flows'), ' / ', h('a', { href: '/flows/new' }, 'New flow'), ' / '),
      h(
        'div',
        { class: 'page-title-row' },
        title,
        h('div', { class: 'page-actions' }, h('a', { class: 'btn', href: '/flows/new' }, 'Back to starters')),
      ),
      h('p', { class: 'page-desc' }, starter ? starter.summary : 'An empty canvas: drag blocks in from the list on the left.'),
      starter?.note ? h('p', { class: 'hint' }, starter.note) : null,
    ),
    editor.el,
  );
}
