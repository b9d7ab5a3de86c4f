/**
 * The flow's variables: plain configuration, listed with values; set and delete.
 */
import { api, describeError } from '../api.js';
import { confirmDialog, h, notice, replace, time } from '../dom.js';
import { errorText } from './secrets.js';

/**
 * @param {string} flowId
 * @param {{ referenced?: string[] }} [options] names the flow's blocks use
 */
export function variablesPanel(flowId, { referenced = [] } = {}) {
  const msg = notice({ 'data-testid': 'variables-notice' });
  const missing = h('p', { class: 'hint', hidden: true, 'data-testid': 'variables-missing' });
  const body = h('tbody');
  const nameInput = /** @type {HTMLInputElement} */ (
    h('input', { id: `var-name-${flowId}`, required: true, pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$', maxlength: '64', autocomplete: 'off', spellcheck: 'false', placeholder: 'notify_to', 'data-testid': 'variable-name' })
  );
  const valueInput = /** @type {HTMLInputElement} */ (
    h('input', { id: `var-value-${flowId}`, autocomplete: 'off', spellcheck: 'false', placeholder: 'team@example.com', 'data-testid': 'variable-value' })
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
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small btn-danger-quiet',
            'aria-label': `Delete variable ${variable.name}`,
            onclick: async () => {
              const ok = await confirmDialog({ title: `Delete variable ${variable.name}?`, body: 'Runs that use it will fail until it is set again.', confirm: 'Delete variable', danger: true });
              if (!ok) return;
              try {
                await api.variables.remove(flowId, variable.name);
                msg.show('success', `Variable ${variable.name} deleted.`);
                await load();
              } catch (error) {
                msg.show('error', describeError(error));
              }
            },
          },
          'Delete',
        ),
      ),
    );

  async function load() {
    try {
      const page = await api.variables.list(flowId);
      const items = Array.isArray(page?.items) ? page.items : [];
      replace(body, items.length ? items.map(row) : h('tr', null, h('td', { colspan: '4', class: 'muted' }, 'No variables yet.')));
      const have = new Set(items.map((/** @type {any} */ v) => v.name));
      const need = referenced.filter((name) => !have.has(name));
      missing.hidden = need.length === 0;
      replace(missing, 'Used by this flow but not set: ', need.map((n, i) => [i ? ', ' : '', h('code', null, n)]));
    } catch (error) {
      replace(body, h('tr', null, h('td', { colspan: '4', class: 'muted' }, 'Variables could not be loaded.')));
      msg.show('error', `Variables: ${describeError(error)}`);
    }
  }

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
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, 'Updated'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        body,
      ),
    ),
    msg.el,
    form,
  );
}
