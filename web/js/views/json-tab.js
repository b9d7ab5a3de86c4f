/**
 * The "Advanced" tab: the flow definition as JSON text, with its syntax
 * error and the API's 422 details marked at their places (a highlight layer
 * behind the textarea) and listed with a link to each.
 */
import { h, replace } from '../dom.js';
import { locate, syntaxError } from '../json-locate.js';

/** @typedef {{ path: string, message: string }} Detail */

/**
 * @param {{ onSave: () => void, onInput: () => void }} hooks
 */
export function createJsonTab(hooks) {
  const textarea = /** @type {HTMLTextAreaElement} */ (
    h('textarea', {
      id: 'flow-json',
      class: 'code editor-input',
      spellcheck: 'false',
      autocapitalize: 'off',
      autocomplete: 'off',
      wrap: 'off',
      rows: '26',
      'data-testid': 'editor-textarea',
      'aria-describedby': 'json-status editor-errors',
    })
  );
  const backdrop = h('div', { class: 'editor-backdrop', 'aria-hidden': 'true' });
  const status = h('p', { id: 'json-status', class: 'json-status', 'data-testid': 'json-status' });
  const errorsBox = h('div', { id: 'editor-errors', class: 'editor-errors', hidden: true, 'data-testid': 'editor-errors', role: 'alert' });
  /** @type {Detail[]} */
  let details = [];

  function paint() {
    const text = textarea.value;
    const spans = details
      .map((d) => locate(text, d.path))
      .filter((s) => s !== null)
      .map((s) => /** @type {{ start: number, end: number }} */ (s))
      .sort((a, b) => a.start - b.start);
    const syntax = syntaxError(text);
    if (syntax) spans.push({ start: syntax.position, end: Math.min(text.length, syntax.position + 1) });
    /** @type {Node[]} */
    const parts = [];
    let at = 0;
    for (const span of spans) {
      if (span.start < at) continue;
      parts.push(document.createTextNode(text.slice(at, span.start)));
      parts.push(h('mark', null, text.slice(span.start, Math.max(span.end, span.start + 1))));
      at = Math.max(span.end, span.start + 1);
    }
    parts.push(document.createTextNode(`${text.slice(at)}\n`));
    backdrop.replaceChildren(...parts);
    syncScroll();
  }
  function syncScroll() {
    backdrop.scrollTop = textarea.scrollTop;
    backdrop.scrollLeft = textarea.scrollLeft;
  }
  textarea.addEventListener('scroll', syncScroll);

  /** @param {number} start @param {number} end */
  function reveal(start, end) {
    textarea.focus({ preventScroll: true });
    textarea.setSelectionRange(start, end);
    const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
    const line = textarea.value.slice(0, start).split('\n').length - 1;
    textarea.scrollTop = Math.max(0, line * lineHeight - textarea.clientHeight / 3);
    syncScroll();
  }

  function showDetails() {
    if (!details.length) {
      errorsBox.hidden = true;
      errorsBox.replaceChildren();
      textarea.removeAttribute('aria-invalid');
      return;
    }
    textarea.setAttribute('aria-invalid', 'true');
    const text = textarea.value;
    replace(
      errorsBox,
      h('h3', null, `${details.length} problem${details.length === 1 ? '' : 's'} to fix`),
      h(
        'ul',
        null,
        details.map((d) => {
          const at = locate(text, d.path);
          return h(
            'li',
            { 'data-testid': 'editor-error', 'data-path': d.path },
            h(
              'button',
              {
                type: 'button',
                class: 'link-button',
                title: at ? `Go to line ${at.line}` : 'Path not in the JSON',
                onclick: () => {
                  const now = locate(textarea.value, d.path);
                  if (now) reveal(now.start, now.end);
                },
              },
              h('code', null, d.path || '(body)'),
            ),
            ': ',
            d.message,
            at ? h('span', { class: 'muted' }, ` (line ${at.line})`) : null,
          );
        }),
      ),
    );
    errorsBox.hidden = false;
  }

  /** The parsed text, or null (with the reason shown). */
  function parsed() {
    const error = syntaxError(textarea.value);
    if (error) {
      status.className = 'json-status is-bad';
      replace(
        status,
        `JSON syntax error, line ${error.line}, column ${error.column}: ${error.message} `,
        h('button', { type: 'button', class: 'link-button', onclick: () => reveal(error.position, error.position) }, 'Show'),
      );
      return null;
    }
    const value = JSON.parse(textarea.value);
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      status.className = 'json-status is-bad';
      status.textContent = 'The definition must be a JSON object.';
      return null;
    }
    status.className = 'json-status is-ok';
    status.textContent = `Valid JSON · ${Array.isArray(value.blocks) ? value.blocks.length : 0} top-level block(s)`;
    return value;
  }

  let timer = 0;
  textarea.addEventListener('input', () => {
    clearTimeout(timer);
    paint();
    hooks.onInput();
    timer = window.setTimeout(() => {
      parsed();
      paint();
    }, 150);
  });
  textarea.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === 's') {
      event.preventDefault();
      hooks.onSave();
    }
  });

  const el = h(
    'div',
    { class: 'json-tab' },
    h(
      'p',
      { class: 'help' },
      'The flow exactly as the API stores it. Edits here show on the canvas when you switch back; ',
      h('kbd', null, 'Ctrl'),
      '+',
      h('kbd', null, 'S'),
      ' saves.',
    ),
    errorsBox,
    h('label', { for: 'flow-json', class: 'visually-hidden' }, 'Flow definition (JSON)'),
    h('div', { class: 'editor-wrap' }, backdrop, textarea),
    status,
  );

  return {
    el,
    textarea,
    /** @param {string} text */
    setText(text) {
      textarea.value = text;
      parsed();
      paint();
      showDetails();
    },
    text: () => textarea.value,
    parsed,
    /** @param {Detail[]} next */
    setDetails(next) {
      details = next;
      showDetails();
      paint();
    },
    revealFirst() {
      const error = syntaxError(textarea.value);
      if (error) return reveal(error.position, error.position);
      const first = details.map((d) => locate(textarea.value, d.path)).find((s) => s);
      if (first) reveal(first.start, first.end);
    },
  };
}
