import type { MiddlewareHandler } from 'hono';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { settings } from '../config';
import type { Env } from '../env';
import { TENANT_ID } from '../lib/tenant';
import { ApiError } from './errors';

export const SCOPES = ['flows:read', 'flows:write', 'secrets:write', 'runs:read', 'runs:write', 'admin:keys'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: the verified claims every route works from. */
export interface Caller {
  sub: string;
  tenantId: string;
  scopes: ReadonlySet<string>;
}

export type AuthVariables = { caller: Caller };

const MAX_TOKEN_LENGTH = 8192;
const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

const hmacKeys = new Map<string, Promise<CryptoKey>>();
const remoteKeySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/**
 * Verifies a bearer token with jose and returns the caller.
 * HS256 with `JWT_SECRET` and/or RS256/ES256/EdDSA from `JWT_JWKS_URL`; nothing
 * else (never `none`). `exp` is required, 30 s of clock skew tolerated,
 * `iss`/`aud` enforced when configured. Throws 401 on any failure.
 *
 * With `ADMIN_JWT_SECRET` set, operators and tenants are kept apart: an HS256
 * token signed with it is an operator token and carries `admin:keys` (if it
 * claims it) and nothing else; any other token never carries `admin:keys`.
 */
export async function verifyToken(token: string, env: Env): Promise<Caller> {
  const config = settings(env);
  if (token.length > MAX_TOKEN_LENGTH) throw unauthorized('token too large');
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw unauthorized('malformed token');
  }
  const options = {
    clockTolerance: 30,
    requiredClaims: ['exp'],
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  };
  let payload: JWTPayload;
  let operator = false;
  try {
    const asOperator =
      alg === 'HS256' && config.ADMIN_JWT_SECRET ? await verifyIfSignedWith(token, config.ADMIN_JWT_SECRET, options) : null;
    if (asOperator) {
      payload = asOperator;
      operator = true;
    } else if (alg === 'HS256' && config.JWT_SECRET) {
      payload = (await jwtVerify(token, await hmacKey(config.JWT_SECRET), { ...options, algorithms: ['HS256'] })).payload;
    } else if (alg && ASYMMETRIC_ALGORITHMS.includes(alg) && config.JWT_JWKS_URL) {
      payload = (await jwtVerify(token, remoteKeySet(config.JWT_JWKS_URL), { ...options, algorithms: ASYMMETRIC_ALGORITHMS })).payload;
    } else {
      throw unauthorized('token algorithm not accepted');
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof errors.JWTExpired) throw unauthorized('token expired');
    throw unauthorized('invalid token');
  }
  const { sub, tid, scope } = payload as JWTPayload & { tid?: unknown; scope?: unknown };
  if (typeof sub !== 'string' || sub === '') throw unauthorized('token has no subject');
  if (typeof tid !== 'string' || !TENANT_ID.test(tid)) throw unauthorized('token has no valid tenant');
  const claimed = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
  const scopes = new Set(
    !config.ADMIN_JWT_SECRET ? claimed : operator ? claimed.filter((s) => s === 'admin:keys') : claimed.filter((s) => s !== 'admin:keys'),
  );
  return { sub, tenantId: tid, scopes };
}

/** The `Bearer` token of a request, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** Requires a valid bearer token and puts the caller in `c.var.caller`. */
export const authenticate: MiddlewareHandler<{ Bindings: Env; Variables: AuthVariables }> = async (c, next) => {
  const token = bearerToken(c.req.header('authorization'));
  if (!token) throw unauthorized('missing bearer token');
  c.set('caller', await verifyToken(token, c.env));
  await next();
};

/** 403 unless the caller's token carries `scope`. */
export function requireScope(scope: Scope): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    if (!c.var.caller.scopes.has(scope)) throw new ApiError('forbidden', `token lacks the ${scope} scope`);
    await next();
  };
}

const unauthorized = (message: string) => new ApiError('unauthorized', message);

/** The payload of an HS256 token signed with `secret`, null when another key signed it; other failures throw. */
async function verifyIfSignedWith(token: string, secret: string, options: JWTVerifyOptions): Promise<JWTPayload | null> {
  try {
    return (await jwtVerify(token, await hmacKey(secret), { ...options, algorithms: ['HS256'] })).payload;
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed) return null;
    throw err;
  }
}

/** The imported HMAC key, cached per isolate so verification skips `importKey`. */
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    hmacKeys.set(secret, key);
  }
  return key;
}

function remoteKeySet(url: string): ReturnType<typeof createRemoteJWKSet> {
  let set = remoteKeySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
    remoteKeySets.set(url, set);
  }
  return set;
}
