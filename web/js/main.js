/**
 * Entry point: the session bar, the routes, and the rule that any 401
 * sends the user back to sign-in with a clear message.
 */
import { onUnauthorized } from './api.js';
import { clearToken, decodeClaims, getToken, isExpired, onTokenChange } from './auth.js';
import { h, replace, setTitle } from './dom.js';
import { currentPath, navigate, notFound, route, start } from './router.js';
import { newFlowView } from './views/editor.js';
import { flowView } from './views/flow.js';
import { flowsView } from './views/flows.js';
import { galleryView } from './views/gallery.js';
import * as sidebar from './views/sidebar.js';
import { signinView } from './views/signin.js';

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const session = /** @type {HTMLElement} */ (document.getElementById('session'));
const tenantEl = /** @type {HTMLElement} */ (document.getElementById('tenant'));
const signOut = /** @type {HTMLButtonElement} */ (document.getElementById('signout'));

/** Why the user was sent to sign-in, shown once there. @type {string | null} */
let signinReason = null;
let firstRender = true;

function renderSession() {
  const claims = decodeClaims(getToken());
  session.hidden = !claims;
  tenantEl.textContent = claims?.tid ?? '?';
  tenantEl.title = claims?.sub ? `Signed in as ${claims.sub}` : '';
}
onTokenChange(renderSession);
renderSession();

signOut.addEventListener('click', () => {
  sidebar.close();
  clearToken();
  signinReason = 'You have signed out.';
  navigate('/signin', { replace: true });
});

onUnauthorized((error) => {
  if (location.pathname === '/signin') return;
  sidebar.close();
  clearToken();
  signinReason = `Your session is no longer valid (${error.message}). Sign in again to continue.`;
  navigate(`/signin?next=${encodeURIComponent(currentPath())}`, { replace: true });
});

/**
 * Wraps a view that needs a token.
 * @param {(params: Record<string, string>, query: URLSearchParams) => void | Promise<void>} view
 */
const authed = (view) => (/** @type {Record<string, string>} */ params, /** @type {URLSearchParams} */ query) => {
  const token = getToken();
  const claims = decodeClaims(token);
  if (!claims || isExpired(claims)) {
    if (token) {
      clearToken();
      signinReason = 'Your token has expired. Sign in again to continue.';
    }
    navigate(`/signin?next=${encodeURIComponent(currentPath())}`, { replace: true });
    return;
  }
  focusMain();
  return view(params, query);
};

function focusMain() {
  if (firstRender) {
    firstRender = false;
    return;
  }
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

route('/signin', (_params, query) => {
  const reason = signinReason;
  signinReason = null;
  focusMain();
  signinView(main, { reason, next: query.get('next') });
});
route(
  '/',
  authed(() => flowsView(main)),
);
route(
  '/flows',
  authed(() => flowsView(main)),
);
route(
  '/flows/new',
  authed((_p, query) => {
    const template = query.get('template');
    return template ? newFlowView(main, template) : galleryView(main);
  }),
);
route(
  '/flows/:flowId',
  authed((p, query) => flowView(main, /** @type {string} */ (p.flowId), query)),
);
// The editor is the flow page now; old links to /edit land on it.
route(
  '/flows/:flowId/edit',
  authed((p, query) => flowView(main, /** @type {string} */ (p.flowId), query)),
);
notFound(() => {
  setTitle('Not found');
  replace(main, h('h1', null, 'Page not found'), h('p', null, h('a', { href: '/' }, '← Back to flows')));
});

start();
