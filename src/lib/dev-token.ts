import { SignJWT } from 'jose';

/** The five tenant scopes a development token carries by default. */
export const TENANT_SCOPES = 'flows:read flows:write secrets:write runs:read runs:write';

export interface MintOptions {
  secret: string;
  tenant: string;
  sub?: string;
  scope?: string;
  /** Seconds from now (negative: already expired). */
  ttlSeconds?: number;
  /** Extra claims, or overrides of the ones above. */
  claims?: Record<string, unknown>;
}

/**
 * An HS256 development token with the contract's claims (`sub`, `tid`,
 * `scope`, `exp`), signed with `JWT_SECRET`: for `npm run token`, `npm
 * start`, the development-only `/dev/token` route and the tests.
 */
export async function mintToken(options: MintOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ tid: options.tenant, scope: options.scope ?? TENANT_SCOPES, ...options.claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub ?? 'dev-user')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3600))
    .sign(new TextEncoder().encode(options.secret));
}
