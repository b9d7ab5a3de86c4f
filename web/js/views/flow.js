/**
 * A flow's page: header and actions, the block diagram (with live status
 * badges), the Test button, the watch-whole-flow switch, runs, secrets,
 * variables, and the hook URL for webhook flows.
 */
import { api, ApiError, describeError } from '../api.js';
import { createDiagram } from '../diagram.js';
import { h, notice, replace, setTitle, time } from '../dom.js';
import { confirmAndDelete, setEnabled } from '../flow-actions.js';
import { navigate, onLeave } from '../router.js';
import { referencedNames } from '../templates.js';
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
 */
export async function flowView(root, flowId) {
  replace(root, h('p', { class: 'loading', role: 'status' }, 'Loading flow…'));
  /** @type {any} */
  let flow;
  try {
    flow = await api.flows.get(flowId);
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
  const diagram = createDiagram(flow.blocks ?? []);

  // --- header
  const enabledSwitch = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', role: 'switch', id: 'flow-enabled', checked: flow.enabled, 'data-testid': 'flow-enabled' })
  );
  enabledSwitch.addEventListener('change', async () => {
    enabledSwitch.disabled = true;
    msg.clear();
    try {
      flow = await setEnabled(flow, enabledSwitch.checked);
      replace(versionEl, `v${flow.version}`);
      msg.show('success', `Flow ${flow.enabled ? 'enabled' : 'disabled'}.`);
    } catch (error) {
      enabledSwitch.checked = flow.enabled;
      if (error instanceof ApiError && error.status === 409) {
        msg.show(
          'warn',
          'This flow was changed elsewhere. ',
          h(
            'button',
            { type: 'button', class: 'btn btn-small', onclick: () => navigate(`/flows/${encodeURIComponent(flowId)}`, { replace: true }) },
            'Reload',
          ),
        );
      } else msg.show('error', describeError(error));
    } finally {
      enabledSwitch.disabled = false;
    }
  });
  const versionEl = h('span', { class: 'tag', title: 'Version', 'data-testid': 'flow-version' }, `v${flow.version}`);
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
      h('h1', { 'data-testid': 'flow-title' }, flow.name),
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
        h('a', { class: 'btn', href: `/flows/${encodeURIComponent(flow.id)}/edit`, 'data-testid': 'flow-edit' }, 'Edit'),
        deleteBtn,
      ),
    ),
    h(
      'p',
      { class: 'page-meta' },
      h('span', { class: 'tag tag-trigger' }, describeTrigger(flow.trigger)),
      versionEl,
      h('span', { class: 'muted' }, 'Updated ', time(flow.updatedAt)),
      h('code', { class: 'muted small' }, flow.id),
    ),
    flow.description ? h('p', { class: 'page-desc' }, flow.description) : null,
  );

  // --- hook URL
  let hookCard = null;
  if (flow.hookUrl) {
    const url = new URL(flow.hookUrl, location.origin).href;
    const input = /** @type {HTMLInputElement} */ (
      h('input', { id: 'hook-url', readonly: true, value: url, class: 'mono', 'data-testid': 'hook-url' })
    );
    const copied = h('span', { class: 'muted', role: 'status' });
    hookCard = h(
      'section',
      { class: 'card card-inline', 'aria-labelledby': 'hook-h' },
      h('h2', { id: 'hook-h' }, 'Webhook URL'),
      h(
        'div',
        { class: 'input-row' },
        h('label', { for: 'hook-url', class: 'visually-hidden' }, 'Webhook URL'),
        input,
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
                input.select();
                copied.textContent = 'Press Ctrl+C to copy.';
              }
            },
          },
          'Copy',
        ),
        copied,
      ),
      h('p', { class: 'help' }, 'POST JSON to this URL to start a run (no token needed). Keep it private.'),
    );
  }

  const blocks = flow.blocks ?? [];
  const diagramCard = h(
    'section',
    { class: 'card card-diagram', 'aria-labelledby': 'diagram-h' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: 'diagram-h' }, 'Blocks'),
      h('span', { class: 'muted' }, `${blocks.length} block${blocks.length === 1 ? '' : 's'}`),
    ),
    blocks.length
      ? diagram.el
      : h(
          'p',
          { class: 'muted' },
          'This flow has no blocks yet. ',
          h('a', { href: `/flows/${encodeURIComponent(flow.id)}/edit` }, 'Add some'),
          '.',
        ),
  );

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
      diagram,
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
        diagram,
        onOpenRun: (runId) => openRun(runId),
        onClose: () => (watch.checked = false),
        onRunFinished: () => void runs.refresh(),
      });
    } else sidebar.close();
  });

  // --- test
  const sample = sampleInput(flow.trigger);
  const input = /** @type {HTMLTextAreaElement} */ (
    h('textarea', {
      id: 'test-input',
      class: 'code',
      rows: '5',
      spellcheck: 'false',
      'data-testid': 'test-input',
      'aria-describedby': 'test-input-help',
      placeholder: '{ "key": "images/cat.jpg" }',
      value: sample ? JSON.stringify(sample, null, 2) : '',
    })
  );
  const testMsg = notice({ 'data-testid': 'test-notice' });
  const testBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'test-button' }, '▶ Test');
  const testForm = h(
    'form',
    { class: 'test-form', 'aria-label': 'Test this flow' },
    h('label', { for: 'test-input' }, 'Input ', h('span', { class: 'muted' }, '(optional JSON object, read as {{trigger.…}})')),
    input,
    h('p', { class: 'help', id: 'test-input-help' }, 'Starts a run now with this input, whatever the trigger, and follows it live.'),
    testMsg.el,
    h(
      'div',
      { class: 'actions' },
      testBtn,
      h(
        'label',
        { class: 'switch', for: 'watch-flow' },
        watch,
        h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
        'Watch whole flow',
      ),
    ),
  );
  testForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    testMsg.clear();
    input.removeAttribute('aria-invalid');
    /** @type {Record<string, unknown> | undefined} */
    let value;
    const text = input.value.trim();
    if (text) {
      try {
        value = JSON.parse(text);
      } catch (error) {
        input.setAttribute('aria-invalid', 'true');
        testMsg.show('error', `The input is not valid JSON: ${error instanceof Error ? error.message : error}`);
        input.focus();
        return;
      }
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        input.setAttribute('aria-invalid', 'true');
        testMsg.show('error', 'The input must be a JSON object, like { "key": "images/cat.jpg" }.');
        input.focus();
        return;
      }
    }
    testBtn.setAttribute('disabled', '');
    try {
      const run = await api.runs.start(flowId, value);
      openRun(run.id, run);
      // Bring the diagram into view so its badges can be watched (unless it already shows).
      const box = diagramCard.getBoundingClientRect();
      if (blocks.length && (box.bottom < 80 || box.top > innerHeight)) diagramCard.scrollIntoView({ block: 'start', behavior: 'smooth' });
      void runs.refresh().then(() => runs.markSelected(run.id));
    } catch (error) {
      testMsg.show('error', describeError(error));
    } finally {
      testBtn.removeAttribute('disabled');
    }
  });

  replace(
    root,
    header,
    msg.el,
    diagramCard,
    h(
      'div',
      { class: 'flow-grid' },
      h(
        'div',
        { class: 'flow-col' },
        h('section', { class: 'card', 'aria-labelledby': 'test-h' }, h('h2', { id: 'test-h' }, 'Test'), testForm),
        hookCard,
        runs.el,
      ),
      h(
        'div',
        { class: 'flow-col' },
        secretsPanel(flowId, { referenced: referencedNames(blocks, 'SECRETS') }),
        variablesPanel(flowId, { referenced: referencedNames(blocks, 'VARIABLES') }),
      ),
    ),
  );
}
