/**
 * The flow's recent runs: status, trigger, times and error; a row opens the
 * run in the live sidebar.
 */
import { api, describeError } from '../api.js';
import { h, notice, replace, statusPill, time } from '../dom.js';

/**
 * @param {string} flowId
 * @param {{ onOpen: (run: any) => void }} options
 * @returns {{ el: HTMLElement, refresh: () => Promise<void>, setStatus: (runId: string, status: string) => void, markSelected: (runId: string | null) => void }}
 */
export function runsPanel(flowId, { onOpen }) {
  const msg = notice({ 'data-testid': 'runs-notice' });
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'btn btn-small', hidden: true }, 'Load older runs');
  /** @type {string | null} */
  let cursor = null;
  /** @type {string | null} */
  let selected = null;

  /** @param {any} run */
  const row = (run) =>
    h(
      'tr',
      {
        class: `run-row${run.id === selected ? ' is-selected' : ''}`,
        'data-testid': 'run-row',
        'data-run-id': run.id,
        'data-status': run.status,
        onclick: (/** @type {MouseEvent} */ event) => {
          if (!(event.target instanceof HTMLButtonElement)) onOpen(run);
        },
      },
      h('td', null, statusPill(run.status)),
      h(
        'td',
        null,
        h(
          'button',
          { type: 'button', class: 'link-button mono', onclick: () => onOpen(run), 'aria-label': `Open run ${run.id} in the live log` },
          shortId(run.id),
        ),
      ),
      h('td', null, run.trigger?.type ?? '—'),
      h('td', null, time(run.createdAt)),
      h('td', { class: 'hide-narrow' }, time(run.startedAt)),
      h('td', { class: 'hide-narrow' }, time(run.finishedAt)),
      h('td', { class: 'cell-error' }, run.error ? String(typeof run.error === 'string' ? run.error : JSON.stringify(run.error)) : ''),
    );

  /** @param {boolean} append */
  async function load(append) {
    try {
      const page = await api.runs.list(flowId, { limit: 20, cursor: append ? cursor : null });
      const items = Array.isArray(page?.items) ? page.items : [];
      cursor = page?.nextCursor ?? null;
      more.hidden = !cursor;
      if (append) for (const /** @type {any} */ r of items) body.appendChild(row(r));
      else
        replace(
          body,
          items.length ? items.map(row) : h('tr', null, h('td', { colspan: '7', class: 'muted' }, 'No runs yet. Press Test to start one.')),
        );
      msg.clear();
    } catch (error) {
      if (!append) replace(body, h('tr', null, h('td', { colspan: '7', class: 'muted' }, 'Runs could not be loaded.')));
      msg.show('error', `Runs: ${describeError(error)}`);
    }
  }
  more.addEventListener('click', () => void load(true));

  const refreshBtn = h(
    'button',
    { type: 'button', class: 'btn btn-small', onclick: () => void load(false), 'data-testid': 'runs-refresh' },
    'Refresh',
  );
  void load(false);
  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': `runs-h-${flowId}`, 'data-testid': 'runs-panel' },
    h('div', { class: 'card-head' }, h('h2', { id: `runs-h-${flowId}` }, 'Runs'), refreshBtn),
    msg.el,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table table-runs', 'data-testid': 'runs-table' },
        h('caption', { class: 'visually-hidden' }, 'Recent runs, newest first'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Status'),
            h('th', { scope: 'col' }, 'Run'),
            h('th', { scope: 'col' }, 'Trigger'),
            h('th', { scope: 'col' }, 'Created'),
            h('th', { scope: 'col', class: 'hide-narrow' }, 'Started'),
            h('th', { scope: 'col', class: 'hide-narrow' }, 'Finished'),
            h('th', { scope: 'col' }, 'Error'),
          ),
        ),
        body,
      ),
    ),
    more,
  );
  return {
    el,
    refresh: () => load(false),
    setStatus(runId, status) {
      const tr = body.querySelector(`tr[data-run-id="${CSS.escape(runId)}"]`);
      if (!(tr instanceof HTMLElement) || !tr.firstElementChild) return;
      tr.dataset.status = status;
      replace(tr.firstElementChild, statusPill(status));
    },
    markSelected(runId) {
      selected = runId;
      for (const tr of body.querySelectorAll('tr[data-run-id]'))
        tr.classList.toggle('is-selected', tr.getAttribute('data-run-id') === runId);
    },
  };
}

/** `run_01HX…WXYZ` → `run_01HX…WXYZ` shortened for tables (full id on the sidebar). @param {string} id */
function shortId(id) {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}
