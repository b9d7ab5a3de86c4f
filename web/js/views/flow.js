/**
 * A flow's page: header and actions, the editor (canvas, configure panel,
 * Advanced JSON) with live run colours, the Test input and the
 * watch-whole-flow switch, runs, secrets, variables, and the hook URL for
 * webhook flows.
 */
import { api, ApiError, definitionOf, describeError } from '../api.js';
import { h, notice, replace, setTitle, time } from '../dom.js';
import { confirmAndDelete } from '../flow-actions.js';
import { starters } from '../flow-templates.js';
import { navigate, onLeave } from '../router.js';
import { referencedNames } from '../templates.js';
import { allBlocks } from '../canvas/model.js';
import { createEditor } from './editor.js';
import { runsPanel } from './runs.js';
import { secretsPanel } from './secrets.js';
import * as sidebar from './sidebar.js';
import { variablesPanel } from './variables.js';

/** @param {any} trigger */
export function describeTrigger(trigger) {
  switch (trigger?.type) {
    case 'r2_upload': {
      const parts = [trigger.prefix && `prefix ${trigger.prefix}`, trigger.suffix && `suffix ${trigger.suffix}`].filter(Boolean);
      return `Upload${parts.length ? ` (${parts.join(', ')})` : ''}`;
    }
    case 'schedule':
      return `Schedule ${trigger.cron}`;
    case 'webhook':
      return 'Webhook';
    case 'manual':
      return 'Manual';
    case 'flow':
      return 'From another flow';
    default:
      return String(trigger?.type ?? 'unknown');
  }
}

/** A sample test input for the trigger type. @param {any} trigger */
function sampleInput(trigger) {
  switch (trigger?.type) {
    case 'r2_upload':
      return { key: `${trigger.prefix ?? ''}example${trigger.suffix ?? '.jpg'}`, size: 48213 };
    case 'webhook':
      return { body: { hello: 'world' }, headers: {}, query: {} };
    default:
      return null;
  }
}

/**
 * @param {HTMLElement} root
 * @param {string} flowId
 * @param {URLSearchParams} [query]
 */
