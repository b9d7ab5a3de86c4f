/**
 * The flow's variables: plain configuration, listed with values; set and delete.
 */
import { api } from '../api.js';
import { h, notice, time } from '../dom.js';
import { deleteButton, loadEntries } from './named-entries.js';
import { errorText } from './secrets.js';

/** @type {import('./named-entries.js').EntryKind} */
const VARIABLES = { singular: 'variable', plural: 'Variables', list: api.variables.list, remove: api.variables.remove };

/**
 * @param {string} flowId
 * @param {{ referenced?: string[] }} [options] names the flow's blocks use
 */
export function variablesPanel(flowId, { referenced = [] } = {}) {
  const msg = notice({ 'data-testid': 'variables-notice' });
  const missing = h('p', { class: 'hint', hidden: true, 'data-testid': 'variables-missing' });
  const body = h('tbody');
  const nameInput = /** @type {HTMLInputElement} */ (
    h('input', {
      id: `var-name-${flowId}`,
      required: true,
      pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$',
      maxlength: '64',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'notify_to',
      'data-testid': 'variable-name',
    })
  );
  const valueInput = /** @type {HTMLInputElement} */ (
    h('input', {
      id: `var-value-${flowId}`,
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'team@example.com',
      'data-testid': 'variable-value',
    })
  );
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'variable-save' }, 'Save variable');
  const form = h(
    'form',
    { class: 'form-grid', 'aria-label': 'Set a variable' },
    h('div', { class: 'field' }, h('label', { for: nameInput.id }, 'Name'), nameInput),
    h('div', { class: 'field' }, h('label', { for: valueInput.id }, 'Value'), valueInput),
    h('div', { class: 'actions field-wide' }, saveBtn),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    msg.clear();
    const name = nameInput.value.trim();
    saveBtn.setAttribute('disabled', '');
    try {
      await api.variables.put(flowId, name, valueInput.value);
      msg.show('success', `Variable ${name} saved.`);
      nameInput.value = '';
      valueInput.value = '';
      await load();
    } catch (error) {
      msg.show('error', errorText(error));
    } finally {
      saveBtn.removeAttribute('disabled');
    }
  });

  /** @param {any} variable */
  const row = (variable) =>
    h(
      'tr',
      { 'data-testid': 'variable-row', 'data-name': variable.name },
      h('th', { scope: 'row' }, h('code', null, variable.name)),
      h('td', { class: 'cell-value' }, variable.value),
      h('td', null, time(variable.updatedAt)),
      h(
        'td',
        { class: 'row-actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small',
            'aria-label': `Edit variable ${variable.name}`,
            onclick: () => {
              nameInput.value = variable.name;
              valueInput.value = variable.value;
              valueInput.focus();
            },
          },
          'Edit',
        ),
        deleteButton(VARIABLES, flowId, variable.name, msg, load),
      ),
    );

  const load = () => loadEntries(VARIABLES, flowId, { body, missing, msg, referenced, row, columns: 4 });

  void load();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': `vars-h-${flowId}`, 'data-testid': 'variables-panel' },
    h('h2', { id: `vars-h-${flowId}` }, 'Variables'),
    h('p', { class: 'card-intro' }, 'Plain configuration, used as ', h('code', null, '{{VARIABLES.name}}'), '.'),
    missing,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table', 'data-testid': 'variables-table' },
        h('caption', { class: 'visually-hidden' }, 'Variables of this flow'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Name'),
            h('th', { scope: 'col' }, 'Value'),
            h('th', { scope: 'col' }, 'Updated'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
          ),
        ),
        body,
      ),
    ),
    msg.el,
    form,
  );
}
