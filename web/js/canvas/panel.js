/**
 * "Configure block": the side panel for the selected block (its name, id,
 * a form generated from its params' JSON Schema, its connections, and its
 * last run) or for the trigger (the flow's name, description, enabled state
 * and trigger). Every change goes out through `ctx.set` at once; the panel
 * is rebuilt only when the selection changes, on undo/redo, or when its
 * own structure changes (a row added, a mode switched), so typing is never
 * interrupted.
 */
import { h, replace } from '../dom.js';
import { exits, isBlock, locate, portsOf } from './model.js';
import { pickerButton } from './picker.js';

/**
 * @typedef {import('./model.js').Block} Block
 * @typedef {import('./model.js').Definition} Definition
 * @typedef {import('./validate.js').Issue} Issue
 * @typedef {import('./picker.js').PickGroup} PickGroup
 * @typedef {Array<string | number>} Path
 * @typedef {{
 *   def: Definition,
 *   blockId: string,
 *   type: { type: string, label: string, description?: string, params?: any } | undefined,
 *   set: (path: Path, value: unknown, options?: { rebuild?: boolean }) => void,
 *   rename: (id: string) => string | null,
 *   connect: (port: string, target: string | null) => string | null,
 *   makeFirst: () => void,
 *   remove: () => void,
 *   duplicate: () => void,
 *   picker: (field: string) => (() => Promise<PickGroup[]>) | null,
 *   flows: () => Promise<Array<{ id: string, name: string }>>,
 *   lastRun: HTMLElement | null,
 * }} BlockContext
 */

let seq = 0;

