/**
 * The API client: one `request()` that speaks the contract (JSON in and out,
 * bearer token, the `{ error: { code, message, details } }` shape), and one
 * small function per route the page uses.
 */
import { getToken } from './auth.js';

/** @typedef {{ path: string, message: string }} ErrorDetail */

/** A failed call, carrying the contract's error body. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 for a network failure
   * @param {string} code contract code (`validation_failed`, …) or `network`
   * @param {string} message
   * @param {ErrorDetail[]} [details]
   * @param {number | null} [retryAfter] seconds, from `Retry-After`
   */
  constructor(status, code, message, details = [], retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

/** @type {(error: ApiError) => void} */
let unauthorizedHandler = () => {};

/** Registers what happens on any 401 (the app sends the user to sign-in). @param {(error: ApiError) => void} fn */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

/**
 * Calls the API. Resolves with the parsed JSON body (undefined for 204).
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, headers?: Record<string, string>, auth?: boolean, signal?: AbortSignal }} [options]
 * @returns {Promise<any>}
 */
export async function request(method, path, { body, headers = {}, auth = true, signal } = {}) {
  /** @type {Record<string, string>} */
  const allHeaders = { accept: 'application/json', ...headers };
  const token = auth ? getToken() : null;
  if (token) allHeaders.authorization = `Bearer ${token}`;
  if (body !== undefined) allHeaders['content-type'] = 'application/json';
  /** @type {Response} */
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: allHeaders,
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal,
      cache: 'no-store',
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
  }
  const text = await res.text();
  /** @type {any} */
  let json;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (res.ok) return json;

  const err = json && typeof json === 'object' && json.error ? json.error : {};
  const retry = res.headers.get('retry-after');
  const error = new ApiError(
    res.status,
    typeof err.code === 'string' ? err.code : `http_${res.status}`,
    typeof err.message === 'string' && err.message ? err.message : `${res.status} ${res.statusText || 'error'}`,
    Array.isArray(err.details) ? err.details.filter((/** @type {any} */ d) => d && typeof d.path === 'string') : [],
    retry && /^\d+$/.test(retry) ? Number(retry) : null,
  );
  if (res.status === 401 && auth) unauthorizedHandler(error);
  throw error;
}

/**
 * A short human sentence for an error, for places without a detail list.
 * @param {unknown} error
 */
export function describeError(error) {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  switch (error.code) {
    case 'forbidden':
      return `Not allowed: ${error.message}. Your token lacks the scope this needs.`;
    case 'rate_limited':
      return `Too many requests${error.retryAfter ? `; try again in ${error.retryAfter} s` : ''}.`;
    case 'internal':
      return 'The server hit an internal error. Try again.';
    default:
      return error.message;
  }
}

const enc = encodeURIComponent;

/** @param {Record<string, string | number | null | undefined>} params */
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The definition fields a PUT/POST takes, from a Flow. @param {any} flow */
export function definitionOf(flow) {
  /** @type {Record<string, unknown>} */
  const def = { name: flow.name, enabled: flow.enabled, trigger: flow.trigger, blocks: flow.blocks };
  if (flow.description !== undefined && flow.description !== null) def.description = flow.description;
  // Kept as given so that saving from the page never drops it.
  if (flow.notify !== undefined && flow.notify !== null) def.notify = flow.notify;
  return def;
}

export const api = {
  /** `POST /dev/token` (development only). */
  devToken: () => request('POST', '/dev/token', { auth: false }),

  flows: {
    /** @param {{ cursor?: string|null, limit?: number }} [o] */
    list: (o = {}) => request('GET', `/v1/flows${query({ limit: o.limit ?? 50, cursor: o.cursor })}`),
    /** @param {string} id */
    get: (id) => request('GET', `/v1/flows/${enc(id)}`),
    /** @param {unknown} definition */
    create: (definition) => request('POST', '/v1/flows', { body: definition }),
    /** @param {string} id @param {unknown} definition @param {number} [version] */
    update: (id, definition, version) =>
      request('PUT', `/v1/flows/${enc(id)}`, {
        body: definition,
        headers: version !== undefined ? { 'if-match': String(version) } : {},
      }),
    /** @param {string} id */
    remove: (id) => request('DELETE', `/v1/flows/${enc(id)}`),
  },

  secrets: {
    /** @param {string} flowId */
    list: (flowId) => request('GET', `/v1/flows/${enc(flowId)}/secrets`),
    /** @param {string} flowId @param {string} name @param {{ value: string, allowedHosts?: string[] }} body */
    put: (flowId, name, body) => request('PUT', `/v1/flows/${enc(flowId)}/secrets/${enc(name)}`, { body }),
    /** @param {string} flowId @param {string} name */
    remove: (flowId, name) => request('DELETE', `/v1/flows/${enc(flowId)}/secrets/${enc(name)}`),
  },

  variables: {
    /** @param {string} flowId */
    list: (flowId) => request('GET', `/v1/flows/${enc(flowId)}/variables`),
    /** @param {string} flowId @param {string} name @param {string} value */
    put: (flowId, name, value) => request('PUT', `/v1/flows/${enc(flowId)}/variables/${enc(name)}`, { body: { value } }),
    /** @param {string} flowId @param {string} name */
    remove: (flowId, name) => request('DELETE', `/v1/flows/${enc(flowId)}/variables/${enc(name)}`),
  },

  runs: {
    /** @param {string} flowId @param {Record<string, unknown> | undefined} input */
    start: (flowId, input) => request('POST', `/v1/flows/${enc(flowId)}/runs`, { body: input === undefined ? {} : { input } }),
    /** @param {string} flowId @param {{ limit?: number, cursor?: string|null }} [o] */
    list: (flowId, o = {}) => request('GET', `/v1/flows/${enc(flowId)}/runs${query({ limit: o.limit ?? 20, cursor: o.cursor })}`),
    /** @param {string} runId */
    get: (runId) => request('GET', `/v1/runs/${enc(runId)}`),
    /** @param {string} runId @param {{ after?: number|null, limit?: number }} [o] */
    logs: (runId, o = {}) => request('GET', `/v1/runs/${enc(runId)}/logs${query({ after: o.after, limit: o.limit ?? 200 })}`),
    /** @param {string} runId */
    cancel: (runId) => request('POST', `/v1/runs/${enc(runId)}/cancel`),
  },

  /** `GET /v1/blocks`: every block type with the JSON Schema of its params. */
  blocks: () => request('GET', '/v1/blocks'),

  /** `GET /v1/env`: the tenant's environment variables. */
  env: () => request('GET', '/v1/env'),

  /** @param {{ runId: string } | { flowId: string }} target @returns {Promise<{ ticket: string, expiresAt: string }>} */
  liveTicket: (target) => request('POST', '/v1/live-tickets', { body: target }),
};
