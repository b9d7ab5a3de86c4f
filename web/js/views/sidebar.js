/**
 * The live log sidebar (a bottom panel on narrow screens). Shows one run
 * (status, steps, log lines as they arrive) or, in "watch whole flow" mode,
 * the events of every run of a flow grouped by run. Steps of a for_each
 * body are grouped by item under their loop. Step events also colour the
 * cards of the canvas on the page.
 */
import { api, describeError } from '../api.js';
import { clock, h, replace, statusPill, time } from '../dom.js';
import { FINAL_RUN_STATUSES, FlowStream, RunStream } from '../live.js';

/**
 * @typedef {import('../live.js').LiveEvent} LiveEvent
 * @typedef {import('../live.js').StreamState} StreamState
 * @typedef {{
 *   setStatus: (blockId: string, status: string, title?: string, iteration?: number) => void,
 *   reset: (status?: string) => void,
 *   showRun?: (runId: string | null) => void,
 *   loopOf?: (blockId: string) => string | null,
 * }} DiagramControl
 */

const panel = /** @type {HTMLElement} */ (document.getElementById('sidebar'));
const layout = /** @type {HTMLElement} */ (document.getElementById('layout'));

/** queued < running/waiting < a final run status. @param {string} status */
const RUN_ORDER = (status) => (status === 'queued' ? 0 : FINAL_RUN_STATUSES.has(status) ? 2 : 1);
/** pending < running < a final step status. @param {string} status */
const STEP_ORDER = (status) => (status === 'pending' ? 0 : status === 'running' ? 1 : 2);

/** @type {{ stop: () => void } | null} */
let active = null;
/** @type {() => void} */
let onClosed = () => {};

const STATE_TEXT = /** @type {Record<StreamState, string>} */ ({
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  polling: 'Live (polling)',
  done: 'Complete',
  error: 'Disconnected',
  stopped: 'Stopped',
});

/** @param {HTMLElement} el @param {StreamState} state @param {string} [detail] */
function showState(el, state, detail) {
  el.dataset.state = state;
  el.textContent = STATE_TEXT[state] + (detail ? ` (${detail})` : '');
}

function stopActive() {
  active?.stop();
  active = null;
}

/** @param {string} title @param {HTMLElement} body @param {Element[]} [tools] */
function open(title, body, tools = []) {
  const heading = h('h2', { id: 'sidebar-title', tabindex: '-1' }, title);
  replace(
    panel,
    h(
      'div',
      { class: 'sidebar-head' },
      heading,
      h(
        'div',
        { class: 'sidebar-tools' },
        tools,
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-icon',
            'aria-label': 'Close live log',
            title: 'Close (Esc)',
            'data-testid': 'sidebar-close',
            onclick: () => close(),
          },
          '×',
        ),
      ),
    ),
    body,
  );
  panel.hidden = false;
  layout.classList.add('has-sidebar');
  heading.focus({ preventScroll: true });
}

/** Closes the sidebar and stops its stream. */
export function close() {
  stopActive();
  panel.hidden = true;
  panel.replaceChildren();
  layout.classList.remove('has-sidebar');
  const fn = onClosed;
  onClosed = () => {};
  fn();
}

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && !panel.hidden && !document.querySelector('dialog[open]')) close();
});

/** A log list that keeps itself scrolled to the end while the reader is there. */
function logList() {
  const list = h('ol', {
    class: 'log',
    'aria-live': 'polite',
    'aria-relevant': 'additions',
    'aria-label': 'Log lines',
    'data-testid': 'log-stream',
  });
  const empty = h('li', { class: 'log-empty muted' }, 'Waiting for events…');
  list.appendChild(empty);
  return {
    list,
    /** @param {HTMLElement} line */
    add(line) {
      empty.remove();
      const scroller = list.closest('.sidebar-scroll');
      const atEnd = !scroller || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
      list.appendChild(line);
      if (atEnd && scroller) scroller.scrollTop = scroller.scrollHeight;
    },
    /** @param {string} text */
    setEmpty(text) {
      empty.textContent = text;
    },
  };
}