/** @param {string} field */
const domId = (field) => `cfg-${++seq}-${field.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/** `params.url`, `params.headers.Accept`, `params.cases[0].equals` from a path. @param {Path} path */
export const fieldName = (path) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');

/** `timeoutMs` → `Timeout ms`. @param {string} key */
const human = (key) => {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ');
  return (
    words.charAt(0).toUpperCase() +
    words
      .slice(1)
      .toLowerCase()
      .replace(/\burl\b/i, 'URL')
      .replace(/\bms\b/, '(ms)')
  );
};

/**
 * A labelled field with its help and its error line.
 * @param {string} field @param {string} label @param {HTMLElement} control @param {{ help?: string, required?: boolean, extra?: Node | null, id?: string }} [o]
 */
function field(field, label, control, o = {}) {
  const id = o.id ?? domId(field);
  const errId = `${id}-err`;
  const helpId = `${id}-help`;
  if (!control.id && /^(INPUT|SELECT|TEXTAREA)$/.test(control.tagName)) control.id = id;
  const target = control.id || id;
  const described = [o.help ? helpId : null, errId].filter(Boolean).join(' ');
  for (const el of [control, ...control.querySelectorAll('input, select, textarea')]) {
    if (el.id === target) el.setAttribute('aria-describedby', described);
  }
  return h(
    'div',
    { class: 'field cfg-field', 'data-field': field },
    h('label', { for: target }, label, o.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    o.extra ? h('div', { class: 'input-with-pick' }, control, o.extra) : control,
    o.help ? h('p', { class: 'help', id: helpId }, o.help) : null,
    h('p', { class: 'field-error', id: errId, 'data-error-for': field, hidden: true }),
  );
}

/** Help text from a schema's description. @param {any} schema */
function helpOf(schema) {
  const d = typeof schema?.description === 'string' ? schema.description : '';
  if (!d) return undefined;
  if (d === 'template') return 'Text; insert values with +.';
  return d.charAt(0).toUpperCase() + d.slice(1) + (d.endsWith('.') ? '' : '.');
}

/** Whether a string field takes placeholders. @param {string} key @param {any} schema */
function isTemplate(key, schema) {
  if (schema?.pattern || schema?.enum) return false;
  if (key === 'source' || /javascript|literal/i.test(String(schema?.description ?? ''))) return false;
  return true;
}

/**
 * The panel for one block.
 * @param {BlockContext} ctx
 * @returns {HTMLElement}
 */
export function blockPanel(ctx) {
  const at = locate(ctx.def, ctx.blockId);
  if (!at) return h('p', { class: 'muted' }, 'This block no longer exists.');
  const block = at.block;
  const label = ctx.type?.label ?? block.type;

  const idInput = /** @type {HTMLInputElement} */ (
    h('input', {
      id: domId('id'),
      value: block.id,
      class: 'mono',
      spellcheck: 'false',
      autocomplete: 'off',
      maxlength: '64',
      'data-testid': 'cfg-id',
    })
  );
  const idError = h('p', { class: 'field-error', hidden: true, role: 'alert' });
  const commitId = () => {
    const value = idInput.value.trim();
    if (value === block.id) return;
    const problem = ctx.rename(value);
    idError.hidden = !problem;
    idError.textContent = problem ?? '';
    idInput.setAttribute('aria-invalid', String(Boolean(problem)));
  };
  idInput.addEventListener('change', commitId);
  idInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      commitId();
    }
  });
  const nameInput = /** @type {HTMLInputElement} */ (h('input', { value: block.name ?? '', maxlength: '120', 'data-testid': 'cfg-name' }));
  nameInput.addEventListener('input', () => ctx.set(['name'], nameInput.value === '' ? undefined : nameInput.value));

  const schema = ctx.type?.params && typeof ctx.type.params === 'object' ? ctx.type.params : null;
  const params = block.params && typeof block.params === 'object' && !Array.isArray(block.params) ? block.params : {};
  const paramFields = schema
    ? objectFields(ctx, block, schema, params, ['params'])
    : [h('p', { class: 'muted' }, 'No form for this block type: edit it in the Advanced tab.')];

  return h(
    'div',
    { class: 'cfg-body', 'data-block-id': block.id },
    h(
      'p',
      { class: 'cfg-type' },
      h('span', { class: `cfg-chip type-${block.type}` }, label),
      ' ',
      h('span', { class: 'muted small' }, ctx.type?.description ?? ''),
    ),
    h('div', { class: 'cfg-issues', role: 'alert', hidden: true, 'data-testid': 'cfg-issues' }),
    ctx.lastRun,
    h(
      'div',
      { class: 'field-row' },
      field('name', 'Name', nameInput, { help: 'Shown on the card.' }),
      h(
        'div',
        { class: 'field cfg-field', 'data-field': 'id' },
        h('label', { for: idInput.id }, 'Id'),
        idInput,
        h('p', { class: 'help' }, 'Used in {{steps.id.…}}; renaming updates them.'),
        idError,
        h('p', { class: 'field-error', 'data-error-for': 'id', hidden: true }),
      ),
    ),
    h('fieldset', { class: 'cfg-params' }, h('legend', null, 'Settings'), paramFields),
    connections(ctx, block),
    h(
      'div',
      { class: 'actions cfg-actions' },
      h('button', { type: 'button', class: 'btn btn-small', onclick: ctx.duplicate, 'data-testid': 'cfg-duplicate' }, 'Duplicate'),
      h(
        'button',
        { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: ctx.remove, 'data-testid': 'cfg-delete' },
        'Delete block',
      ),
    ),
  );
}

/**
 * Fields for an object schema's properties, in schema order.
 * @param {BlockContext} ctx @param {Block} block @param {any} schema @param {Record<string, any>} value @param {Path} path
 */
function objectFields(ctx, block, schema, value, path) {
  const props = schema.properties && typeof schema.properties === 'object' ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  /** @type {HTMLElement[]} */
  const out = [];
  for (const [key, sub] of Object.entries(props)) {
    const el = propertyField(ctx, block, key, sub, value?.[key], [...path, key], required.has(key));
    if (el) out.push(el);
  }
  return out;
}

/**
 * One property's control, by its schema.
 * @param {BlockContext} ctx @param {Block} block @param {string} key @param {any} schema @param {any} value @param {Path} path @param {boolean} required
 * @returns {HTMLElement | null}
 */
function propertyField(ctx, block, key, schema, value, path, required) {
  const name = fieldName(path);
  const label = human(key);
  const help = helpOf(schema);
  const set = (/** @type {unknown} */ v, rebuild = false) => ctx.set(path, v, { rebuild });

  // A nested chain is edited on the canvas.
  if (key === 'blocks' && block.type === 'for_each') {
    const n = Array.isArray(value) ? value.length : 0;
    return h(
      'div',
      { class: 'field cfg-field', 'data-field': name },
      h('span', { class: 'label' }, 'Blocks for each item'),
      h(
        'p',
        { class: 'help' },
        `${n} block${n === 1 ? '' : 's'} in the loop body: drop blocks into its box on the canvas. {{item}} and {{index}} are the current item and its position.`,
      ),
      h('p', { class: 'field-error', 'data-error-for': name, hidden: true }),
    );
  }
  // Branch targets (a switch case's next) are connections.
  if (Array.isArray(schema?.anyOf) && schema.anyOf.some((/** @type {any} */ s) => s?.type === 'null') && key === 'next') return null;

  if (typeof schema?.pattern === 'string' && schema.pattern.startsWith('^flw_'))
    return flowSelect(ctx, name, label, value, set, required, help);

  if (Array.isArray(schema?.enum)) {
    const select = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { 'data-testid': `field-${key}` },
        required ? null : h('option', { value: '' }, '(default)'),
        schema.enum.map((/** @type {unknown} */ v) => h('option', { value: String(v), selected: v === value }, String(v))),
      )
    );
    if (value === undefined && required) select.value = String(schema.enum[0]);
    if (value === undefined && !required) select.value = '';
    select.addEventListener('change', () =>
      set(select.value === '' ? undefined : schema.enum.find((/** @type {unknown} */ v) => String(v) === select.value)),
    );
    return field(name, label, select, { help, required });
  }

  const type = Array.isArray(schema?.type) ? schema.type[0] : schema?.type;
  if (type === 'string') {
    const long = key === 'message' || key === 'source' || (typeof value === 'string' && value.includes('\n'));
    const input = /** @type {HTMLInputElement | HTMLTextAreaElement} */ (
      long
        ? h('textarea', {
            rows: key === 'source' ? '8' : '2',
            spellcheck: 'false',
            class: key === 'source' ? 'code' : '',
            'data-testid': `field-${key}`,
          })
        : h('input', { type: 'text', spellcheck: 'false', autocomplete: 'off', 'data-testid': `field-${key}` })
    );
    input.value = typeof value === 'string' ? value : '';
    if (schema.maxLength) input.setAttribute('maxlength', String(schema.maxLength));
    input.addEventListener('input', () => set(input.value === '' && !required ? undefined : input.value));
    const pick = isTemplate(key, schema) ? ctx.picker(name) : null;
    return field(name, label, input, { help, required, extra: pick ? pickerButton(input, label, pick) : null });
  }
  if (type === 'integer' || type === 'number') {
    const input = /** @type {HTMLInputElement} */ (
      h('input', { type: 'number', step: type === 'integer' ? '1' : 'any', inputmode: 'numeric', 'data-testid': `field-${key}` })
    );
    if (typeof schema.minimum === 'number') input.min = String(schema.minimum);
    if (typeof schema.maximum === 'number') input.max = String(schema.maximum);
    input.value = typeof value === 'number' ? String(value) : '';
    input.placeholder = [schema.minimum, schema.maximum].every((n) => typeof n === 'number') ? `${schema.minimum}–${schema.maximum}` : '';
    input.addEventListener('input', () => {
      if (input.value === '') return set(undefined);
      const n = Number(input.value);
      if (Number.isFinite(n)) set(n);
    });
    return field(name, label, input, { help, required });
  }
  if (type === 'boolean') {
    if (required) {
      const box = /** @type {HTMLInputElement} */ (
        h('input', { type: 'checkbox', checked: value === true, 'data-testid': `field-${key}` })
      );
      box.addEventListener('change', () => set(box.checked));
      return h('div', { class: 'field field-check cfg-field', 'data-field': name }, box, h('label', { for: box.id }, label));
    }
    const select = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { 'data-testid': `field-${key}` },
        h('option', { value: '' }, '(default)'),
        h('option', { value: 'true', selected: value === true }, 'yes'),
        h('option', { value: 'false', selected: value === false }, 'no'),
      )
    );
    select.addEventListener('change', () => set(select.value === '' ? undefined : select.value === 'true'));
    return field(name, label, select, { help, required });
  }
  if (type === 'array' && schema.items?.type === 'object' && schema.items.properties)
    return listField(ctx, block, key, schema, value, path, required);
  if (type === 'array' && schema.items?.type === 'string') {
    const input = /** @type {HTMLInputElement} */ (h('input', { type: 'text', spellcheck: 'false', 'data-testid': `field-${key}` }));
    input.value = Array.isArray(value) ? value.join(', ') : '';
    input.addEventListener('input', () => {
      const items = input.value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      set(items.length || required ? items : undefined);
    });
    return field(name, label, input, { help: help ?? 'Comma-separated.', required });
  }
  if (type === 'object' && schema.properties && Object.keys(schema.properties).length) {
    return h(
      'fieldset',
      { class: 'cfg-nested', 'data-field': name },
      h('legend', null, label),
      objectFields(ctx, block, schema, value && typeof value === 'object' ? value : {}, path),
    );
  }
  if (type === 'object') {
    const strings = schema.additionalProperties?.type === 'string';
    return kvField(name, label, value, set, {
      typed: !strings,
      required,
      help,
      pick: ctx.picker(name),
      noun: key === 'headers' ? 'header' : key === 'metadata' ? 'entry' : 'value',
    });
  }
  // Any JSON: text, fields (an object) or raw JSON.
  return anyField(ctx, key, name, label, value, set, required, help);
}

/**
 * Name → value rows. String values stay strings; with `typed`, a value
 * that was not a string is read back as JSON (numbers stay numbers).
 * @param {string} name @param {string} label @param {any} value
 * @param {(v: unknown, rebuild?: boolean) => void} set
 * @param {{ typed: boolean, required: boolean, help?: string, pick: (() => Promise<PickGroup[]>) | null, noun: string }} o
 */
function kvField(name, label, value, set, o) {
  /** @type {Array<{ key: string, value: unknown, raw: string }>} */
  const rows = Object.entries(value && typeof value === 'object' && !Array.isArray(value) ? value : {}).map(([k, v]) => ({
    key: k,
    value: v,
    raw: typeof v === 'string' ? v : JSON.stringify(v),
  }));
  const list = h('div', { class: 'kv-rows' });
  const write = () => {
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const row of rows) if (row.key !== '') out[row.key] = row.value;
    set(Object.keys(out).length || o.required || value !== undefined ? out : undefined);
  };
  const render = (/** @type {number} */ focusRow = -1) => {
    list.replaceChildren(
      ...rows.map((row, i) => {
        const keyInput = /** @type {HTMLInputElement} */ (
          h('input', {
            value: row.key,
            class: 'mono kv-key',
            spellcheck: 'false',
            'aria-label': `${label}: name ${i + 1}`,
            'data-testid': 'kv-key',
          })
        );
        const valueInput = /** @type {HTMLInputElement} */ (
          h('input', {
            value: row.raw,
            class: 'kv-value',
            spellcheck: 'false',
            'aria-label': `${label}: value of ${row.key || `row ${i + 1}`}`,
            'data-testid': 'kv-value',
          })
        );
        keyInput.addEventListener('input', () => {
          row.key = keyInput.value;
          valueInput.setAttribute('aria-label', `${label}: value of ${row.key || `row ${i + 1}`}`);
          write();
        });
        valueInput.addEventListener('input', () => {
          row.raw = valueInput.value;
          if (o.typed && typeof row.value !== 'string' && row.value !== undefined) {
            try {
              row.value = JSON.parse(valueInput.value);
            } catch {
              row.value = valueInput.value;
            }
          } else row.value = valueInput.value;
          write();
        });
        const remove = h(
          'button',
          {
            type: 'button',
            class: 'btn btn-icon btn-small btn-danger-quiet',
            'aria-label': `Remove ${row.key || `row ${i + 1}`} from ${label}`,
            onclick: () => {
              rows.splice(i, 1);
              write();
              render(Math.min(i, rows.length - 1));
            },
          },
          '×',
        );
        const pick = o.pick ? pickerButton(valueInput, () => `${label} ${row.key || `row ${i + 1}`}`, o.pick) : null;
        const el = h(
          'div',
          { class: 'kv-row', 'data-testid': 'kv-row' },
          keyInput,
          h('span', { class: 'kv-sep', 'aria-hidden': 'true' }, ':'),
          valueInput,
          pick,
          remove,
        );
        if (i === focusRow) requestAnimationFrame(() => keyInput.focus());
        return el;
      }),
    );
  };
  render();
  const add = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-small',
      'data-testid': 'kv-add',
      onclick: () => {
        rows.push({ key: '', value: '', raw: '' });
        render(rows.length - 1);
      },
    },
    `+ Add ${o.noun}`,
  );
  return h(
    'fieldset',
    { class: 'cfg-kv', 'data-field': name },
    h('legend', null, label, o.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    o.help ? h('p', { class: 'help' }, o.help) : null,
    list,
    add,
    h('p', { class: 'field-error', 'data-error-for': name, hidden: true }),
  );
}

/**
 * A value of any JSON: text (a template), fields (an object of values) or JSON.
 * @param {BlockContext} ctx @param {string} key @param {string} name @param {string} label @param {any} value
 * @param {(v: unknown, rebuild?: boolean) => void} set @param {boolean} required @param {string | undefined} help
 */
function anyField(ctx, key, name, label, value, set, required, help) {
  const plainObject = value && typeof value === 'object' && !Array.isArray(value);
  const mode = value === undefined ? (required ? 'text' : 'none') : typeof value === 'string' ? 'text' : plainObject ? 'fields' : 'json';
  const modeSelect = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { class: 'mode-select', 'aria-label': `${label}: kind of value`, 'data-testid': `mode-${key}` },
      required ? null : h('option', { value: 'none' }, 'None'),
      h('option', { value: 'text' }, 'Text'),
      h('option', { value: 'fields' }, 'Fields'),
      h('option', { value: 'json' }, 'JSON'),
    )
  );
  modeSelect.value = mode;
  modeSelect.addEventListener('change', () => {
    const next = modeSelect.value;
    if (next === 'none') set(undefined, true);
    else if (next === 'text') set(typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value), true);
    else if (next === 'fields') set(plainObject ? value : {}, true);
    else set(value === undefined ? null : value, true);
  });
  /** @type {HTMLElement | null} */
  let editor = null;
  const pick = ctx.picker(name);
  if (mode === 'text') {
    const input = /** @type {HTMLTextAreaElement} */ (h('textarea', { rows: '2', spellcheck: 'false', 'data-testid': `field-${key}` }));
    input.value = typeof value === 'string' ? value : '';
    input.addEventListener('input', () => set(input.value));
    editor = h('div', { class: 'input-with-pick' }, input, pick ? pickerButton(input, label, pick) : null);
    input.id = domId(name);
  } else if (mode === 'fields') {
    editor = kvField(name, label, value, set, { typed: true, required, pick, noun: 'field' });
    editor.classList.add('cfg-kv-inline');
  } else if (mode === 'json') {
    const input = /** @type {HTMLTextAreaElement} */ (
      h('textarea', { rows: '4', class: 'code', spellcheck: 'false', 'data-testid': `field-${key}` })
    );
    input.value = JSON.stringify(value, null, 2);
    const error = h('p', { class: 'field-error', hidden: true });
    input.addEventListener('input', () => {
      try {
        const parsed = JSON.parse(input.value);
        error.hidden = true;
        input.removeAttribute('aria-invalid');
        set(parsed);
      } catch (e) {
        error.hidden = false;
        error.textContent = `Not valid JSON yet: ${e instanceof Error ? e.message : e}`;
        input.setAttribute('aria-invalid', 'true');
      }
    });
    input.id = domId(name);
    editor = h('div', null, h('div', { class: 'input-with-pick' }, input, pick ? pickerButton(input, label, pick) : null), error);
  }
  return h(
    'div',
    { class: 'field cfg-field cfg-any', 'data-field': name },
    h(
      'div',
      { class: 'cfg-any-head' },
      h('span', { class: 'label' }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
      modeSelect,
    ),
    help ? h('p', { class: 'help' }, help) : null,
    editor,
    mode === 'fields' ? null : h('p', { class: 'field-error', 'data-error-for': name, hidden: true }),
  );
}

/**
 * A list of objects (a switch's cases), each with its own fields.
 * @param {BlockContext} ctx @param {Block} block @param {string} key @param {any} schema @param {any} value @param {Path} path @param {boolean} required
 */
function listField(ctx, block, key, schema, value, path, required) {
  const items = Array.isArray(value) ? value : [];
  const name = fieldName(path);
  const noun = key === 'cases' ? 'case' : 'item';
  const blank = () => {
    /** @type {Record<string, unknown>} */
    const item = {};
    for (const req of Array.isArray(schema.items.required) ? schema.items.required : []) item[req] = req === 'next' ? null : '';
    return item;
  };
  return h(
    'fieldset',
    { class: 'cfg-list', 'data-field': name },
    h('legend', null, human(key), required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    items.map((item, i) =>
      h(
        'div',
        { class: 'cfg-list-item', 'data-testid': `${noun}-item` },
        h(
          'div',
          { class: 'cfg-list-head' },
          h('strong', null, `${human(noun)} ${i + 1}`),
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn-small btn-danger-quiet',
              'aria-label': `Remove ${noun} ${i + 1}`,
              disabled: typeof schema.minItems === 'number' && items.length <= schema.minItems,
              onclick: () =>
                ctx.set(
                  path,
                  items.filter((_, k) => k !== i),
                  { rebuild: true },
                ),
            },
            'Remove',
          ),
        ),
        objectFields(ctx, block, schema.items, item ?? {}, [...path, i]),
      ),
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-small',
        'data-testid': `${noun}-add`,
        disabled: typeof schema.maxItems === 'number' && items.length >= schema.maxItems,
        onclick: () => ctx.set(path, [...items, blank()], { rebuild: true }),
      },
      `+ Add ${noun}`,
    ),
    h('p', { class: 'field-error', 'data-error-for': name, hidden: true }),
  );
}

/**
 * The flow a trigger_flow block starts: a list of the tenant's flows.
 * @param {BlockContext} ctx @param {string} name @param {string} label @param {any} value
 * @param {(v: unknown) => void} set @param {boolean} required @param {string | undefined} help
 */
function flowSelect(ctx, name, label, value, set, required, help) {
  const select = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { 'data-testid': 'field-flowId' },
      h('option', { value: '' }, 'Choose a flow…'),
      value ? h('option', { value, selected: true }, value) : null,
    )
  );
  select.addEventListener('change', () => set(select.value === '' ? (required ? '' : undefined) : select.value));
  void ctx
    .flows()
    .then((flows) => {
      const current = select.value;
      replace(
        select,
        h('option', { value: '' }, 'Choose a flow…'),
        flows.map((f) => h('option', { value: f.id }, `${f.name} (${f.id.slice(0, 10)}…)`)),
        current && !flows.some((f) => f.id === current) ? h('option', { value: current }, current) : null,
      );
      select.value = current;
    })
    .catch(() => {});
  return field(name, label, select, { help, required });
}

/**
 * Where each exit goes, as selects (the keyboard way to connect), and "start here".
 * @param {BlockContext} ctx @param {Block} block
 */
function connections(ctx, block) {
  const at = locate(ctx.def, block.id);
  if (!at) return null;
  const now = exits(at.chain, at.index);
  const others = at.chain.filter((b) => isBlock(b) && b.id !== block.id);
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true, 'data-testid': 'connect-error' });
  const rows = portsOf(block).map((port) => {
    const exit = now.find((e) => e.port === port.port);
    const current = exit?.target ?? null;
    const select = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { 'data-port-select': port.port, 'data-testid': `connect-${port.port}` },
        h('option', { value: '' }, port.kind === 'error' ? 'Nothing (the run fails)' : 'End of the flow'),
        others.map((b) => h('option', { value: b.id, selected: b.id === current }, `${b.id}${b.name ? ` · ${b.name}` : ''}`)),
      )
    );
    select.value = current ?? '';
    select.addEventListener('change', () => {
      const problem = ctx.connect(port.port, select.value || null);
      error.hidden = !problem;
      error.textContent = problem ?? '';
      if (problem) select.value = current ?? '';
    });
    const label = port.kind === 'error' ? 'On error, go to' : port.kind === 'next' ? 'Then go to' : `${port.label}: go to`;
    return field(port.port === 'onError' ? 'onError' : port.port, label, select, {
      help: exit?.implicit && current ? 'The following block in the list (the default).' : undefined,
    });
  });
  const first = at.index === 0;
  return h(
    'fieldset',
    { class: 'cfg-connections', 'data-testid': 'cfg-connections' },
    h('legend', null, 'Connections'),
    h(
      'p',
      { class: 'help' },
      first
        ? at.owner
          ? 'Each item starts here.'
          : 'The flow starts here, right after the trigger.'
        : h(
            'button',
            { type: 'button', class: 'link-button', onclick: ctx.makeFirst, 'data-testid': 'cfg-make-first' },
            at.owner ? 'Start each item here' : 'Start the flow here',
          ),
    ),
    rows,
    error,
  );
}

// ---------------------------------------------------------------------- trigger

const TRIGGERS = [
  ['manual', 'Manual (the Test button)'],
  ['webhook', 'Webhook'],
  ['r2_upload', 'Upload to storage'],
  ['schedule', 'Schedule (cron)'],
  ['flow', 'Started by another flow'],
];

/**
 * The panel for the trigger and the flow's own fields.
 * @param {{ def: Definition, set: (path: Path, value: unknown, options?: { rebuild?: boolean }) => void, secrets: () => Promise<string[]> }} ctx
 */
export function triggerPanel(ctx) {
  const def = ctx.def;
  const trigger = def.trigger && typeof def.trigger === 'object' ? def.trigger : { type: 'manual' };
  const name = /** @type {HTMLInputElement} */ (
    h('input', { value: typeof def.name === 'string' ? def.name : '', maxlength: '120', 'data-testid': 'cfg-flow-name' })
  );
  name.addEventListener('input', () => ctx.set(['name'], name.value));
  const desc = /** @type {HTMLTextAreaElement} */ (h('textarea', { rows: '2', maxlength: '2000', 'data-testid': 'cfg-flow-description' }));
  desc.value = typeof def.description === 'string' ? def.description : '';
  desc.addEventListener('input', () => ctx.set(['description'], desc.value === '' ? undefined : desc.value));
  const enabled = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', checked: def.enabled !== false, 'data-testid': 'cfg-flow-enabled' })
  );
  enabled.addEventListener('change', () => ctx.set(['enabled'], enabled.checked));

  const type = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { 'data-testid': 'trigger-type' },
      TRIGGERS.map(([v, l]) => h('option', { value: v, selected: v === trigger.type }, l)),
    )
  );
  type.addEventListener('change', () => {
    /** @type {Record<string, unknown>} */
    const next = { type: type.value };
    if (type.value === 'schedule') next.cron = '0 3 * * *';
    ctx.set(['trigger'], next, { rebuild: true });
  });
  /** @param {string} key @param {string} label @param {string} [placeholder] @param {string} [help] */
  const text = (key, label, placeholder, help) => {
    const input = /** @type {HTMLInputElement} */ (
      h('input', { value: trigger[key] ?? '', spellcheck: 'false', placeholder: placeholder ?? '', 'data-testid': `trigger-${key}` })
    );
    input.addEventListener('input', () => ctx.set(['trigger', key], input.value === '' && key !== 'cron' ? undefined : input.value));
    return field(`trigger.${key}`, label, input, { help });
  };
  /** @param {string} key @param {string} label @param {string} [help] */
  const bytes = (key, label, help) => {
    const input = /** @type {HTMLInputElement} */ (
      h('input', { type: 'number', min: '0', step: '1', value: trigger[key] ?? '', 'data-testid': `trigger-${key}` })
    );
    input.addEventListener('input', () => {
      const n = Number(input.value);
      ctx.set(['trigger', key], input.value === '' || !Number.isFinite(n) ? undefined : n);
    });
    return field(`trigger.${key}`, label, input, { help });
  };
  /** @type {Array<HTMLElement | null>} */
  let fields = [];
  if (trigger.type === 'r2_upload') {
    const types = /** @type {HTMLInputElement} */ (
      h('input', {
        value: Array.isArray(trigger.contentTypes) ? trigger.contentTypes.join(', ') : '',
        spellcheck: 'false',
        placeholder: 'image/*, video/mp4',
        'data-testid': 'trigger-contentTypes',
      })
    );
    types.addEventListener('input', () => {
      const list = types.value
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      ctx.set(['trigger', 'contentTypes'], list.length ? list : undefined);
    });
    fields = [
      text('prefix', 'Key prefix', 'images/', 'Only uploads whose key starts with this.'),
      text('suffix', 'Key suffix', '.jpg', 'Only uploads whose key ends with this.'),
      field('trigger.contentTypes', 'Content types', types, { help: 'Comma-separated; * only after the slash.' }),
      h('div', { class: 'field-row' }, bytes('minSize', 'Min size (bytes)'), bytes('maxSize', 'Max size (bytes)')),
    ];
  } else if (trigger.type === 'schedule') {
    fields = [
      text('cron', 'Cron (5 fields)', '0 3 * * *', 'minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5'),
      text('timezone', 'Time zone', 'UTC', 'An IANA name such as Europe/Paris (default UTC).'),
    ];
  } else if (trigger.type === 'webhook') {
    const verify = trigger.verify && typeof trigger.verify === 'object' ? trigger.verify : null;
    const scheme = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { 'data-testid': 'trigger-verify' },
        h('option', { value: '' }, 'Not signed'),
        h('option', { value: 'standard-webhooks', selected: verify?.scheme === 'standard-webhooks' }, 'Standard Webhooks'),
        h('option', { value: 'hmac-sha256', selected: verify?.scheme === 'hmac-sha256' }, 'HMAC-SHA256 header (GitHub style)'),
      )
    );
    scheme.addEventListener('change', () => {
      if (!scheme.value) return ctx.set(['trigger', 'verify'], undefined, { rebuild: true });
      /** @type {Record<string, string>} */
      const next = { scheme: scheme.value, secret: verify?.secret ?? '' };
      if (scheme.value === 'hmac-sha256') next.header = verify?.header ?? 'X-Hub-Signature-256';
      ctx.set(['trigger', 'verify'], next, { rebuild: true });
    });
    fields = [field('trigger.verify', 'Signature check', scheme, { help: 'Refuse requests not signed with a secret of this flow.' })];
    if (verify) {
      const secret = /** @type {HTMLInputElement} */ (
        h('input', { value: verify.secret ?? '', class: 'mono', list: 'cfg-secret-names', 'data-testid': 'trigger-verify-secret' })
      );
      secret.addEventListener('input', () => ctx.set(['trigger', 'verify', 'secret'], secret.value));
      const names = h('datalist', { id: 'cfg-secret-names' });
      void ctx.secrets().then((list) => names.replaceChildren(...list.map((n) => h('option', { value: n }))));
      fields.push(
        field('trigger.verify.secret', 'Secret name', secret, { help: 'A secret of this flow (its value is never shown).' }),
        names,
      );
      if (verify.scheme === 'hmac-sha256') {
        const header = /** @type {HTMLInputElement} */ (h('input', { value: verify.header ?? '', class: 'mono' }));
        header.addEventListener('input', () => ctx.set(['trigger', 'verify', 'header'], header.value));
        fields.push(field('trigger.verify.header', 'Signature header', header));
      }
    }
  }
  return h(
    'div',
    { class: 'cfg-body', 'data-trigger': 'true' },
    h('div', { class: 'cfg-issues', role: 'alert', hidden: true, 'data-testid': 'cfg-issues' }),
    h(
      'fieldset',
      null,
      h('legend', null, 'Flow'),
      field('name', 'Name', name, { required: true }),
      field('description', 'Description', desc),
      h(
        'div',
        { class: 'field field-check cfg-field', 'data-field': 'enabled' },
        enabled,
        h('label', { for: enabled.id }, 'Enabled (runs when triggered)'),
      ),
    ),
    h('fieldset', null, h('legend', null, 'Trigger'), field('trigger.type', 'Starts when', type), fields),
  );
}

/**
 * Shows problems at their fields (and the rest at the top of the panel).
 * @param {HTMLElement} panel @param {Issue[]} issues
 */
export function showIssues(panel, issues) {
  const lines = /** @type {HTMLElement[]} */ ([...panel.querySelectorAll('[data-error-for]')]);
  /** @type {Map<HTMLElement, string[]>} */
  const shown = new Map(lines.map((l) => [l, []]));
  /** @type {string[]} */
  const unplaced = [];
  for (const issue of issues) {
    // The most specific field line that holds this path.
    let best = /** @type {HTMLElement | null} */ (null);
    for (const line of lines) {
      const f = line.dataset.errorFor ?? '';
      const holds = issue.field === f || issue.field.startsWith(`${f}.`) || issue.field.startsWith(`${f}[`);
      if (holds && (!best || f.length > (best.dataset.errorFor ?? '').length)) best = line;
    }
    if (!best) {
      unplaced.push(issue.field ? `${issue.field}: ${issue.message}` : issue.message);
      continue;
    }
    const f = best.dataset.errorFor ?? '';
    const rest = issue.field.slice(f.length).replace(/^\./, '');
    /** @type {string[]} */ (shown.get(best)).push(rest ? `${rest}: ${issue.message}` : issue.message);
  }
  for (const [line, messages] of shown) {
    line.hidden = messages.length === 0;
    line.textContent = messages.join(' ');
    const wrapper = line.closest('[data-field]');
    if (!wrapper) continue;
    for (const control of wrapper.querySelectorAll(
      ':scope > input, :scope > select, :scope > textarea, :scope > .input-with-pick > input, :scope > .input-with-pick > textarea',
    )) {
      if (messages.length) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    }
  }
  const top = /** @type {HTMLElement | null} */ (panel.querySelector('.cfg-issues'));
  if (top) {
    top.hidden = unplaced.length === 0;
    top.replaceChildren(
      ...(unplaced.length
        ? [
            h(
              'ul',
              null,
              unplaced.map((u) => h('li', null, u)),
            ),
          ]
        : []),
    );
  }
}
