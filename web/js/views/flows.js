/**
 * The flows list: name, trigger, enabled switch, version, updated time;
 * create, open, edit and delete.
 */
import { api, ApiError, describeError } from '../api.js';
import { h, notice, replace, setTitle, time } from '../dom.js';
import { confirmAndDelete, setEnabled } from '../flow-actions.js';
import { describeTrigger } from './flow.js';

/** @param {HTMLElement} root */
export async function flowsView(root) {
  setTitle('Flows');
  const msg = notice({ 'data-testid': 'flows-notice' });
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'Load more');
  /** @type {string | null} */
  let cursor = null;

  /** @param {any} flow */
  function row(flow) {
    const link = `/flows/${encodeURIComponent(flow.id)}`;
    const toggle = /** @type {HTMLInputElement} */ (
      h('input', { type: 'checkbox', role: 'switch', id: `enabled-${flow.id}`, checked: flow.enabled, 'data-testid': 'flow-toggle' })
    );
    const versionCell = h('td', { class: 'num' }, String(flow.version));
    const tr = h(
      'tr',
      { 'data-testid': 'flow-row', 'data-flow-id': flow.id, 'data-enabled': String(flow.enabled) },
      h(
        'th',
        { scope: 'row' },
        h('a', { href: link, class: 'row-link', 'data-testid': 'flow-open' }, flow.name),
        flow.description ? h('span', { class: 'row-sub' }, flow.description) : null,
      ),
      h('td', null, h('span', { class: 'tag tag-trigger' }, describeTrigger(flow.trigger))),
      h(
        'td',
        null,
        h(
          'label',
          { class: 'switch', for: toggle.id },
          toggle,
          h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
          h('span', { class: 'visually-hidden' }, `${flow.name} enabled`),
        ),
      ),
      versionCell,
      h('td', { class: 'hide-narrow' }, time(flow.updatedAt)),
      h(
        'td',
        { class: 'row-actions' },
        h('a', { class: 'btn btn-small', href: link, 'aria-label': `Edit ${flow.name}` }, 'Edit'),
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small btn-danger-quiet',
            'aria-label': `Delete ${flow.name}`,
            'data-testid': 'flow-delete',
            onclick: async () => {
              msg.clear();
              try {
                if (await confirmAndDelete(flow)) {
                  tr.remove();
                  msg.show('success', `Deleted “${flow.name}”.`);
                  if (!body.querySelector('tr[data-flow-id]')) void load(false);
                }
              } catch (error) {
                msg.show('error', describeError(error));
              }
            },
          },
          'Delete',
        ),
      ),
    );
    toggle.addEventListener('change', async () => {
      toggle.disabled = true;
      msg.clear();
      try {
        flow = await setEnabled(flow, toggle.checked);
        tr.dataset.enabled = String(flow.enabled);
        versionCell.textContent = String(flow.version);
      } catch (error) {
        toggle.checked = flow.enabled;
        if (error instanceof ApiError && error.status === 409) {
          msg.show('warn', `“${flow.name}” was changed elsewhere; the list has been reloaded. Try again.`);
          void load(false);
        } else msg.show('error', describeError(error));
      } finally {
        toggle.disabled = false;
      }
    });
    return tr;
  }

  /** @param {boolean} append */
  async function load(append) {
    try {
      const page = await api.flows.list({ cursor: append ? cursor : null });
      const items = Array.isArray(page?.items) ? page.items : [];
      cursor = page?.nextCursor ?? null;
      more.hidden = !cursor;
      if (append) for (const /** @type {any} */ f of items) body.appendChild(row(f));
      else
        replace(
          body,
          items.length
            ? items.map(row)
            : h(
                'tr',
                null,
                h(
                  'td',
                  { colspan: '6', class: 'empty' },
                  h('p', null, 'No flows yet.'),
                  h('a', { class: 'btn btn-primary', href: '/flows/new' }, 'Create your first flow'),
                ),
              ),
        );
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      replace(body, h('tr', null, h('td', { colspan: '6', class: 'muted' }, 'Flows could not be loaded.')));
      msg.show('error', describeError(error));
    }
  }
  more.addEventListener('click', () => void load(true));

  replace(
    root,
    h(
      'header',
      { class: 'page-head' },
      h(
        'div',
        { class: 'page-title-row' },
        h('h1', null, 'Flows'),
        h(
          'div',
          { class: 'page-actions' },
          h('a', { class: 'btn btn-primary', href: '/flows/new', 'data-testid': 'new-flow' }, '+ New flow'),
        ),
      ),
      h(
        'p',
        { class: 'page-desc' },
        'A flow is a trigger and a chain of blocks. Open one to test it, follow its runs live and manage its secrets.',
      ),
    ),
    msg.el,
    h(
      'div',
      { class: 'card card-flush' },
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table table-flows', 'data-testid': 'flows-table' },
          h('caption', { class: 'visually-hidden' }, 'Flows, newest first'),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, 'Name'),
              h('th', { scope: 'col' }, 'Trigger'),
              h('th', { scope: 'col' }, 'Enabled'),
              h('th', { scope: 'col', class: 'num' }, 'Version'),
              h('th', { scope: 'col', class: 'hide-narrow' }, 'Updated'),
              h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
            ),
          ),
          body,
        ),
      ),
    ),
    more,
  );
  replace(body, h('tr', null, h('td', { colspan: '6', class: 'muted', role: 'status' }, 'Loading…')));
  await load(false);
}
