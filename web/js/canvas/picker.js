/**
 * The "+" picker beside every template field: a small dialog listing what a
 * placeholder can read here (trigger fields, upstream blocks' outputs, loop
 * item, variables, environment variables, secret names: names only, never
 * values), searchable, that inserts `{{…}}` at the cursor of its field.
 */
import { h } from '../dom.js';

/**
 * @typedef {{ label: string, path: string, hint?: string }} PickItem
 * @typedef {{ key: string, label: string, items: PickItem[], note?: string, extra?: (insert: (path: string) => void) => HTMLElement | null }} PickGroup
 */

/** @type {{ close: (restore?: boolean) => void } | null} */
let open = null;

/** Closes the open picker, if any. */
export function closePicker() {
  open?.close(false);
}

/**
 * Inserts text at the field's cursor (or its last known selection) and tells the field.
 * @param {HTMLInputElement | HTMLTextAreaElement} input @param {string} text
 */
export function insertAtCursor(input, text) {
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? start;
  input.focus({ preventScroll: true });
  input.setRangeText(text, start, end, 'end');
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

/**
 * The "+" button for a field.
 * @param {HTMLInputElement | HTMLTextAreaElement} input
 * @param {string | (() => string)} label what the field is called (read when the picker opens)
 * @param {() => Promise<PickGroup[]>} groups
 */
export function pickerButton(input, label, groups) {
  const fieldLabel = () => (typeof label === 'function' ? label() : label);
  const button = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-icon btn-small pick-button',
      'aria-label': `Insert a value into ${fieldLabel()}`,
      'aria-haspopup': 'dialog',
      'aria-expanded': 'false',
      title: 'Insert a value: a trigger field, an earlier block’s output, a variable or a secret',
      'data-testid': 'pick-button',
    },
    '+',
  );
  button.addEventListener('click', () => {
    if (button.getAttribute('aria-expanded') === 'true') return closePicker();
    button.setAttribute('aria-label', `Insert a value into ${fieldLabel()}`);
    void openPicker(button, input, fieldLabel(), groups);
  });
  return button;
}

/**
 * @param {HTMLElement} anchor @param {HTMLInputElement | HTMLTextAreaElement} input
 * @param {string} fieldLabel @param {() => Promise<PickGroup[]>} load
 */
async function openPicker(anchor, input, fieldLabel, load) {
  closePicker();
  const selection = { start: input.selectionStart ?? input.value.length, end: input.selectionEnd ?? input.value.length };
  const search = /** @type {HTMLInputElement} */ (
    h('input', { type: 'search', class: 'pick-search', placeholder: 'Search', 'aria-label': 'Search values', 'data-testid': 'pick-search' })
  );
  const list = h('div', { class: 'pick-list', 'data-testid': 'pick-list' }, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  const titleId = `pick-title-${Math.random().toString(36).slice(2, 8)}`;
  const dialog = h(
    'div',
    { class: 'picker', role: 'dialog', 'aria-labelledby': titleId, 'data-testid': 'picker' },
    h(
      'div',
      { class: 'pick-head' },
      h('strong', { id: titleId }, `Insert into ${fieldLabel}`),
      h('span', { class: 'muted small' }, 'Esc closes'),
    ),
    search,
    list,
  );
  document.body.appendChild(dialog);
  const position = () => {
    const r = anchor.getBoundingClientRect();
    const w = Math.min(340, window.innerWidth - 16);
    const height = Math.min(540, window.innerHeight - 16);
    dialog.style.width = `${w}px`;
    dialog.style.maxHeight = `${height}px`;
    // Beside the panel the field is in (left of it), where there is room; else below or above the button.
    const side = anchor.closest('.cfg')?.getBoundingClientRect();
    if (side && side.left - w - 10 >= 8) {
      dialog.style.left = `${side.left - w - 10}px`;
      dialog.style.top = `${Math.max(8, Math.min(r.top - 60, window.innerHeight - height - 8))}px`;
      return;
    }
    dialog.style.left = `${Math.max(8, Math.min(r.right - w, window.innerWidth - w - 8))}px`;
    const below = r.bottom + 6;
    dialog.style.top = `${below + height > window.innerHeight ? Math.max(8, r.top - height - 6) : below}px`;
  };
  position();
  anchor.setAttribute('aria-expanded', 'true');

  /** @param {string} path */
  const insert = (path) => {
    close(false);
    input.setSelectionRange(selection.start, selection.end);
    insertAtCursor(input, `{{${path}}}`);
  };
  const close = (restore = true) => {
    if (open?.close !== close) return;
    open = null;
    dialog.remove();
    anchor.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside, true);
    window.removeEventListener('resize', position);
    if (restore) anchor.focus();
  };
  const outside = (/** @type {Event} */ event) => {
    if (!(event.target instanceof Node) || (!dialog.contains(event.target) && !anchor.contains(event.target))) close(false);
  };
  document.addEventListener('pointerdown', outside, true);
  window.addEventListener('resize', position);
  open = { close };
  dialog.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close(true);
      return;
    }
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const items = /** @type {HTMLElement[]} */ ([...list.querySelectorAll('.pick-item:not([hidden])')]);
      if (!items.length) return;
      event.preventDefault();
      const at = items.indexOf(/** @type {HTMLElement} */ (document.activeElement));
      const next = event.key === 'ArrowDown' ? Math.min(items.length - 1, at + 1) : at <= 0 ? -1 : at - 1;
      if (next < 0) search.focus();
      else items[next]?.focus();
    }
  });
  search.focus();

  /** @type {PickGroup[]} */
  let groups = [];
  try {
    groups = await load();
  } catch (error) {
    list.replaceChildren(h('p', { class: 'muted' }, `Could not load the values: ${error instanceof Error ? error.message : error}`));
    return;
  }
  if (open?.close !== close) return;

  const render = () => {
    const q = search.value.trim().toLowerCase();
    list.replaceChildren(
      ...groups.map((group) => {
        const items = group.items.filter((item) => !q || `${item.label} ${item.path} ${item.hint ?? ''}`.toLowerCase().includes(q));
        const extra = group.extra?.(insert) ?? null;
        if (!items.length && !extra && !group.note) return h('span', { hidden: true });
        if (q && !items.length) return h('span', { hidden: true });
        return h(
          'section',
          { class: 'pick-group', 'data-group': group.key, 'aria-label': group.label },
          h('h4', null, group.label),
          group.note ? h('p', { class: 'pick-note muted small' }, group.note) : null,
          items.map((item) =>
            h(
              'button',
              {
                type: 'button',
                class: 'pick-item',
                'data-path': item.path,
                'data-testid': 'pick-item',
                onclick: () => insert(item.path),
              },
              h('span', { class: 'pick-label' }, item.label),
              h('code', { class: 'pick-path' }, `{{${item.path}}}`),
              item.hint ? h('span', { class: 'pick-hint muted' }, item.hint) : null,
            ),
          ),
          q ? null : extra,
        );
      }),
    );
    if (!list.querySelector('.pick-item') && !list.querySelector('form')) list.appendChild(h('p', { class: 'muted' }, 'Nothing matches.'));
  };
  search.addEventListener('input', render);
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      /** @type {HTMLElement | null} */ (list.querySelector('.pick-item'))?.click();
    }
  });
  render();
  position();
}
