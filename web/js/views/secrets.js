/**
 * The flow's secrets: names, allowed hosts and times (never values), a form
 * to set or replace one (the value goes to the server once and is cleared
 * from the page right after), and delete.
 */
import { api, ApiError, describeError } from '../api.js';
import { h, notice, splitList, time } from '../dom.js';
import { deleteButton, loadEntries } from './named-entries.js';

/** @type {import('./named-entries.js').EntryKind} */
const SECRETS = { singular: 'secret', plural: 'Secrets', list: api.secrets.list, remove: api.secrets.remove };

const NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,63}$';

/**
 * @param {string} flowId
 * @param {{ referenced?: string[] }} [options] names the flow's blocks use
 */
export function secretsPanel(flowId, { referenced = [] } = {}) {
  const msg = notice({ 'data-testid': 'secrets-notice' });
  const missing = h('p', { class: 'hint', hidden: true, 'data-testid': 'secrets-missing' });
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'table', 'data-testid': 'secrets-table' },
    h('caption', { class: 'visually-hidden' }, 'Secrets of this flow'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col' }, 'Allowed hosts'),
        h('th', { scope: 'col' }, 'Updated'),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
      ),
    ),
    body,
  );

  const nameInput = /** @type {HTMLInputElement} */ (
    h('input', {
      id: `secret-name-${flowId}`,
      name: 'name',
      required: true,
      pattern: NAME_PATTERN,
      maxlength: '64',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'postmark_api_key',
      'data-testid': 'secret-name',
    })
  );
  const valueInput = /** @type {HTMLInputElement} */ (
    h('input', {
      id: `secret-value-${flowId}`,
      name: 'value',
      type: 'password',
      required: true,
      minlength: '8',
      autocomplete: 'new-password',
      spellcheck: 'false',
      'data-testid': 'secret-value',
      'aria-describedby': `secret-value-help-${flowId}`,
    })
  );
  const hostsInput = /** @type {HTMLInputElement} */ (
    h('input', {
      id: `secret-hosts-${flowId}`,
      name: 'allowedHosts',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'api.postmarkapp.com',
      'data-testid': 'secret-hosts',
      'aria-describedby': `secret-hosts-help-${flowId}`,
    })
  );
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'secret-save' }, 'Save secret');

  const form = h(
    'form',
    { class: 'form-grid', 'aria-label': 'Set a secret' },
    h('div', { class: 'field' }, h('label', { for: nameInput.id }, 'Name'), nameInput),
    h(
      'div',
      { class: 'field' },
      h('label', { for: valueInput.id }, 'Value'),
      valueInput,
      h('p', { class: 'help', id: `secret-value-help-${flowId}` }, 'Sent once, encrypted, never shown again.'),
    ),
    h(
      'div',
      { class: 'field field-wide' },
      h('label', { for: hostsInput.id }, 'Allowed hosts ', h('span', { class: 'muted' }, '(optional)')),
      hostsInput,
      h(
        'p',
        { class: 'help', id: `secret-hosts-help-${flowId}` },
        'Comma-separated. When set, the secret is only ever sent to these hosts.',
      ),
    ),
    h('div', { class: 'actions field-wide' }, saveBtn),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    msg.clear();
    const name = nameInput.value.trim();
    const hosts = splitList(hostsInput.value);
    /** @type {{ value: string, allowedHosts?: string[] }} */
    const payload = { value: valueInput.value };
    if (hosts.length) payload.allowedHosts = hosts;
    saveBtn.setAttribute('disabled', '');
    try {
      const saved = await api.secrets.put(flowId, name, payload);
      // The value has been sent; it is not kept anywhere in the page.
      valueInput.value = '';
      payload.value = '';
      nameInput.value = '';
      hostsInput.value = '';
      msg.show('success', `Secret ${saved?.name ?? name} saved.`);
      await load();
    } catch (error) {
      payload.value = '';
      msg.show('error', errorText(error));
    } finally {
      saveBtn.removeAttribute('disabled');
    }
  });

  /** @param {any} secret */
  const row = (secret) =>
    h(
      'tr',
      { 'data-testid': 'secret-row', 'data-name': secret.name },
      h('th', { scope: 'row' }, h('code', null, secret.name)),
      h(
        'td',
        null,
        Array.isArray(secret.allowedHosts) && secret.allowedHosts.length
          ? secret.allowedHosts.join(', ')
          : h('span', { class: 'muted' }, 'any host'),
      ),
      h('td', null, time(secret.updatedAt)),
      h(
        'td',
        { class: 'row-actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small',
            'aria-label': `Replace secret ${secret.name}`,
            onclick: () => {
              nameInput.value = secret.name;
              hostsInput.value = (secret.allowedHosts ?? []).join(', ');
              valueInput.focus();
            },
          },
          'Replace',
        ),
        deleteButton(SECRETS, flowId, secret.name, msg, load, 'Runs that use it will fail until it is set again. This cannot be undone.'),
      ),
    );

  const load = () => loadEntries(SECRETS, flowId, { body, missing, msg, referenced, row, columns: 4 });

  void load();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': `secrets-h-${flowId}`, 'data-testid': 'secrets-panel' },
    h('h2', { id: `secrets-h-${flowId}` }, 'Secrets'),
    h(
      'p',
      { class: 'card-intro' },
      'Use in blocks as ',
      h('code', null, '{{SECRETS.name}}'),
      '. Values are write-only and masked as ',
      h('code', null, '***'),
      ' in logs.',
    ),
    missing,
    h('div', { class: 'table-wrap' }, table),
    msg.el,
    form,
  );
}

/** An error with its field details, for forms. @param {unknown} error */
export function errorText(error) {
  if (error instanceof ApiError && error.details.length) {
    return [
      describeError(error),
      h(
        'ul',
        null,
        error.details.map((d) => h('li', null, h('code', null, d.path || '(body)'), ': ', d.message)),
      ),
    ];
  }
  return describeError(error);
}
