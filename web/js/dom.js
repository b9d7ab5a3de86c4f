/**
 * Small DOM helpers. Every piece of data becomes a text node or an
 * attribute value: nothing here ever parses HTML, so rendering is safe by
 * construction.
 */

/**
 * @typedef {string | number | boolean | null | undefined | Node | Array<any>} Child
 * @typedef {Record<string, unknown>} Attrs
 */

/**
 * Creates an element. Attributes: `class`, `dataset` (object), `on<event>`
 * (function), boolean `true` sets an empty attribute, `false`/null/undefined skips it,
 * `value`/`checked`/`disabled`/`hidden` are set as properties, `style` through the CSSOM.
 *
 * @example h('button', { type: 'button', onclick: save }, 'Save')
 * @param {string} tag
 * @param {Attrs | null} [attrs]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else if (key === 'style') {
      // Through the CSSOM: a style *attribute* would break the page's Content-Security-Policy.
      el.style.cssText = String(value);
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(/** @type {Record<string, string>} */ (value))) el.dataset[k] = String(v);
    } else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'hidden' || key === 'selected') {
      /** @type {any} */ (el)[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** @param {Node} parent @param {Child} child */
export function append(parent, child) {
  if (child === null || child === undefined || child === false || child === true) return;
  if (Array.isArray(child)) for (const c of child) append(parent, c);
  else if (child instanceof Node) parent.appendChild(child);
  else parent.appendChild(document.createTextNode(String(child)));
}

/** Empties an element and fills it with `children`. @param {Element} el @param {...Child} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An SVG element (attributes only, no HTML parsing). @param {string} tag @param {Record<string, string|number>} [attrs] */
export function svg(tag, attrs = {}) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * A `<time>` showing an RFC 3339 string in the reader's locale (full value on hover).
 * @param {string | null | undefined} iso
 */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h('span', null, iso);
  return h('time', { datetime: iso, title: iso }, formatDateTime(date));
}

/** @param {Date} date */
export function formatDateTime(date) {
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : date.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** Clock time with milliseconds, for log lines. @param {string} iso */
export function clock(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (/** @type {number} */ n, l = 2) => String(n).padStart(l, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/**
 * A status pill for run and step statuses.
 * @param {string} status
 * @param {Attrs} [attrs]
 */
export function statusPill(status, attrs = {}) {
  return h('span', { class: `pill pill-${status}`, ...attrs }, STATUS_ICON[status] ?? '', ' ', status);
}

/** @type {Record<string, string>} */
export const STATUS_ICON = {
  queued: '…',
  pending: '·',
  running: '',
  waiting: '⏸',
  succeeded: '✓',
  failed: '✗',
  skipped: '↷',
  cancelled: '⊘',
};

/**
 * A message area: `show(kind, text)` fills it (role=alert for errors, status otherwise).
 * @param {Attrs} [attrs]
 */
export function notice(attrs = {}) {
  const el = h('div', { class: 'notice', hidden: true, ...attrs });
  return {
    el,
    /** @param {'error'|'info'|'success'|'warn'} kind @param {...Child} content */
    show(kind, ...content) {
      el.className = `notice notice-${kind}`;
      el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
      replace(el, ...content);
      el.hidden = false;
    },
    clear() {
      el.hidden = true;
      el.replaceChildren();
    },
  };
}

/**
 * An accessible modal confirmation built on `<dialog>`. Resolves true when confirmed.
 * @param {{ title: string, body: string, confirm: string, danger?: boolean }} options
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ title, body, confirm, danger = false }) {
  return new Promise((resolve) => {
    const dialog = /** @type {HTMLDialogElement} */ (
      h(
        'dialog',
        { class: 'dialog', 'aria-labelledby': 'dialog-title', 'data-testid': 'confirm-dialog' },
        h(
          'form',
          { method: 'dialog' },
          h('h2', { id: 'dialog-title' }, title),
          h('p', null, body),
          h(
            'div',
            { class: 'actions' },
            h('button', { value: 'cancel', class: 'btn', autofocus: true }, 'Cancel'),
            h('button', { value: 'confirm', class: danger ? 'btn btn-danger' : 'btn btn-primary', 'data-testid': 'confirm-ok' }, confirm),
          ),
        ),
      )
    );
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

/** Parses a comma/space separated list into trimmed, non-empty items. @param {string} text */
export function splitList(text) {
  return text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Sets the document title. @param {string} [title] */
export function setTitle(title) {
  document.title = title ? `${title} · PowerFlows` : 'PowerFlows';
}