/** One rendered line for an event. @param {LiveEvent} event @param {boolean} [withRun] */
function eventLine(event, withRun = false) {
  const ts = h('time', { class: 'log-ts', datetime: event.ts, title: event.ts }, clock(event.ts));
  const runTag = withRun ? h('span', { class: 'log-run' }, event.runId) : null;
  if (event.type === 'log') {
    return h(
      'li',
      { class: `log-line level-${event.level}`, 'data-testid': 'log-line', 'data-seq': event.seq, 'data-level': event.level },
      ts,
      h('span', { class: 'log-level' }, event.level),
      h('span', { class: 'log-block' }, event.blockId ?? '—'),
      runTag,
      h('span', { class: 'log-msg' }, event.message),
    );
  }
  const text =
    event.type === 'step'
      ? `${event.status}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}${event.error ? `: ${event.error}` : ''}`
      : `run ${event.status}${event.error ? `: ${event.error}` : ''}`;
  return h(
    'li',
    { class: `log-line is-event status-${event.status}`, 'data-testid': 'event-line', 'data-seq': event.seq },
    ts,
    h('span', { class: 'log-level' }, event.type),
    h('span', { class: 'log-block' }, 'blockId' in event ? event.blockId : ''),
    runTag,
    h('span', { class: 'log-msg' }, text),
  );
}

/**
 * What an image step wrote or read (image_info, image_transform): its
 * dimensions, type and size, e.g. "300×200 · image/webp · 5.5 KB"; null for
 * any other output.
 * @param {unknown} output
 */
function imageSummary(output) {
  if (!output || typeof output !== 'object') return null;
  const o = /** @type {Record<string, unknown>} */ (output);
  if (typeof o.size !== 'number' || !('width' in o) || !('height' in o)) return null;
  const dims = typeof o.width === 'number' && typeof o.height === 'number' ? `${o.width}×${o.height}` : 'dimensions unknown';
  const type = typeof o.contentType === 'string' ? o.contentType : typeof o.format === 'string' ? o.format : null;
  const kb = o.size / 1024;
  const bytes = kb < 1 ? `${o.size} B` : kb < 1024 ? `${kb.toFixed(1)} KB` : `${(kb / 1024).toFixed(1)} MB`;
  return [dims, type, bytes].filter(Boolean).join(' · ');
}

/**
 * Opens one run: its status, steps and log, live until it ends.
 * @param {string} runId
 * @param {{ diagram?: DiagramControl | null, onFinished?: (run: any) => void, onStatus?: (status: string) => void, onClose?: () => void, knownRun?: any }} [options]
 */
