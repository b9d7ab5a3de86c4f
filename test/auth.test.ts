import { env, SELF } from 'cloudflare:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import { verifyToken } from '../src/http/auth';
import { ALL_SCOPES, callJson, token } from './helpers/api';

const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

async function expectUnauthorized(authorization: string | undefined) {
  const headers: Record<string, string> = authorization ? { authorization } : {};
  const res = await SELF.fetch('http://powerflows.test/v1/flows', { headers });
  expect(res.status).toBe(401);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('unauthorized');
  expect(JSON.stringify(body)).not.toMatch(/stack|at \w+ \(/);
}

describe('authentication: every bad token is 401 unauthorized', () => {
  it('accepts a valid token (the control case)', async () => {
    const res = await callJson('GET', '/v1/flows', { token: await token() });
    expect(res.status).toBe(200);
  });

  it('no Authorization header', () => expectUnauthorized(undefined));
  it('not a Bearer scheme', async () => expectUnauthorized(`Basic ${btoa('a:b')}`));
  it('garbage token', () => expectUnauthorized('Bearer not.a.jwt'));
  it('empty bearer', () => expectUnauthorized('Bearer '));

  it('alg: none (unsigned)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'u', tid: 'acme', scope: ALL_SCOPES, exp: now + 600 })}.`;
    await expectUnauthorized(`Bearer ${unsigned}`);
  });

  it('signed with the wrong key', async () => expectUnauthorized(`Bearer ${await token({ secret: 'x'.repeat(48) })}`));

  it('expired beyond the 30 s tolerance', async () => expectUnauthorized(`Bearer ${await token({ ttl: -120 })}`));

  it('expired within the 30 s tolerance is still accepted', async () => {
    const res = await callJson('GET', '/v1/flows', { token: await token({ ttl: -10 }) });
    expect(res.status).toBe(200);
  });

  it('not yet valid (nbf in the future)', async () => {
    const nbf = Math.floor(Date.now() / 1000) + 300;
    await expectUnauthorized(`Bearer ${await token({ claims: { nbf } })}`);
  });

  it('without exp', async () => {
    const tok = await new SignJWT({ tid: 'acme', scope: ALL_SCOPES })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .sign(new TextEncoder().encode(env.JWT_SECRET!));
    await expectUnauthorized(`Bearer ${tok}`);
  });

  it('without tid, or with an invalid tid', async () => {
    await expectUnauthorized(`Bearer ${await token({ claims: { tid: undefined } })}`);
    await expectUnauthorized(`Bearer ${await token({ tenant: 'Not_Valid' })}`);
    await expectUnauthorized(`Bearer ${await token({ tenant: 'a' })}`);
    await expectUnauthorized(`Bearer ${await token({ claims: { tid: 42 } })}`);
  });

  it('without sub', async () => {
    const now = Math.floor(Date.now() / 1000);
    const tok = await new SignJWT({ tid: 'acme', scope: ALL_SCOPES })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(env.JWT_SECRET!));
    await expectUnauthorized(`Bearer ${tok}`);
  });

  it('payload tampered after signing (tenant swapped)', async () => {
    const [header, payload, signature] = (await token({ tenant: 'acme' })).split('.');
    const claims = JSON.parse(atob(payload!.replace(/-/g, '+').replace(/_/g, '/')));
    const forged = `${header}.${b64url({ ...claims, tid: 'victim' })}.${signature}`;
    await expectUnauthorized(`Bearer ${forged}`);
  });

  it('a token larger than 8 KiB is refused before verification', async () =>
    expectUnauthorized(`Bearer ${await token({ claims: { pad: 'x'.repeat(9000) } })}`));
});

describe('issuer, audience and JWKS', () => {
  const base = { ...env };

  it('enforces JWT_ISSUER and JWT_AUDIENCE when configured', async () => {
    const configured = { ...base, JWT_ISSUER: 'https://id.example', JWT_AUDIENCE: 'powerflows' };
    const good = await token({ claims: { iss: 'https://id.example', aud: 'powerflows' } });
    await expect(verifyToken(good, configured)).resolves.toMatchObject({ tenantId: 'acme' });
    const wrongIss = await token({ claims: { iss: 'https://evil.example', aud: 'powerflows' } });
    await expect(verifyToken(wrongIss, configured)).rejects.toMatchObject({ code: 'unauthorized' });
    const wrongAud = await token({ claims: { iss: 'https://id.example', aud: 'other' } });
    await expect(verifyToken(wrongAud, configured)).rejects.toMatchObject({ code: 'unauthorized' });
    const none = await token();
    await expect(verifyToken(none, configured)).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('verifies ES256 tokens against the JWKS URL, and refuses HS256 signed with the public key', async () => {
    const jwksUrl = `http://127.0.0.1:${inject('fakeApiPort')}/jwks.json`;
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    await fetch(`http://127.0.0.1:${inject('fakeApiPort')}/__jwks`, { method: 'PUT', body: JSON.stringify({ keys: [jwk] }) });
    const jwksOnly = { ...base, JWT_SECRET: undefined, JWT_JWKS_URL: jwksUrl };

    const now = Math.floor(Date.now() / 1000);
    const good = await new SignJWT({ tid: 'acme', scope: 'flows:read' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('svc')
      .setExpirationTime(now + 600)
      .sign(privateKey);
    await expect(verifyToken(good, jwksOnly)).resolves.toMatchObject({ sub: 'svc', tenantId: 'acme' });

    // Key confusion: HS256 with the public key's bytes as the secret.
    const confused = await new SignJWT({ tid: 'acme', scope: 'flows:read' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject('svc')
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(JSON.stringify(jwk)));
    await expect(verifyToken(confused, jwksOnly)).rejects.toMatchObject({ code: 'unauthorized' });

    // An HS256 token is refused when only JWKS is configured, even if signed with the (old) secret.
    await expect(verifyToken(await token(), jwksOnly)).rejects.toMatchObject({ code: 'unauthorized' });
  });
});

describe('scopes', () => {
  const routes: Array<[string, string, string, unknown?]> = [
    ['GET', '/v1/flows', 'flows:read'],
    ['GET', '/v1/flows/flw_01JD3Q2V7X0000000000000000', 'flows:read'],
    ['POST', '/v1/flows', 'flows:write', {}],
    ['PUT', '/v1/flows/flw_01JD3Q2V7X0000000000000000', 'flows:write', {}],
    ['DELETE', '/v1/flows/flw_01JD3Q2V7X0000000000000000', 'flows:write'],
    ['GET', '/v1/audit', 'flows:read'],
  ];

  it.each(routes)('%s %s needs %s: 403 forbidden without it', async (method, path, scope, body) => {
    const others = ALL_SCOPES.split(' ')
      .filter((s) => s !== scope)
      .join(' ');
    const res = await callJson(method, path, { token: await token({ scope: others }), body });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
    expect(res.body.error.message).toContain(scope);
  });
});
