/**
 * The signed-in state: one bearer token kept in localStorage. The token's
 * claims are decoded here for display only (the server verifies them).
 */

const STORAGE_KEY = 'powerflows.token';

/** @typedef {{ tid?: string, sub?: string, exp?: number, scope?: string }} Claims */

/** @type {Set<() => void>} */
const listeners = new Set();

/** @returns {string | null} */
export function getToken() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** @param {string} token */
export function setToken(token) {
  localStorage.setItem(STORAGE_KEY, token.trim());
  for (const fn of listeners) fn();
}

export function clearToken() {
  localStorage.removeItem(STORAGE_KEY);
  for (const fn of listeners) fn();
}

/** Calls `fn` whenever the token changes. @param {() => void} fn */
export function onTokenChange(fn) {
  listeners.add(fn);
}

/**
 * The JWT payload, or null when the text is not a JWT. Not verified.
 * @param {string | null} token
 * @returns {Claims | null}
 */
export function decodeClaims(token) {
  if (!token) return null;
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

/** True when the token carries an `exp` in the past. @param {Claims | null} claims */
export function isExpired(claims) {
  return typeof claims?.exp === 'number' && claims.exp * 1000 < Date.now();
}
