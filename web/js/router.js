/**
 * A tiny History API router. Routes are patterns like `/flows/:flowId`;
 * same-origin `<a href="/…">` clicks are handled without a page load.
 * The Worker serves index.html for every such path, so deep links work.
 */
import { confirmDialog } from './dom.js';

/**
 * @typedef {(params: Record<string, string>, query: URLSearchParams) => void | Promise<void>} Handler
 * @typedef {{ pattern: string, handler: Handler }} Route
 */

/** @type {Array<{ regex: RegExp, keys: string[], handler: Handler }>} */
const table = [];
/** @type {Handler} */
let fallback = () => {};
/** @type {Set<() => void>} */
const leaveHooks = new Set();
/** Says whether leaving the current view would lose something (unsaved changes). @type {(() => boolean) | null} */
let leaveGuard = null;
/** The path the current view was rendered for. */
let shownPath = '';

/**
 * @param {string} pattern `/flows/:flowId/edit`
 * @param {Handler} handler
 */
export function route(pattern, handler) {
  /** @type {string[]} */
  const keys = [];
  const source = pattern
    .split('/')
    .map((part) => {
      if (part.startsWith(':')) {
        keys.push(part.slice(1));
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  table.push({ regex: new RegExp(`^${source}/?$`), keys, handler });
}

/** @param {Handler} handler */
export function notFound(handler) {
  fallback = handler;
}

/** Runs `fn` once, when the current view is left (close sockets, timers). @param {() => void} fn */
export function onLeave(fn) {
  leaveHooks.add(fn);
}

/**
 * Guards the current view: links and back/forward first ask before leaving
 * while `fn` returns true. Cleared when the view is left.
 * @param {() => boolean} fn
 */
export function guardLeave(fn) {
  leaveGuard = fn;
}

/** Asks before leaving a guarded view; resolves true when leaving is fine. */
export async function mayLeave() {
  if (!leaveGuard?.()) return true;
  const ok = await confirmDialog({
    title: 'Leave without saving?',
    body: 'This flow has changes that are not saved yet. Leaving discards them.',
    confirm: 'Leave and discard',
    danger: true,
  });
  if (ok) leaveGuard = null;
  return ok;
}

/** @param {string} path @param {{ replace?: boolean }} [options] */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  dispatch();
}

/** The current path with its query, for returning after sign-in. */
export function currentPath() {
  return location.pathname + location.search;
}

function dispatch() {
  for (const fn of leaveHooks) {
    try {
      fn();
    } catch (error) {
      console.error('leaving view failed', error);
    }
  }
  leaveHooks.clear();
  leaveGuard = null;
  shownPath = currentPath();
  const query = new URLSearchParams(location.search);
  for (const { regex, keys, handler } of table) {
    const match = regex.exec(location.pathname);
    if (match) {
      /** @type {Record<string, string>} */
      const params = {};
      for (const [i, key] of keys.entries()) params[key] = decodeURIComponent(match[i + 1] ?? '');
      void handler(params, query);
      return;
    }
  }
  void fallback({}, query);
}

/** Starts listening to link clicks and back/forward, and renders the current path. */
export function start() {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const target = event.target instanceof Element ? event.target.closest('a[href]') : null;
    if (!(target instanceof HTMLAnchorElement) || target.target || target.hasAttribute('download')) return;
    const url = new URL(target.href);
    if (url.origin !== location.origin || target.dataset.external !== undefined) return;
    if (/^\/(v1|dev|healthz|openapi\.json)(\/|$)/.test(url.pathname)) return;
    event.preventDefault();
    if (url.pathname + url.search === currentPath()) return;
    void mayLeave().then((ok) => ok && navigate(url.pathname + url.search));
  });
  window.addEventListener('popstate', () => {
    if (!leaveGuard?.()) return dispatch();
    // Back or forward out of a view with unsaved changes: stay until the user says so.
    const target = currentPath();
    history.pushState(null, '', shownPath);
    void mayLeave().then((ok) => ok && navigate(target, { replace: true }));
  });
  dispatch();
}
