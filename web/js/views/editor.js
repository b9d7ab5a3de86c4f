/**
 * Create or edit a flow. The JSON textarea is the source of truth; the
 * quick-setup form (name, trigger, log / http_request blocks, seed example)
 * reads from and writes into it. A 422's `details` are listed next to the
 * editor and highlighted at their paths; a 409 offers to reload.
 */
import { api, ApiError, definitionOf, describeError } from '../api.js';
import { createDiagram } from '../diagram.js';
import { h, notice, replace, setTitle } from '../dom.js';
import { locate, syntaxError } from '../json-locate.js';
import { navigate } from '../router.js';
import { blankFlow, DEFAULT_SEED_URL, seedFlow, SEED_NEEDS } from '../seed.js';

const TRIGGERS = [
  ['manual', 'Manual (Test button only)'],
  ['webhook', 'Webhook'],
  ['r2_upload', 'Upload to storage'],
  ['schedule', 'Schedule (cron)'],
];
const FORM_BLOCK_TYPES = new Set(['log', 'http_request']);
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];

/**
 * @param {HTMLElement} root
 * @param {string | null} flowId null for a new flow
 */
export async function editorView(root, flowId) {
  setTitle(flowId ? 'Edit flow' : 'New flow');
  /** @type {number | undefined} */
  let version;
  let initial = blankFlow();
  if (flowId) {
    replace(root, h('p', { class: 'loading', role: 'status' }, 'Loading flow…'));
    try {
      const flow = await api.flows.get(flowId);
      version = flow.version;
      initial = /** @type {any} */ (definitionOf(flow));
      setTitle(`Edit ${flow.name}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      replace(
        root,
        h('h1', null, 'Could not load the flow'),
        h('p', { role: 'alert' }, describeError(error)),
        h('p', null, h('a', { href: '/' }, '← Back to flows')),
      );
      return;
    }
  }

  const msg = notice({ 'data-testid': 'editor-notice' });
  const versionTag = h('span', { class: 'tag', 'data-testid': 'editor-version' }, `editing v${version}`);

  // ---------------------------------------------------------------- JSON editor
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
  const jsonStatus = h('p', { id: 'json-status', class: 'json-status', 'data-testid': 'json-status' });
  const errorsBox = h('div', { id: 'editor-errors', class: 'editor-errors', hidden: true, 'data-testid': 'editor-errors', role: 'alert' });
  /** @type {Array<{ path: string, message: string }>} */
  let details = [];
  let dirty = false;

  textarea.value = pretty(initial);

  /** Paints the highlight marks for the current details behind the textarea. */
  function paintMarks() {
    const text = textarea.value;
    const spans = details
      .map((d) => locate(text, d.path))
      .filter((s) => s !== null)
      .map((s) => /** @type {{ start: number, end: number }} */ (s))
      .sort((a, b) => a.start - b.start);
    const syntax = syntaxError(text);
    if (syntax) spans.push({ start: syntax.position, end: Math.min(text.length, syntax.position + 1) });
    /** @type {Array<Node>} */
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

  /** Selects a range in the editor and scrolls it into view. @param {number} start @param {number} end */
  function reveal(start, end) {
    textarea.focus({ preventScroll: true });
    textarea.setSelectionRange(start, end);
    const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
    const line = textarea.value.slice(0, start).split('\n').length - 1;
    textarea.scrollTop = Math.max(0, line * lineHeight - textarea.clientHeight / 3);
    syncScroll();
    textarea.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
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
    // In the order they appear in the editor; paths not found in it last.
    const at = (/** @type {{ path: string }} */ d) => locate(text, d.path)?.start ?? Infinity;
    details = [...details].sort((a, b) => at(a) - at(b));
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

  /** The parsed editor content, or null (with the syntax error shown). */
  function current() {
    const error = syntaxError(textarea.value);
    if (error) {
      jsonStatus.className = 'json-status is-bad';
      replace(
        jsonStatus,
        `JSON syntax error, line ${error.line}, column ${error.column}: ${error.message} `,
        h('button', { type: 'button', class: 'link-button', onclick: () => reveal(error.position, error.position) }, 'Show'),
      );
      return null;
    }
    const value = JSON.parse(textarea.value);
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      jsonStatus.className = 'json-status is-bad';
      jsonStatus.textContent = 'The definition must be a JSON object.';
      return null;
    }
    jsonStatus.className = 'json-status is-ok';
    jsonStatus.textContent = `Valid JSON · ${Array.isArray(value.blocks) ? value.blocks.length : 0} block(s)`;
    return value;
  }

  /** Writes a definition into the editor (and everything that mirrors it). @param {any} value */
  function write(value) {
    const top = textarea.scrollTop;
    textarea.value = pretty(value);
    textarea.scrollTop = top;
    changed();
  }

  let timer = 0;
  function changed() {
    dirty = true;
    const value = current();
    paintMarks();
    if (value) {
      fillForm(value);
      preview(value);
    }
    formState(value !== null);
  }
  textarea.addEventListener('input', () => {
    clearTimeout(timer);
    paintMarks();
    timer = window.setTimeout(changed, 150);
  });
  textarea.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === 's') {
      event.preventDefault();
      void save();
    }
  });

  // ---------------------------------------------------------------- quick setup form
  /** @param {string} id @param {string} label @param {HTMLElement} control @param {string} [help] */
  const field = (id, label, control, help) => {
    control.id = id;
    if (help) control.setAttribute('aria-describedby', `${id}-help`);
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label),
      control,
      help ? h('p', { class: 'help', id: `${id}-help` }, help) : null,
    );
  };
  const nameInput = /** @type {HTMLInputElement} */ (h('input', { maxlength: '120', required: true, 'data-testid': 'form-name' }));
  const descInput = /** @type {HTMLInputElement} */ (h('input', { maxlength: '2000', 'data-testid': 'form-description' }));
  const enabledInput = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', id: 'form-enabled', 'data-testid': 'form-enabled' })
  );
  const triggerSelect = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { 'data-testid': 'form-trigger' },
      TRIGGERS.map(([v, l]) => h('option', { value: v }, l)),
    )
  );
  const prefixInput = /** @type {HTMLInputElement} */ (
    h('input', { placeholder: 'images/', 'data-testid': 'form-prefix', spellcheck: 'false' })
  );
  const suffixInput = /** @type {HTMLInputElement} */ (
    h('input', { placeholder: '.jpg', 'data-testid': 'form-suffix', spellcheck: 'false' })
  );
  const cronInput = /** @type {HTMLInputElement} */ (
    h('input', { placeholder: '*/5 * * * *', 'data-testid': 'form-cron', spellcheck: 'false', class: 'mono' })
  );
  const uploadFields = h(
    'div',
    { class: 'field-row' },
    field('form-prefix', 'Key prefix', prefixInput),
    field('form-suffix', 'Key suffix', suffixInput),
  );
  const scheduleFields = field(
    'form-cron',
    'Cron (UTC, 5 fields)',
    cronInput,
    'minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5',
  );
  const blockList = h('ol', { class: 'block-list', 'data-testid': 'form-blocks', 'aria-label': 'Blocks in order' });
  const formNote = h('p', { class: 'hint', hidden: true }, 'Fix the JSON syntax to use the form again.');

  const syncInputs = [nameInput, descInput, enabledInput, triggerSelect, prefixInput, suffixInput, cronInput];

  /** Mirrors a definition into the form, leaving the field being typed in alone. @param {any} value */
  function fillForm(value) {
    const set = (/** @type {HTMLInputElement | HTMLSelectElement} */ el, /** @type {string} */ v) => {
      if (document.activeElement !== el && el.value !== v) el.value = v;
    };
    set(nameInput, typeof value.name === 'string' ? value.name : '');
    set(descInput, typeof value.description === 'string' ? value.description : '');
    if (document.activeElement !== enabledInput) enabledInput.checked = value.enabled !== false;
    const trigger = value.trigger && typeof value.trigger === 'object' ? value.trigger : {};
    set(triggerSelect, TRIGGERS.some(([t]) => t === trigger.type) ? trigger.type : 'manual');
    set(prefixInput, trigger.prefix ?? '');
    set(suffixInput, trigger.suffix ?? '');
    set(cronInput, trigger.cron ?? '');
    uploadFields.hidden = triggerSelect.value !== 'r2_upload';
    scheduleFields.hidden = triggerSelect.value !== 'schedule';
    renderBlockList(Array.isArray(value.blocks) ? value.blocks : []);
  }

  /** @param {boolean} usable */
  function formState(usable) {
    formNote.hidden = usable;
    for (const el of [...syncInputs, ...blockForm.querySelectorAll('input, select, textarea, button')]) {
      /** @type {any} */ (el).disabled = !usable;
    }
  }

  /** Applies a change to the definition in the editor. @param {(value: any) => void} mutate */
  function update(mutate) {
    const value = current();
    if (!value) return false;
    mutate(value);
    write(value);
    return true;
  }

  nameInput.addEventListener('input', () => update((v) => (v.name = nameInput.value)));
  descInput.addEventListener('input', () =>
    update((v) => {
      if (descInput.value) v.description = descInput.value;
      else delete v.description;
    }),
  );
  enabledInput.addEventListener('change', () => update((v) => (v.enabled = enabledInput.checked)));
  const writeTrigger = () =>
    update((v) => {
      const type = triggerSelect.value;
      /** @type {Record<string, string>} */
      const trigger = { type };
      if (type === 'r2_upload') {
        if (prefixInput.value) trigger.prefix = prefixInput.value;
        if (suffixInput.value) trigger.suffix = suffixInput.value;
      }
      if (type === 'schedule') trigger.cron = cronInput.value || '*/5 * * * *';
      v.trigger = trigger;
    });
  triggerSelect.addEventListener('change', writeTrigger);
  for (const el of [prefixInput, suffixInput, cronInput]) el.addEventListener('input', writeTrigger);

  /** @param {any[]} blocks */
  function renderBlockList(blocks) {
    replace(
      blockList,
      blocks.length
        ? blocks.map((block, index) =>
            h(
              'li',
              { class: 'block-item', 'data-testid': 'form-block', 'data-block-id': String(block?.id ?? '') },
              h('span', { class: 'block-item-index', 'aria-hidden': 'true' }, String(index + 1)),
              h(
                'span',
                { class: 'block-item-main' },
                h('code', null, String(block?.id ?? '?')),
                ' ',
                h('span', { class: 'tag' }, String(block?.type ?? '?')),
                block?.name ? h('span', { class: 'muted' }, ` ${block.name}`) : null,
              ),
              h(
                'span',
                { class: 'block-item-actions' },
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn btn-icon btn-small',
                    'aria-label': `Move ${block?.id} up`,
                    disabled: index === 0,
                    onclick: () => move(index, -1),
                  },
                  '↑',
                ),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn btn-icon btn-small',
                    'aria-label': `Move ${block?.id} down`,
                    disabled: index === blocks.length - 1,
                    onclick: () => move(index, 1),
                  },
                  '↓',
                ),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn btn-small',
                    'aria-label': `Edit block ${block?.id}`,
                    disabled: !FORM_BLOCK_TYPES.has(block?.type),
                    title: FORM_BLOCK_TYPES.has(block?.type) ? undefined : 'Edit this block type in the JSON',
                    onclick: () => editBlock(index),
                  },
                  'Edit',
                ),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn btn-small btn-danger-quiet',
                    'aria-label': `Remove block ${block?.id}`,
                    onclick: () => update((v) => v.blocks.splice(index, 1)),
                  },
                  'Remove',
                ),
              ),
            ),
          )
        : h('li', { class: 'muted' }, 'No blocks yet.'),
    );
  }
  /** @param {number} index @param {number} delta */
  function move(index, delta) {
    update((v) => {
      const [block] = v.blocks.splice(index, 1);
      v.blocks.splice(index + delta, 0, block);
    });
  }

  // ---------------------------------------------------------------- block form
  /** @type {number | null} index being edited */
  let editing = null;
  const bType = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { 'data-testid': 'block-type' },
      h('option', { value: 'log' }, 'Add to Logs (log)'),
      h('option', { value: 'http_request' }, 'Send HTTP Request (http_request)'),
    )
  );
  const bId = /** @type {HTMLInputElement} */ (
    h('input', { pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$', maxlength: '64', spellcheck: 'false', class: 'mono', 'data-testid': 'block-id' })
  );
  const bName = /** @type {HTMLInputElement} */ (h('input', { maxlength: '120', 'data-testid': 'block-name' }));
  const bMessage = /** @type {HTMLInputElement} */ (
    h('input', { spellcheck: 'false', placeholder: 'New upload {{trigger.key}}', 'data-testid': 'block-message' })
  );
  const bLevel = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { 'data-testid': 'block-level' },
      h('option', { value: '' }, 'info (default)'),
      h('option', { value: 'warn' }, 'warn'),
      h('option', { value: 'error' }, 'error'),
    )
  );
  const bMethod = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { 'data-testid': 'block-method' },
      METHODS.map((m) => h('option', { value: m, selected: m === 'POST' }, m)),
    )
  );
  const bUrl = /** @type {HTMLInputElement} */ (
    h('input', {
      type: 'text',
      inputmode: 'url',
      spellcheck: 'false',
      placeholder: 'https://api.example.com/hook',
      'data-testid': 'block-url',
    })
  );
  const bHeaders = /** @type {HTMLTextAreaElement} */ (
    h('textarea', {
      rows: '3',
      class: 'code',
      spellcheck: 'false',
      placeholder: 'X-Api-Key: {{SECRETS.api_key}}',
      'data-testid': 'block-headers',
    })
  );
  const bBody = /** @type {HTMLTextAreaElement} */ (
    h('textarea', {
      rows: '4',
      class: 'code',
      spellcheck: 'false',
      placeholder: '{ "text": "{{trigger.key}}" }',
      'data-testid': 'block-body',
    })
  );
  const logFields = h(
    'div',
    { class: 'field-row' },
    field('block-message', 'Message (template)', bMessage),
    field('block-level', 'Level', bLevel),
  );
  const httpFields = h(
    'div',
    null,
    h('div', { class: 'field-row field-row-method' }, field('block-method', 'Method', bMethod), field('block-url', 'URL (template)', bUrl)),
    field('block-headers', 'Headers', bHeaders, 'One per line: Name: value'),
    field('block-body', 'Body (JSON, optional)', bBody, 'Strings inside are templates.'),
  );
  const blockMsg = notice({ 'data-testid': 'block-notice' });
  const blockLegend = h('legend', null, 'Add a block');
  const blockSubmit = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'block-add' }, 'Add block');
  const blockCancel = h('button', { type: 'button', class: 'btn', hidden: true }, 'Cancel edit');
  const blockForm = h(
    'fieldset',
    { class: 'block-form' },
    blockLegend,
    h('div', { class: 'field-row' }, field('block-type', 'Type', bType), field('block-id', 'Id', bId, 'Letters, digits, _')),
    field('block-name', 'Name (optional)', bName),
    logFields,
    httpFields,
    blockMsg.el,
    h('div', { class: 'actions' }, blockSubmit, blockCancel),
  );
  const showTypeFields = () => {
    logFields.hidden = bType.value !== 'log';
    httpFields.hidden = bType.value !== 'http_request';
  };
  bType.addEventListener('change', showTypeFields);
  showTypeFields();

  function resetBlockForm() {
    editing = null;
    blockLegend.textContent = 'Add a block';
    blockSubmit.textContent = 'Add block';
    blockCancel.hidden = true;
    bType.disabled = false;
    for (const el of [bId, bName, bMessage, bUrl, bHeaders, bBody]) el.value = '';
    bLevel.value = '';
    bMethod.value = 'POST';
    blockMsg.clear();
  }
  blockCancel.addEventListener('click', resetBlockForm);

  /** @param {number} index */
  function editBlock(index) {
    const value = current();
    const block = value?.blocks?.[index];
    if (!block) return;
    resetBlockForm();
    editing = index;
    blockLegend.textContent = `Edit block ${block.id}`;
    blockSubmit.textContent = 'Update block';
    blockCancel.hidden = false;
    bType.value = block.type;
    showTypeFields();
    bId.value = block.id ?? '';
    bName.value = block.name ?? '';
    const p = block.params ?? {};
    if (block.type === 'log') {
      bMessage.value = p.message ?? '';
      bLevel.value = p.level && p.level !== 'info' ? p.level : '';
    } else {
      bMethod.value = p.method ?? 'POST';
      bUrl.value = p.url ?? '';
      bHeaders.value = Object.entries(p.headers ?? {})
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n');
      bBody.value = p.body === undefined ? '' : typeof p.body === 'string' ? p.body : JSON.stringify(p.body, null, 2);
    }
    blockForm.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    bId.focus();
  }

  blockSubmit.addEventListener('click', () => {
    blockMsg.clear();
    const value = current();
    if (!value) return;
    if (!Array.isArray(value.blocks)) value.blocks = [];
    const type = bType.value;
    const id = bId.value.trim() || uniqueId(value.blocks, type === 'log' ? 'log' : 'http');
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(id))
      return blockMsg.show('error', 'The id must start with a letter and use only letters, digits and _.');
    if (value.blocks.some((/** @type {any} */ b, /** @type {number} */ i) => b?.id === id && i !== editing))
      return blockMsg.show('error', `Another block already has the id “${id}”.`);
    /** @type {Record<string, unknown>} */
    let params;
    if (type === 'log') {
      if (!bMessage.value) return blockMsg.show('error', 'A log block needs a message.');
      params = { message: bMessage.value };
      if (bLevel.value) params.level = bLevel.value;
    } else {
      if (!bUrl.value.trim()) return blockMsg.show('error', 'An HTTP request needs a URL.');
      params = { method: bMethod.value, url: bUrl.value.trim() };
      /** @type {Record<string, string>} */
      const headers = {};
      for (const line of bHeaders.value.split('\n')) {
        if (!line.trim()) continue;
        const colon = line.indexOf(':');
        if (colon < 1) return blockMsg.show('error', `Header line “${line.trim()}” needs the form Name: value.`);
        headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      }
      if (Object.keys(headers).length) params.headers = headers;
      if (bBody.value.trim()) {
        try {
          params.body = JSON.parse(bBody.value);
        } catch {
          params.body = bBody.value;
        }
      }
    }
    /** @type {Record<string, unknown>} */
    const block = editing !== null ? { ...value.blocks[editing], id, type, params } : { id, type, params };
    if (bName.value.trim()) block.name = bName.value.trim();
    else delete block.name;
    if (editing !== null) value.blocks[editing] = block;
    else value.blocks.push(block);
    write(value);
    const message = editing !== null ? `Updated block ${id}.` : `Added block ${id}.`;
    resetBlockForm();
    blockMsg.show('success', message);
  });

  // ---------------------------------------------------------------- seed
  const seedUrl = /** @type {HTMLInputElement} */ (
    h('input', { id: 'seed-url', type: 'text', inputmode: 'url', spellcheck: 'false', value: DEFAULT_SEED_URL, 'data-testid': 'seed-url' })
  );
  const seedBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'seed-button' }, 'Seed example');
  seedBtn.addEventListener('click', () => {
    const seed = /** @type {any} */ (seedFlow(seedUrl.value.trim() || DEFAULT_SEED_URL));
    const value = current();
    // Editing keeps the flow's enabled state; a new flow takes the seed whole.
    if (value && flowId && typeof value.enabled === 'boolean') seed.enabled = value.enabled;
    write(seed);
    details = [];
    showDetails();
    paintMarks();
    msg.show(
      'info',
      'Seed example filled in. After saving, set the secret ',
      h('code', null, SEED_NEEDS.secrets[0]),
      ' and the variable ',
      h('code', null, SEED_NEEDS.variables[0]),
      ' on the flow page, then press Test.',
    );
  });

  // ---------------------------------------------------------------- preview
  const previewBox = h('div', { class: 'preview' });
  /** @param {any} value */
  function preview(value) {
    const blocks = Array.isArray(value.blocks) ? value.blocks.filter((/** @type {any} */ b) => b && typeof b.id === 'string') : [];
    replace(previewBox, blocks.length ? createDiagram(blocks).el : h('p', { class: 'muted' }, 'No blocks to draw.'));
  }

  // ---------------------------------------------------------------- save
  const saveBtn = h(
    'button',
    { type: 'button', class: 'btn btn-primary', 'data-testid': 'save-button' },
    flowId ? 'Save changes' : 'Create flow',
  );
  async function save() {
    msg.clear();
    const value = current();
    if (!value) {
      const error = syntaxError(textarea.value);
      msg.show('error', 'The JSON has a syntax error; fix it before saving.');
      if (error) reveal(error.position, error.position);
      return;
    }
    saveBtn.setAttribute('disabled', '');
    try {
      const saved = flowId ? await api.flows.update(flowId, value, version) : await api.flows.create(value);
      dirty = false;
      details = [];
      navigate(`/flows/${encodeURIComponent(saved.id)}`);
    } catch (error) {
      if (!(error instanceof ApiError)) return msg.show('error', describeError(error));
      if (error.status === 422 || error.status === 400) {
        details = error.details.length ? error.details : [{ path: '', message: error.message }];
        showDetails();
        paintMarks();
        msg.show('error', `The flow was not saved: ${error.message}.`);
        const first = details.map((d) => locate(textarea.value, d.path)).find((s) => s);
        if (first) reveal(first.start, first.end);
      } else if (error.status === 409) {
        msg.show(
          'warn',
          h('strong', null, 'This flow was changed since you opened it. '),
          `You were editing version ${version}. Reload to get the latest version (your edits here will be replaced; copy them first if you need them).`,
          h(
            'span',
            { class: 'notice-actions' },
            h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'reload-flow', onclick: reload }, 'Reload latest'),
          ),
        );
      } else if (error.status !== 401) {
        msg.show('error', describeError(error));
      }
    } finally {
      saveBtn.removeAttribute('disabled');
    }
  }
  saveBtn.addEventListener('click', () => void save());

  async function reload() {
    if (!flowId) return;
    try {
      const flow = await api.flows.get(flowId);
      version = flow.version;
      versionTag.textContent = `editing v${version}`;
      details = [];
      showDetails();
      write(definitionOf(flow));
      dirty = false;
      msg.show('success', `Reloaded version ${flow.version}.`);
    } catch (error) {
      msg.show('error', describeError(error));
    }
  }

  const beforeUnload = (/** @type {BeforeUnloadEvent} */ event) => {
    if (dirty) event.preventDefault();
  };
  window.addEventListener('beforeunload', beforeUnload);
  const observer = new MutationObserver(() => {
    if (!root.contains(textarea)) {
      window.removeEventListener('beforeunload', beforeUnload);
      observer.disconnect();
    }
  });
  observer.observe(root, { childList: true });

  // ---------------------------------------------------------------- layout
  replace(
    root,
    h(
      'header',
      { class: 'page-head' },
      h(
        'p',
        { class: 'crumbs' },
        h('a', { href: '/' }, 'Flows'),
        ' / ',
        flowId ? [h('a', { href: `/flows/${encodeURIComponent(flowId)}` }, initial.name), ' / '] : null,
      ),
      h(
        'div',
        { class: 'page-title-row' },
        h('h1', null, flowId ? 'Edit flow' : 'New flow'),
        h(
          'div',
          { class: 'page-actions' },
          h('a', { class: 'btn', href: flowId ? `/flows/${encodeURIComponent(flowId)}` : '/' }, 'Cancel'),
          saveBtn,
        ),
      ),
      flowId ? h('p', { class: 'page-meta' }, versionTag) : null,
    ),
    msg.el,
    h(
      'div',
      { class: 'editor-grid' },
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'quick-h' },
        h('h2', { id: 'quick-h' }, 'Quick setup'),
        h(
          'div',
          { class: 'seed-row' },
          h('div', { class: 'field' }, h('label', { for: 'seed-url' }, 'Example’s email API URL'), seedUrl),
          seedBtn,
        ),
        formNote,
        field('form-name', 'Name', nameInput),
        field('form-description', 'Description', descInput),
        h('div', { class: 'field field-check' }, enabledInput, h('label', { for: 'form-enabled' }, 'Enabled (runs when triggered)')),
        h(
          'fieldset',
          { class: 'trigger-fields' },
          h('legend', null, 'Trigger'),
          field('form-trigger', 'Type', triggerSelect),
          uploadFields,
          scheduleFields,
        ),
        h('h3', null, 'Blocks'),
        blockList,
        blockForm,
      ),
      h(
        'section',
        { class: 'card editor-card', 'aria-labelledby': 'json-h' },
        h(
          'div',
          { class: 'card-head' },
          h('h2', { id: 'json-h' }, h('label', { for: 'flow-json' }, 'Definition (JSON)')),
          h('span', { class: 'muted small' }, 'Ctrl+S saves'),
        ),
        errorsBox,
        h('div', { class: 'editor-wrap' }, backdrop, textarea),
        jsonStatus,
        h('h3', null, 'Preview'),
        previewBox,
      ),
    ),
  );
  changed();
  dirty = false;
}

/** @param {unknown} value */
function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/** @param {any[]} blocks @param {string} base */
function uniqueId(blocks, base) {
  const ids = new Set(blocks.map((b) => b?.id));
  for (let n = 1; ; n++) if (!ids.has(`${base}${n}`)) return `${base}${n}`;
}