export function openRun(runId, options = {}) {
  stopActive();
  const diagram = options.diagram ?? null;
  diagram?.reset('idle');

  const statusEl = h('span', { class: 'run-status', 'data-testid': 'run-status', 'data-status': 'queued', role: 'status' });
  const setRunStatus = (/** @type {string} */ status) => {
    statusEl.dataset.status = status;
    replace(statusEl, statusPill(status, { class: `pill pill-${status} pill-lg` }));
  };
  setRunStatus(options.knownRun?.status ?? 'queued');
  const stateEl = h('span', { class: 'live-state', 'data-testid': 'live-state' });
  const errorEl = h('p', { class: 'run-error', hidden: true, role: 'alert', 'data-testid': 'run-error' });
  const meta = h('dl', { class: 'run-meta' });
  const cancelBtn = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'run-cancel', hidden: true }, 'Cancel run');
  const steps = h('ol', { class: 'steps', 'data-testid': 'step-list', 'aria-label': 'Steps' });
  const log = logList();
  /** Step rows by block id, or `<blockId>@<iteration>` for a step of a loop body. @type {Map<string, { row: HTMLElement, line: HTMLElement }>} */
  const stepRows = new Map();

  /** @param {string} key @param {string} blockId @param {number | undefined} iteration */
  const stepRow = (key, blockId, iteration) => {
    let entry = stepRows.get(key);
    if (entry) return entry;
    const line = h('div', { class: 'step-line' });
    const row = h('li', { class: 'step', 'data-testid': 'step', 'data-block-id': blockId, 'data-iteration': iteration });
    row.appendChild(line);
    entry = { row, line };
    stepRows.set(key, entry);
    if (iteration === undefined) steps.appendChild(row);
    else iterationList(blockId, iteration).appendChild(row);
    return entry;
  };

  /** The list a loop body's step goes into: under its loop, one group per item. @param {string} blockId @param {number} iteration */
  const iterationList = (blockId, iteration) => {
    const loop = diagram?.loopOf?.(blockId) ?? null;
    const parent = loop ? stepRow(loop, loop, undefined) : stepRow('@items', 'items', undefined);
    if (!loop && !parent.line.textContent) parent.line.textContent = 'Loop items';
    let items = /** @type {HTMLElement | null} */ (parent.row.querySelector(':scope > .iterations'));
    if (!items) {
      items = h('ol', { class: 'iterations', 'data-testid': 'iterations', 'aria-label': `Items of ${loop ?? 'the loop'}` });
      parent.row.appendChild(items);
    }
    let group = /** @type {HTMLElement | null} */ (items.querySelector(`:scope > [data-iteration="${iteration}"]`));
    if (!group) {
      group = h(
        'li',
        { class: 'iteration', 'data-iteration': iteration, 'data-testid': 'iteration' },
        h('span', { class: 'iteration-label' }, `Item ${iteration}`),
        h('ol', { class: 'steps' }),
      );
      const after = [...items.children].find((c) => Number(/** @type {HTMLElement} */ (c).dataset.iteration) > iteration);
      items.insertBefore(group, after ?? null);
    }
    return /** @type {HTMLElement} */ (group.querySelector(':scope > .steps'));
  };

  /** @param {string} blockId @param {string} status @param {{ attempt?: number, error?: string|null, iteration?: number, output?: unknown }} [extra] */
  const setStep = (blockId, status, extra = {}) => {
    const iteration = typeof extra.iteration === 'number' ? extra.iteration : undefined;
    const { row, line } = stepRow(iteration === undefined ? blockId : `${blockId}@${iteration}`, blockId, iteration);
    row.dataset.status = status;
    const image = imageSummary(extra.output);
    replace(
      line,
      statusPill(status),
      h('span', { class: 'step-id' }, blockId),
      extra.attempt && extra.attempt > 1 ? h('span', { class: 'muted' }, `attempt ${extra.attempt}`) : null,
      extra.error ? h('span', { class: 'step-error' }, extra.error) : null,
      image ? h('span', { class: 'muted', 'data-testid': 'step-image' }, image) : null,
    );
    diagram?.setStatus(blockId, status, extra.error ?? undefined, iteration);
  };

  /** What is known of the run so far (the fetched record, then live events). @type {any} */
  let info = {};
  /** @param {any} run */
  const showRun = (run) => {
    if (!run || typeof run !== 'object') return;
    const fetchedSteps = Array.isArray(run.steps) ? run.steps : [];
    // A fetched record may be older than the events already shown: never move the status backwards.
    const status = run.status && RUN_ORDER(run.status) >= RUN_ORDER(info.status ?? 'queued') ? run.status : info.status;
    info = { ...info, ...run, status, startedAt: run.startedAt ?? info.startedAt, finishedAt: run.finishedAt ?? info.finishedAt };
    run = info;
    if (run.status) setRunStatus(run.status);
    replace(
      meta,
      h('dt', null, 'Trigger'),
      h('dd', null, run.trigger?.type ?? '—'),
      h('dt', null, 'Flow version'),
      h('dd', null, run.flowVersion ?? '—'),
      h('dt', null, 'Created'),
      h('dd', null, time(run.createdAt)),
      h('dt', null, 'Started'),
      h('dd', null, time(run.startedAt)),
      h('dt', null, 'Finished'),
      h('dd', null, time(run.finishedAt)),
    );
    if (run.error) {
      errorEl.textContent = typeof run.error === 'string' ? run.error : JSON.stringify(run.error);
      errorEl.hidden = false;
    }
    cancelBtn.hidden = FINAL_RUN_STATUSES.has(statusEl.dataset.status ?? '');
    // A fetched run may be older than the events already shown: never move a step backwards.
    for (const step of fetchedSteps) {
      const key = typeof step.iteration === 'number' ? `${step.blockId}@${step.iteration}` : step.blockId;
      const shown = stepRows.get(key)?.row.dataset.status;
      if (shown === undefined || STEP_ORDER(step.status) >= STEP_ORDER(shown)) {
        setStep(step.blockId, step.status, { attempt: step.attempts, error: step.error, iteration: step.iteration, output: step.output });
      }
    }
  };

  const refresh = () =>
    api.runs
      .get(runId)
      .then(showRun)
      .catch(() => {});

  cancelBtn.addEventListener('click', async () => {
    cancelBtn.setAttribute('disabled', '');
    try {
      await api.runs.cancel(runId);
    } catch (error) {
      errorEl.textContent = describeError(error);
      errorEl.hidden = false;
    } finally {
      cancelBtn.removeAttribute('disabled');
    }
  });

  open(
    'Run',
    h(
      'div',
      { class: 'sidebar-scroll', 'data-testid': 'sidebar-run', 'data-run-id': runId },
      h('div', { class: 'run-summary' }, statusEl, h('div', { class: 'run-summary-side' }, stateEl, cancelBtn)),
      h('p', { class: 'run-id' }, h('span', { class: 'visually-hidden' }, 'Run id '), h('code', null, runId)),
      errorEl,
      meta,
      h('h3', null, 'Steps'),
      steps,
      h('h3', null, 'Log'),
      log.list,
    ),
  );
  onClosed = () => {
    diagram?.reset('idle');
    diagram?.showRun?.(null);
    options.onClose?.();
  };
  diagram?.showRun?.(runId);
  if (options.knownRun) showRun(options.knownRun);
  void refresh();

  const stream = new RunStream(runId, {
    onEvent(event) {
      log.add(eventLine(event));
      if (event.type === 'step')
        setStep(event.blockId, event.status, { attempt: event.attempt, error: event.error, iteration: event.iteration });
      if (event.type === 'run') {
        setRunStatus(event.status);
        options.onStatus?.(event.status);
        showRun({
          status: event.status,
          startedAt: info.startedAt ?? (event.status === 'running' ? event.ts : undefined),
          finishedAt: FINAL_RUN_STATUSES.has(event.status) ? (info.finishedAt ?? event.ts) : undefined,
        });
        if (event.error) {
          errorEl.textContent = event.error;
          errorEl.hidden = false;
        }
        if (FINAL_RUN_STATUSES.has(event.status)) {
          cancelBtn.hidden = true;
          void api.runs
            .get(runId)
            .then((run) => {
              showRun(run);
              options.onFinished?.(run);
            })
            .catch(() => options.onFinished?.(null));
        }
      }
    },
    onState(state, detail) {
      showState(stateEl, state, detail);
      if (state === 'done' && log.list.querySelector('.log-empty')) log.setEmpty('No events.');
      if (state === 'error') log.setEmpty(`Cannot follow this run: ${detail ?? 'unknown error'}`);
    },
  }).start();
  active = stream;
}

