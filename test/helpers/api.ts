import { SELF } from 'cloudflare:test';
import { mintToken, TENANT_SCOPES } from '../../src/lib/dev-token';
import { TEST_JWT_SECRET } from '../bindings';

export const ALL_SCOPES = TENANT_SCOPES;

export interface TokenOptions {
  tenant?: string;
  sub?: string;
  scope?: string;
  /** Seconds from now; negative for an expired token. */
  ttl?: number;
  secret?: string;
  claims?: Record<string, unknown>;
}

/** A development token signed with the test `JWT_SECRET`. */
export function token(options: TokenOptions = {}): Promise<string> {
  return mintToken({
    secret: options.secret ?? TEST_JWT_SECRET,
    tenant: options.tenant ?? 'acme',
    sub: options.sub ?? 'user-1',
    scope: options.scope ?? ALL_SCOPES,
    ttlSeconds: options.ttl ?? 3600,
    claims: options.claims,
  });
}

export interface CallOptions {
  token?: string | undefined;
  body?: unknown;
  /** Sent as is, instead of JSON.stringify(body). */
  rawBody?: BodyInit;
  headers?: Record<string, string>;
}

/** Calls the Worker through `SELF`, JSON by default. */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  return SELF.fetch(`http://powerflows.test${path}`, { method, headers, body });
}

/** Calls and parses the JSON answer, asserting nothing. */
export async function callJson<T = any>(
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await call(method, path, options);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** A minimal valid flow body. */
export function flowBody(overrides: Record<string, unknown> = {}) {
  return {
    name: 'Email on upload',
    trigger: { type: 'manual' },
    blocks: [{ id: 'log1', type: 'log', params: { message: 'hello {{trigger.name}}' } }],
    ...overrides,
  };
}

/** Creates a flow and returns it, failing loudly if the API refuses. */
export async function createFlow(tok: string, overrides: Record<string, unknown> = {}): Promise<any> {
  const res = await callJson('POST', '/v1/flows', { token: tok, body: flowBody(overrides) });
  if (res.status !== 201) throw new Error(`createFlow: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
