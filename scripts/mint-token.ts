import { SignJWT } from 'jose';

export const TENANT_SCOPES = 'flows:read flows:write secrets:write runs:read runs:write';

export interface MintOptions {
  secret: string;
  tenant: string;
  sub?: string;
  scope?: string;
  ttlSeconds?: number;
}

/** An HS256 development token with the contract's claims (`sub`, `tid`, `scope`, `exp`). */
export async function mintToken(options: MintOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ tid: options.tenant, scope: options.scope ?? TENANT_SCOPES })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub ?? 'dev-user')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3600))
    .sign(new TextEncoder().encode(options.secret));
}
