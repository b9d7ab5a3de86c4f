/**
 * What the secrets and variables panels share: a flow's named entries,
 * listed in a table, each with a delete button, and the names the flow uses
 * but has not set.
 */
import { describeError } from '../api.js';
import { confirmDialog, h, replace } from '../dom.js';

/**
 * @typedef {object} EntryKind
 * @property {string} singular e.g. 'secret'
 * @property {string} plural e.g. 'Secrets'
 * @property {(flowId: string) => Promise<any>} list
 * @property {(flowId: string, name: string) => Promise<unknown>} remove
 */

/**
 * A delete button that asks first, then removes the entry and reloads.
 * @param {EntryKind} kind @param {string} flowId @param {string} name
 * @param {{ show(kind: string, text: string): void }} msg @param {() => Promise<void>} reload @param {string} [warning]
 */
export function deleteButton(kind, flowId, name, msg, reload, warning = 'Runs that use it will fail until it is set again.') {
  return h(
    'button',
    {
      type: 'button',
      class: 'btn btn-small btn-danger-quiet',
      'aria-label': `Delete ${kind.singular} ${name}`,
      'data-testid': `${kind.singular}-delete`,
      onclick: async () => {
        const ok = await confirmDialog({
          title: `Delete ${kind.singular} ${name}?`,
          body: warning,
          confirm: `Delete ${kind.singular}`,
          danger: true,
        });
        if (!ok) return;
        try {
          await kind.remove(flowId, name);
          msg.show('success', `${capitalised(kind.singular)} ${name} deleted.`);
          await reload();
        } catch (error) {
          msg.show('error', describeError(error));
        }
      },
    },
    'Delete',
  );
}

/**
 * Loads the entries into `body` (one row each via `row`) and lists in
 * `missing` the names the flow references but has not set.
 * @param {EntryKind} kind @param {string} flowId
 * @param {{ body: HTMLElement, missing: HTMLElement, msg: { show(kind: string, text: string): void }, referenced: string[], row: (entry: any) => Node, columns: number }} view
 */
export async function loadEntries(kind, flowId, { body, missing, msg, referenced, row, columns }) {
  const placeholder = (/** @type {string} */ text) => h('tr', null, h('td', { colspan: String(columns), class: 'muted' }, text));
  try {
    const page = await kind.list(flowId);
    const items = Array.isArray(page?.items) ? page.items : [];
    replace(body, items.length ? items.map(row) : placeholder(`No ${kind.plural.toLowerCase()} yet.`));
    const have = new Set(items.map((/** @type {any} */ entry) => entry.name));
    const need = referenced.filter((name) => !have.has(name));
    missing.hidden = need.length === 0;
    replace(
      missing,
      'Used by this flow but not set: ',
      need.map((n, i) => [i ? ', ' : '', h('code', null, n)]),
    );
  } catch (error) {
    replace(body, placeholder(`${kind.plural} could not be loaded.`));
    msg.show('error', `${kind.plural}: ${describeError(error)}`);
  }
}

const capitalised = (/** @type {string} */ text) => text.charAt(0).toUpperCase() + text.slice(1);