export async function flowView(root, flowId, query = new URLSearchParams()) {
  replace(root, h('p', { class: 'loading', role: 'status' }, 'Loading flow…'));
  /** @type {any} */
  let flow;
  /** @type {any[]} */
  let catalogue;
  try {
    [flow, catalogue] = await Promise.all([api.flows.get(flowId), api.blocks().then((r) => r?.items ?? [])]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    replace(
      root,
      h('h1', null, error instanceof ApiError && error.status === 404 ? 'Flow not found' : 'Could not load the flow'),
      h('p', { role: 'alert' }, describeError(error)),
      h('p', null, h('a', { href: '/' }, '← Back to flows')),
    );
    return;
  }
  setTitle(flow.name);
  onLeave(() => sidebar.close());

  const msg = notice({ 'data-testid': 'flow-notice' });
  const titleEl = h('h1', { 'data-testid': 'flow-title' }, flow.name);
  const versionEl = h('span', { class: 'tag', title: 'Version', 'data-testid': 'flow-version' }, `v${flow.version}`);
  const triggerTag = h('span', { class: 'tag tag-trigger' }, describeTrigger(flow.trigger));
  const updatedEl = h('span', { class: 'muted' }, 'Updated ', time(flow.updatedAt));

  // --- the editor
  const enabledSwitch = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', role: 'switch', id: 'flow-enabled', checked: flow.enabled, 'data-testid': 'flow-enabled' })
  );
  const input = /** @type {HTMLTextAreaElement} */ (
    h('textarea', {
      id: 'test-input',
      class: 'code',
      rows: '4',
      spellcheck: 'false',
      'data-testid': 'test-input',
      'aria-describedby': 'test-input-help',
      placeholder: '{ "key": "images/cat.jpg" }',
    })
  );
  const created = starters(new Set(catalogue.map((t) => t.type))).find((s) => s.key === query.get('created'));
  const sample = created && Object.keys(created.testInput).length ? created.testInput : sampleInput(flow.trigger);
  input.value = sample ? JSON.stringify(sample, null, 2) : '';

  /** The test input, or undefined (with the reason shown) when it is not a JSON object. @returns {Record<string, unknown> | undefined | null} */
  function readInput() {
    input.removeAttribute('aria-invalid');
    const text = input.value.trim();
    if (!text) return undefined;
    let value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      input.setAttribute('aria-invalid', 'true');
      testMsg.show('error', `The test input is not valid JSON: ${error instanceof Error ? error.message : error}`);
      return null;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      input.setAttribute('aria-invalid', 'true');
      testMsg.show('error', 'The test input must be a JSON object, like { "key": "images/cat.jpg" }.');
      return null;
    }
    return value;
  }

  const editor = createEditor({
    definition: /** @type {any} */ (definitionOf(flow)),
    flowId,
    version: flow.version,
    catalogue,
    onSaved: (saved) => {
      flow = saved;
      titleEl.textContent = saved.name;
      setTitle(saved.name);
      versionEl.textContent = `v${saved.version}`;
      triggerTag.textContent = describeTrigger(saved.trigger);
      replace(updatedEl, 'Updated ', time(saved.updatedAt));
      enabledSwitch.checked = saved.enabled;
      refreshNeeds();
      renderHook();
    },
    onTest: () => void startTest(),
    testInput: () => {
      try {
        return JSON.parse(input.value);
      } catch {
        return undefined;
      }
    },
    onSecretsChanged: () => refreshNeeds(),
    onDirty: (dirty) => {
      enabledSwitch.title = dirty ? 'Saved with your other changes' : '';
    },
  });

  // --- header
  enabledSwitch.addEventListener('change', async () => {
    msg.clear();
    const wasDirty = editor.dirty();
    editor.setEnabled(enabledSwitch.checked);
    if (wasDirty) {
      msg.show('info', `The flow will be ${enabledSwitch.checked ? 'enabled' : 'disabled'} when you save your changes.`);
      return;
    }
    enabledSwitch.disabled = true;
    const ok = await editor.save();
    enabledSwitch.disabled = false;
    if (ok) msg.show('success', `Flow ${flow.enabled ? 'enabled' : 'disabled'}.`);
    else enabledSwitch.checked = flow.enabled;
  });
  const deleteBtn = h('button', { type: 'button', class: 'btn btn-danger-quiet', 'data-testid': 'flow-delete' }, 'Delete');
  deleteBtn.addEventListener('click', async () => {
    try {
      if (await confirmAndDelete(flow)) navigate('/', { replace: true });
    } catch (error) {
      msg.show('error', describeError(error));
    }
  });

  const header = h(
    'header',
    { class: 'page-head' },
    h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'Flows'), ' / '),
    h(
      'div',
      { class: 'page-title-row' },
      titleEl,
      h(
        'div',
        { class: 'page-actions' },
        h(
          'label',
          { class: 'switch', for: 'flow-enabled' },
          enabledSwitch,
          h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
          'Enabled',
        ),
        deleteBtn,
      ),
    ),
    h('p', { class: 'page-meta' }, triggerTag, versionEl, updatedEl, h('code', { class: 'muted small' }, flow.id)),
  );

  // --- hook URL
  const hookSlot = h('div');
  function renderHook() {
    if (!flow.hookUrl) return void hookSlot.replaceChildren();
    const url = new URL(flow.hookUrl, location.origin).href;
    const field = /** @type {HTMLInputElement} */ (
      h('input', { id: 'hook-url', readonly: true, value: url, class: 'mono', 'data-testid': 'hook-url' })
    );
    const copied = h('span', { class: 'muted', role: 'status' });
    replace(
      hookSlot,
      h(
        'section',
        { class: 'card card-inline', 'aria-labelledby': 'hook-h' },
        h('h2', { id: 'hook-h' }, 'Webhook URL'),
        h(
          'div',
          { class: 'input-row' },
          h('label', { for: 'hook-url', class: 'visually-hidden' }, 'Webhook URL'),
          field,
          h(
            'button',
            {
              type: 'button',
              class: 'btn',
              onclick: async () => {
                try {
                  await navigator.clipboard.writeText(url);
                  copied.textContent = 'Copied.';
                } catch {
                  field.select();
                  copied.textContent = 'Press Ctrl+C to copy.';
                }
              },
            },
            'Copy',
          ),
          copied,
        ),
        h('p', { class: 'help' }, 'POST JSON to this URL to start a run (no token needed). Keep it private.'),
      ),
    );
  }
  renderHook();

  // --- runs & live
  const runs = runsPanel(flowId, { onOpen: (run) => openRun(run.id, run) });
  const watch = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', role: 'switch', id: 'watch-flow', 'data-testid': 'watch-flow' })
  );
  /** @param {string} runId @param {any} [knownRun] */
  function openRun(runId, knownRun) {
    watch.checked = false;
    runs.markSelected(runId);
    sidebar.openRun(runId, {
      diagram: editor.control,
      knownRun,
      onStatus: (status) => runs.setStatus(runId, status),
      onFinished: () => void runs.refresh().then(() => runs.markSelected(runId)),
      onClose: () => runs.markSelected(null),
    });
  }
  watch.addEventListener('change', () => {
    if (watch.checked) {
      runs.markSelected(null);
      sidebar.watchFlow(flowId, {
        diagram: editor.control,
        onOpenRun: (runId) => openRun(runId),
        onClose: () => (watch.checked = false),
        onRunFinished: () => void runs.refresh(),
      });
    } else sidebar.close();
  });

  // --- test
  const testMsg = notice({ 'data-testid': 'test-notice' });
  async function startTest() {
    testMsg.clear();
    const value = readInput();
    if (value === null) {
      input.focus();
      return;
    }
    try {
      const run = await api.runs.start(flowId, value);
      openRun(run.id, run);
      editor.el.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
      void runs.refresh().then(() => runs.markSelected(run.id));
    } catch (error) {
      testMsg.show('error', describeError(error));
    }
  }
  const testForm = h(
    'form',
    { class: 'test-form', 'aria-label': 'Test this flow' },
    h('label', { for: 'test-input' }, 'Test input ', h('span', { class: 'muted' }, '(optional JSON object, read as {{trigger.…}})')),
    input,
    h(
      'p',
      { class: 'help', id: 'test-input-help' },
      '▶ Test (above the canvas) saves your changes, starts a run with this input whatever the trigger, and colours each block as it runs.',
    ),
    testMsg.el,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'btn', 'data-testid': 'test-run' }, 'Run with this input'),
      h(
        'label',
        { class: 'switch', for: 'watch-flow' },
        watch,
        h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
        'Watch whole flow',
      ),
    ),
  );
  testForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void editor.save().then((ok) => {
      if (ok) void startTest();
    });
  });

  // --- secrets and variables (what the saved flow references)
  const secretsSlot = h('div');
  const variablesSlot = h('div');
  function refreshNeeds() {
    const blocks = allBlocks(/** @type {any} */ (flow)).map((l) => l.block);
    replace(secretsSlot, secretsPanel(flowId, { referenced: referencedNames(blocks, 'SECRETS') }));
    replace(variablesSlot, variablesPanel(flowId, { referenced: referencedNames(blocks, 'VARIABLES') }));
  }
  refreshNeeds();

  if (created) {
    const needs = [...created.needs.secrets.map((n) => `the secret ${n}`), ...created.needs.variables.map((n) => `the variable ${n}`)];
    msg.show(
      'success',
      `Flow created from “${created.title}”. `,
      needs.length ? `Set ${needs.join(' and ')} below, then press ▶ Test.` : 'Press ▶ Test to run it.',
    );
  } else if (query.get('created')) {
    msg.show('success', 'Flow created. Press ▶ Test to run it.');
  }

  replace(
    root,
    header,
    msg.el,
    editor.el,
    h(
      'div',
      { class: 'flow-grid' },
      h(
        'div',
        { class: 'flow-col' },
        h('section', { class: 'card', 'aria-labelledby': 'test-h' }, h('h2', { id: 'test-h' }, 'Test'), testForm),
        hookSlot,
        runs.el,
      ),
      h('div', { class: 'flow-col' }, secretsSlot, variablesSlot),
    ),
  );
}