/**
 * "Watch whole flow": every event of every run of the flow from now on,
 * grouped by run. The diagram follows the most recent run.
 * @param {string} flowId
 * @param {{ diagram?: DiagramControl | null, onOpenRun?: (runId: string) => void, onClose?: () => void, onRunFinished?: () => void }} [options]
 */
export function watchFlow(flowId, options = {}) {
  stopActive();
  const diagram = options.diagram ?? null;
  diagram?.reset('idle');
  const stateEl = h('span', { class: 'live-state', 'data-testid': 'live-state' });
  const groups = h('div', { class: 'run-groups', 'aria-live': 'polite', 'aria-relevant': 'additions', 'data-testid': 'flow-stream' });
  const empty = h('p', { class: 'muted' }, 'Waiting for runs of this flow… Start one with Test, a webhook, an upload or the schedule.');
  groups.appendChild(empty);
  /** @type {Map<string, { status: HTMLElement, list: HTMLElement, section: HTMLElement }>} */
  const byRun = new Map();
  /** @type {string | null} */
  let current = null;

  /** @param {string} runId */
  const group = (runId) => {
    let g = byRun.get(runId);
    if (g) return g;
    empty.remove();
    const status = h('span', { 'data-testid': 'run-group-status' }, statusPill('running'));
    const list = h('ol', { class: 'log', 'aria-label': `Log of run ${runId}` });
    const section = h(
      'section',
      { class: 'run-group', 'data-testid': 'run-group', 'data-run-id': runId, 'aria-label': `Run ${runId}` },
      h(
        'header',
        null,
        status,
        h('code', null, runId),
        h('button', { type: 'button', class: 'btn btn-small', onclick: () => options.onOpenRun?.(runId) }, 'Open'),
      ),
      list,
    );
    g = { status, list, section };
    byRun.set(runId, g);
    groups.prepend(section);
    return g;
  };

  open(
    'Flow activity',
    h(
      'div',
      { class: 'sidebar-scroll', 'data-testid': 'sidebar-flow', 'data-flow-id': flowId },
      h('div', { class: 'run-summary' }, h('span', null, 'All runs of this flow, as they happen'), stateEl),
      groups,
    ),
  );
  onClosed = () => {
    diagram?.reset('idle');
    diagram?.showRun?.(null);
    options.onClose?.();
  };

  active = new FlowStream(flowId, {
    onEvent(event) {
      const g = group(event.runId);
      g.list.appendChild(eventLine(event));
      if (event.runId !== current && (event.type !== 'run' || !FINAL_RUN_STATUSES.has(event.status))) {
        current = event.runId;
        diagram?.reset('idle');
        diagram?.showRun?.(current);
      }
      if (event.type === 'step' && event.runId === current) diagram?.setStatus(event.blockId, event.status, event.error, event.iteration);
      if (event.type === 'run') {
        replace(g.status, statusPill(event.status));
        if (FINAL_RUN_STATUSES.has(event.status)) options.onRunFinished?.();
      }
    },
    onState: (state, detail) => showState(stateEl, state, detail),
  }).start();
}
