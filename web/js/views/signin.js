/**
 * Sign in: paste a token, or (in development) get one from `POST /dev/token`.
 * The button only appears when that route exists.
 */
import { api, ApiError, describeError } from '../api.js';
import { clearToken, decodeClaims, isExpired, setToken } from '../auth.js';
import { h, notice, replace, setTitle } from '../dom.js';
import { navigate } from '../router.js';

/**
 * @param {HTMLElement} root
 * @param {{ reason?: string | null, next?: string | null }} [options]
 */
export function signinView(root, { reason = null, next = null } = {}) {
  setTitle('Sign in');
  const msg = notice({ 'data-testid': 'signin-notice' });
  if (reason) msg.show('warn', reason);

  const input = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'token',
      name: 'token',
      type: 'password',
      autocomplete: 'off',
      spellcheck: 'false',
      required: true,
      placeholder: 'eyJhbGciOi…',
      'aria-describedby': 'token-help',
      'data-testid': 'signin-input',
    })
  );
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'signin-button' }, 'Sign in');
  const devButton = h('button', { type: 'button', class: 'btn', hidden: true, 'data-testid': 'dev-token-button' }, 'Use development token');
  const devRow = h(
    'div',
    { class: 'signin-dev', hidden: true },
    h('span', { class: 'divider' }, 'or'),
    devButton,
    h('p', { class: 'help' }, 'Local development only: a token for tenant ', h('code', null, 'demo'), '.'),
  );

  /** Checks a token against the API before keeping it. @param {string} token */
  async function accept(token) {
    const claims = decodeClaims(token);
    if (!claims) throw new Error('That does not look like a token (a JWT has three parts separated by dots).');
    if (isExpired(claims)) throw new Error('That token has expired. Get a new one.');
    setToken(token);
    try {
      await api.flows.list({ limit: 1 });
    } catch (error) {
      clearToken();
      if (error instanceof ApiError && error.status === 401) throw new Error(`The server rejected the token: ${error.message}.`);
      if (error instanceof ApiError && error.status === 403) throw new Error('The token is valid but lacks the flows:read scope.');
      throw error;
    }
    navigate(next?.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
  }

  const form = h(
    'form',
    { class: 'signin-form', 'aria-labelledby': 'signin-h' },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'token' }, 'Access token'),
      input,
      h('p', { class: 'help', id: 'token-help' }, 'A JWT for your tenant. It is kept in this browser until you sign out.'),
    ),
    h('div', { class: 'actions' }, submit),
    devRow,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    msg.clear();
    submit.setAttribute('disabled', '');
    try {
      await accept(input.value.trim());
    } catch (error) {
      msg.show('error', describeError(error));
      input.focus();
    } finally {
      submit.removeAttribute('disabled');
    }
  });
  devButton.addEventListener('click', async () => {
    msg.clear();
    devButton.setAttribute('disabled', '');
    try {
      const { token } = await api.devToken();
      await accept(token);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        devRow.hidden = true;
        msg.show('error', 'Development tokens are not available on this server.');
      } else msg.show('error', describeError(error));
    } finally {
      devButton.removeAttribute('disabled');
    }
  });

  // Offer the development button only where the route exists (404 elsewhere).
  api
    .devToken()
    .then(() => {
      devRow.hidden = false;
      devButton.hidden = false;
    })
    .catch(() => {});

  replace(
    root,
    h(
      'div',
      { class: 'signin' },
      h(
        'section',
        { class: 'card signin-card' },
        h('h1', { id: 'signin-h' }, 'Sign in to PowerFlows'),
        h('p', { class: 'muted' }, 'Automate work on uploaded media: triggers, blocks, secrets and live run logs.'),
        msg.el,
        form,
      ),
    ),
  );
  input.focus();
}
