import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { CryptoError } from '../src/crypto/envelope';
import { TEST_ADMIN_JWT_SECRET } from './bindings';
import { openFlowSecrets } from '../src/crypto/vault';
import { tenantScope } from '../src/db/scope';
import { call, callJson, createFlow, token } from './helpers/api';

const SECRET = 'pm-live-7f3a9c2e-SECRET-VALUE';
let alice: string;
let bob: string;

beforeAll(async () => {
  alice = await token({ tenant: 'acme', sub: 'alice' });
  bob = await token({ tenant: 'globex', sub: 'bob' });
});

const forms = (value: string) => [value, btoa(value), btoa(value).replace(/=+$/, ''), encodeURIComponent(value)];

function expectNoValue(text: string, value = SECRET) {
  for (const form of forms(value)) expect(text).not.toContain(form);
}

async function dumpDatabase(): Promise<string> {
  const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 4) != '_cf_'").all<{
    name: string;
  }>();
  let dump = '';
  for (const { name } of tables.results) {
    const rows = await env.DB.prepare(`SELECT * FROM "${name}"`).all();
    dump += JSON.stringify(rows.results);
  }
  return dump;
}

describe('secrets API', () => {
  it('PUT creates (201) then replaces (200); no response ever carries the value', async () => {
    const flow = await createFlow(alice);
    const path = `/v1/flows/${flow.id}/secrets/postmark_api_key`;
    const created = await call('PUT', path, { token: alice, body: { value: SECRET, allowedHosts: ['API.postmarkapp.com'] } });
    expect(created.status).toBe(201);
    const createdText = await created.text();
    expectNoValue(createdText);
    expect(JSON.parse(createdText)).toEqual({
      name: 'postmark_api_key',
      allowedHosts: ['api.postmarkapp.com'],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });

    const replaced = await call('PUT', path, { token: alice, body: { value: `${SECRET}-2` } });
    expect(replaced.status).toBe(200);
    const replacedBody = JSON.parse(await replaced.text());
    expect(replacedBody.allowedHosts).toEqual([]);
    expect(replacedBody.createdAt).toBe(JSON.parse(createdText).createdAt);

    const list = await call('GET', `/v1/flows/${flow.id}/secrets`, { token: alice });
    expect(list.status).toBe(200);
    const listText = await list.text();
    expectNoValue(listText);
    expectNoValue(listText, `${SECRET}-2`);
    expect(JSON.parse(listText).items.map((s: { name: string }) => s.name)).toEqual(['postmark_api_key']);

    const flowRes = await call('GET', `/v1/flows/${flow.id}`, { token: alice });
    expectNoValue(await flowRes.text(), `${SECRET}-2`);
    const audit = await call('GET', '/v1/audit', { token: alice });
    const auditText = await audit.text();
    expectNoValue(auditText);
    expectNoValue(auditText, `${SECRET}-2`);
    expect(auditText).not.toMatch(new RegExp(`"${SECRET.length}"|length`));

    const deleted = await call('DELETE', path, { token: alice });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect((await call('DELETE', path, { token: alice })).status).toBe(404);
    expect((await callJson('GET', `/v1/flows/${flow.id}/secrets`, { token: alice })).body.items).toEqual([]);
  });

  it('the plaintext never reaches D1: no table holds the value or its encodings', async () => {
    const flow = await createFlow(alice);
    const value = `raw-row-check-${crypto.randomUUID()}`;
    await call('PUT', `/v1/flows/${flow.id}/secrets/api_key`, { token: alice, body: { value } });
    await call('PUT', `/v1/flows/${flow.id}/secrets/api_key`, { token: alice, body: { value } });
    const dump = await dumpDatabase();
    expect(dump).toContain('api_key');
    expectNoValue(dump, value);
  });

  it('audits create, replace and delete with the actor and the name only', async () => {
    const tok = await token({ tenant: 'audit-secrets', sub: 'dana' });
    const flow = await createFlow(tok);
    const path = `/v1/flows/${flow.id}/secrets/smtp_password`;
    await call('PUT', path, { token: tok, body: { value: SECRET } });
    await call('PUT', path, { token: tok, body: { value: SECRET } });
    await call('DELETE', path, { token: tok });
    await call('DELETE', path, { token: tok });
    const audit = await callJson('GET', '/v1/audit', { token: tok });
    const secretEvents = audit.body.items.filter((e: { action: string }) => e.action.startsWith('secret.'));
    expect(secretEvents.map((e: { action: string }) => e.action)).toEqual(['secret.delete', 'secret.replace', 'secret.create']);
    for (const e of secretEvents) expect(e).toMatchObject({ actor: 'dana', target: `flows/${flow.id}/secrets/smtp_password` });
  });

  it('validates names, value sizes, hosts and the 100-per-flow limit with 422', async () => {
    const flow = await createFlow(alice);
    const put = (name: string, body: unknown) => callJson('PUT', `/v1/flows/${flow.id}/secrets/${name}`, { token: alice, body });
    const cases: Array<[string, unknown, string]> = [
      ['9lives', { value: 'long-enough' }, 'name'],
      ['has-dash', { value: 'long-enough' }, 'name'],
      ['x'.repeat(65), { value: 'long-enough' }, 'name'],
      ['ok', { value: 'abc' }, 'value'],
      ['ok', { value: 'abcdefg' }, 'value'],
      ['ok', { value: 'é'.repeat(3) }, 'value'],
      ['ok', { value: 'x'.repeat(64 * 1024 + 1) }, 'value'],
      ['ok', { value: 42 }, 'value'],
      ['ok', {}, 'value'],
      ['ok', { value: 'long-enough', allowedHosts: ['https://api.postmarkapp.com/'] }, 'allowedHosts[0]'],
      ['ok', { value: 'long-enough', allowedHosts: 'api.postmarkapp.com' }, 'allowedHosts'],
    ];
    for (const [name, body, path] of cases) {
      const res = await put(name, body);
      expect(res.status, `${name} ${JSON.stringify(body).slice(0, 80)}`).toBe(422);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect((await put('exactly_64k', { value: 'x'.repeat(64 * 1024) })).status).toBe(201);
    expect((await put('eight', { value: 'abcdefgh' })).status).toBe(201);
    expect((await put('four_multibyte', { value: 'éééé' })).status).toBe(201); // 8 bytes in UTF-8

    for (let i = 0; i < 97; i++) expect((await put(`s${i}`, { value: 'long-enough' })).status).toBe(201);
    const over = await put('one_too_many', { value: 'long-enough' });
    expect(over.status).toBe(422);
    expect(over.body.error.details[0]).toMatchObject({ path: 'name', message: expect.stringMatching(/100/) });
    expect((await put('s0', { value: 'replacing-is-fine' })).status).toBe(200);
  });

  it('needs secrets:write to change and flows:read to list', async () => {
    const flow = await createFlow(alice);
    const reader = await token({ tenant: 'acme', scope: 'flows:read flows:write' });
    const put = await callJson('PUT', `/v1/flows/${flow.id}/secrets/k`, { token: reader, body: { value: SECRET } });
    expect(put.status).toBe(403);
    const del = await callJson('DELETE', `/v1/flows/${flow.id}/secrets/k`, { token: reader });
    expect(del.status).toBe(403);
    const writer = await token({ tenant: 'acme', scope: 'secrets:write' });
    expect((await callJson('PUT', `/v1/flows/${flow.id}/secrets/k`, { token: writer, body: { value: SECRET } })).status).toBe(201);
    expect((await callJson('GET', `/v1/flows/${flow.id}/secrets`, { token: writer })).status).toBe(403);
    expect((await callJson('GET', `/v1/flows/${flow.id}/secrets`, { token: reader })).status).toBe(200);
  });

  it("another tenant's flow is 404 on every secrets route, and nothing changes", async () => {
    const flow = await createFlow(alice);
    await call('PUT', `/v1/flows/${flow.id}/secrets/api_key`, { token: alice, body: { value: SECRET } });
    const attempts = await Promise.all([
      callJson('PUT', `/v1/flows/${flow.id}/secrets/api_key`, { token: bob, body: { value: 'attacker-value' } }),
      callJson('PUT', `/v1/flows/${flow.id}/secrets/new_one`, { token: bob, body: { value: 'attacker-value' } }),
      callJson('GET', `/v1/flows/${flow.id}/secrets`, { token: bob }),
      callJson('DELETE', `/v1/flows/${flow.id}/secrets/api_key`, { token: bob }),
    ]);
    for (const res of attempts) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    const opened = await openFlowSecrets(
      env,
      tenantScope(env, { tenantId: 'acme', sub: 'test' }),
      flow.id,
      new Set(['api_key', 'new_one']),
    );
    expect(opened.values).toEqual({ api_key: SECRET });
  });
});

describe('openFlowSecrets: the one decrypting function', () => {
  const scopeOf = (tenantId: string) => tenantScope(env, { tenantId, sub: 'run' });

  it('opens only the requested names, with allowed hosts and a masker', async () => {
    const flow = await createFlow(alice);
    await call('PUT', `/v1/flows/${flow.id}/secrets/a_key`, { token: alice, body: { value: 'value-of-a', allowedHosts: ['a.example'] } });
    await call('PUT', `/v1/flows/${flow.id}/secrets/b_key`, { token: alice, body: { value: 'value-of-b' } });
    const opened = await openFlowSecrets(env, scopeOf('acme'), flow.id, new Set(['a_key', 'missing']));
    expect(opened.values).toEqual({ a_key: 'value-of-a' });
    expect(opened.allowedHosts).toEqual({ a_key: ['a.example'] });
    expect(opened.masker.mask('x value-of-a y value-of-b')).toBe('x *** y value-of-b');
  });

  it("another flow of the same tenant cannot read a flow's secret, even under the same name", async () => {
    const flowA = await createFlow(alice);
    const flowB = await createFlow(alice);
    await call('PUT', `/v1/flows/${flowA.id}/secrets/api_key`, { token: alice, body: { value: SECRET } });
    const fromB = await openFlowSecrets(env, scopeOf('acme'), flowB.id, new Set(['api_key']));
    expect(fromB.values).toEqual({});
    const fromOtherTenant = await openFlowSecrets(env, scopeOf('globex'), flowA.id, new Set(['api_key']));
    expect(fromOtherTenant.values).toEqual({});
  });

  it('a sealed row copied into another flow (or renamed) fails to decrypt: bound by cryptography, not a WHERE clause', async () => {
    const flowA = await createFlow(alice);
    const flowB = await createFlow(alice);
    await call('PUT', `/v1/flows/${flowA.id}/secrets/api_key`, { token: alice, body: { value: SECRET } });
    await env.DB.prepare(
      `INSERT INTO secrets (flow_id, name, tenant_id, sealed, allowed_hosts, created_at, updated_at)
       SELECT ?, name, tenant_id, sealed, allowed_hosts, created_at, updated_at FROM secrets WHERE flow_id = ?`,
    )
      .bind(flowB.id, flowA.id)
      .run();
    await expect(openFlowSecrets(env, scopeOf('acme'), flowB.id, new Set(['api_key']))).rejects.toThrow(CryptoError);

    await env.DB.prepare("UPDATE secrets SET name = 'renamed' WHERE flow_id = ?").bind(flowA.id).run();
    await expect(openFlowSecrets(env, scopeOf('acme'), flowA.id, new Set(['renamed']))).rejects.toThrow(CryptoError);
  });

  it('a wrapped key copied from one flow to another fails to unwrap', async () => {
    const flowA = await createFlow(alice);
    const flowB = await createFlow(alice);
    await call('PUT', `/v1/flows/${flowB.id}/secrets/api_key`, { token: alice, body: { value: SECRET } });
    await env.DB.prepare('UPDATE flow_keys SET wrapped_key = (SELECT wrapped_key FROM flow_keys WHERE flow_id = ?) WHERE flow_id = ?')
      .bind(flowA.id, flowB.id)
      .run();
    await expect(openFlowSecrets(env, scopeOf('acme'), flowB.id, new Set(['api_key']))).rejects.toThrow(/failed authentication/);
  });

  it('deleting a flow shreds its key, secrets and variables in one batch', async () => {
    const flow = await createFlow(alice);
    await call('PUT', `/v1/flows/${flow.id}/secrets/api_key`, { token: alice, body: { value: SECRET } });
    await call('PUT', `/v1/flows/${flow.id}/variables/region`, { token: alice, body: { value: 'eu' } });
    expect((await call('DELETE', `/v1/flows/${flow.id}`, { token: alice })).status).toBe(204);
    for (const table of ['flow_keys', 'secrets', 'variables', 'flow_versions', 'flows']) {
      const column = table === 'flows' ? 'id' : 'flow_id';
      const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ?`).bind(flow.id).first();
      expect(row?.n, table).toBe(0);
    }
  });
});

describe('variables API', () => {
  it('PUT creates (201) and replaces (200), GET lists values, DELETE removes', async () => {
    const flow = await createFlow(alice);
    const path = `/v1/flows/${flow.id}/variables/notify_to`;
    const created = await callJson('PUT', path, { token: alice, body: { value: 'ops@example.com' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name: 'notify_to', value: 'ops@example.com', updatedAt: expect.any(String) });
    const replaced = await callJson('PUT', path, { token: alice, body: { value: 'team@example.com' } });
    expect(replaced.status).toBe(200);
    const list = await callJson('GET', `/v1/flows/${flow.id}/variables`, { token: alice });
    expect(list.body.items).toEqual([{ name: 'notify_to', value: 'team@example.com', updatedAt: replaced.body.updatedAt }]);
    expect((await call('DELETE', path, { token: alice })).status).toBe(204);
    expect((await callJson('DELETE', path, { token: alice })).status).toBe(404);
    const audit = await callJson('GET', '/v1/audit?limit=100', { token: alice });
    const actions = audit.body.items
      .filter((e: { target: string }) => e.target === `flows/${flow.id}/variables/notify_to`)
      .map((e: { action: string }) => e.action);
    expect(actions).toEqual(['variable.delete', 'variable.replace', 'variable.create']);
  });

  it('validates and scopes like the rest', async () => {
    const flow = await createFlow(alice);
    const bad = await callJson('PUT', `/v1/flows/${flow.id}/variables/bad-name`, { token: alice, body: { value: 'x' } });
    expect(bad.status).toBe(422);
    const badValue = await callJson('PUT', `/v1/flows/${flow.id}/variables/ok`, { token: alice, body: { value: 1 } });
    expect(badValue.body.error.details[0].path).toBe('value');
    const readOnly = await token({ tenant: 'acme', scope: 'flows:read' });
    expect((await callJson('PUT', `/v1/flows/${flow.id}/variables/ok`, { token: readOnly, body: { value: 'x' } })).status).toBe(403);
    for (const res of await Promise.all([
      callJson('PUT', `/v1/flows/${flow.id}/variables/ok`, { token: bob, body: { value: 'x' } }),
      callJson('GET', `/v1/flows/${flow.id}/variables`, { token: bob }),
      callJson('DELETE', `/v1/flows/${flow.id}/variables/ok`, { token: bob }),
    ])) {
      expect(res.status).toBe(404);
    }
  });
});

describe('POST /v1/admin/keys/rewrap', () => {
  it('needs admin:keys', async () => {
    const res = await callJson('POST', '/v1/admin/keys/rewrap', { token: alice });
    expect(res.status).toBe(403);
  });

  it('honours admin:keys only on operator tokens (signed with ADMIN_JWT_SECRET), and those carry nothing else', async () => {
    const tenantClaim = await token({ tenant: 'platform', sub: 'ops', scope: 'admin:keys flows:read' });
    const refused = await callJson('POST', '/v1/admin/keys/rewrap', { token: tenantClaim });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    const operator = await token({ tenant: 'platform', sub: 'ops', scope: 'admin:keys flows:read', secret: TEST_ADMIN_JWT_SECRET });
    expect((await callJson('GET', '/v1/flows', { token: operator })).status).toBe(403);
  });

  it('answers what it did (nothing to do without a previous key)', async () => {
    const operator = await token({ tenant: 'platform', sub: 'ops', scope: 'admin:keys', secret: TEST_ADMIN_JWT_SECRET });
    const res = await callJson('POST', '/v1/admin/keys/rewrap', { token: operator });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ rewrapped: 0, remaining: 0, failed: 0, stranded: 0 });
    const audit = await callJson('GET', '/v1/audit', { token: await token({ tenant: 'platform', scope: 'flows:read' }) });
    expect(audit.body.items[0].action).toBe('keys.rewrap');
  });
});
