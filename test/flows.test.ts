import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, callJson, createFlow, flowBody, token } from './helpers/api';

let alice: string;
let bob: string;

beforeAll(async () => {
  alice = await token({ tenant: 'acme', sub: 'alice' });
  bob = await token({ tenant: 'globex', sub: 'bob' });
});

describe('flows CRUD', () => {
  it('creates version 1 with defaults and reads it back', async () => {
    const res = await callJson('POST', '/v1/flows', { token: alice, body: flowBody({ description: 'd' }) });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const flow = res.body;
    expect(flow).toMatchObject({ name: 'Email on upload', description: 'd', enabled: true, version: 1 });
    expect(flow.id).toMatch(/^flw_/);
    expect(flow.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(flow.hookUrl).toBeUndefined();
    const got = await callJson('GET', `/v1/flows/${flow.id}`, { token: alice });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(flow);
  });

  it('gives webhook flows an unguessable hookUrl that survives updates', async () => {
    const flow = await createFlow(alice, { trigger: { type: 'webhook' } });
    expect(flow.hookUrl).toMatch(/^\/v1\/hooks\/hook_[A-Za-z0-9_-]{32,}$/);
    const other = await createFlow(alice, { trigger: { type: 'webhook' } });
    expect(other.hookUrl).not.toBe(flow.hookUrl);
    const updated = await callJson('PUT', `/v1/flows/${flow.id}`, {
      token: alice,
      body: flowBody({ trigger: { type: 'webhook' }, name: 'renamed' }),
    });
    expect(updated.body.hookUrl).toBe(flow.hookUrl);
  });

  it('PUT replaces the definition as version + 1 and keeps every version', async () => {
    const flow = await createFlow(alice);
    const v2 = await callJson('PUT', `/v1/flows/${flow.id}`, {
      token: alice,
      body: flowBody({ name: 'v2', enabled: false }),
    });
    expect(v2.status).toBe(200);
    expect(v2.body).toMatchObject({ id: flow.id, name: 'v2', enabled: false, version: 2, createdAt: flow.createdAt });
    const versions = await env.DB.prepare('SELECT version, name FROM flow_versions WHERE flow_id = ? ORDER BY version').bind(flow.id).all();
    expect(versions.results).toEqual([
      { version: 1, name: 'Email on upload' },
      { version: 2, name: 'v2' },
    ]);
  });

  it('If-Match: the current version succeeds, a stale one is 409 and changes nothing', async () => {
    const flow = await createFlow(alice);
    const ok = await callJson('PUT', `/v1/flows/${flow.id}`, {
      token: alice,
      body: flowBody({ name: 'second' }),
      headers: { 'if-match': '1' },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');
    for (const stale of ['1', '"1"', 'W/"1"', 'garbage']) {
      const res = await callJson('PUT', `/v1/flows/${flow.id}`, {
        token: alice,
        body: flowBody({ name: 'lost update' }),
        headers: { 'if-match': stale },
      });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('conflict');
    }
    const quoted = await callJson('PUT', `/v1/flows/${flow.id}`, {
      token: alice,
      body: flowBody({ name: 'third' }),
      headers: { 'if-match': '"2"' },
    });
    expect(quoted.body.version).toBe(3);
    const now = await callJson('GET', `/v1/flows/${flow.id}`, { token: alice });
    expect(now.body).toMatchObject({ name: 'third', version: 3 });
  });

  it('concurrent PUTs without If-Match each get a distinct version, none lost', async () => {
    const flow = await createFlow(alice);
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => callJson('PUT', `/v1/flows/${flow.id}`, { token: alice, body: flowBody({ name: `n${n}` }) })),
    );
    const okVersions = results.filter((r) => r.status === 200).map((r) => r.body.version);
    expect(new Set(okVersions).size).toBe(okVersions.length);
    for (const r of results) expect([200, 409]).toContain(r.status);
    const final = await callJson('GET', `/v1/flows/${flow.id}`, { token: alice });
    expect(final.body.version).toBe(1 + okVersions.length);
    const versions = await env.DB.prepare('SELECT count(*) AS n FROM flow_versions WHERE flow_id = ?').bind(flow.id).first();
    expect(versions?.n).toBe(1 + okVersions.length);
  });

  it('DELETE answers 204, then the flow is gone (404) along with its versions', async () => {
    const flow = await createFlow(alice);
    const res = await call('DELETE', `/v1/flows/${flow.id}`, { token: alice });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect((await callJson('GET', `/v1/flows/${flow.id}`, { token: alice })).status).toBe(404);
    expect((await call('DELETE', `/v1/flows/${flow.id}`, { token: alice })).status).toBe(404);
    const versions = await env.DB.prepare('SELECT count(*) AS n FROM flow_versions WHERE flow_id = ?').bind(flow.id).first();
    expect(versions?.n).toBe(0);
  });
});

describe('pagination', () => {
  it('pages newest first through every flow with no duplicate and no gap', async () => {
    const tok = await token({ tenant: 'pager' });
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await createFlow(tok, { name: `f${i}` })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await callJson('GET', `/v1/flows${query}`, { token: tok });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((f: { id: string }) => f.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...created].reverse());
  });

  it('defaults to 20 and rejects limits outside 1–100 and foreign cursors with 422', async () => {
    const tok = await token({ tenant: 'pager2' });
    for (let i = 0; i < 21; i++) await createFlow(tok);
    const res = await callJson('GET', '/v1/flows', { token: tok });
    expect(res.body.items).toHaveLength(20);
    expect(res.body.nextCursor).toEqual(expect.any(String));
    for (const bad of ['limit=0', 'limit=101', 'limit=abc', 'cursor=run_x', 'cursor=%27%20OR%201%3D1']) {
      const r = await callJson('GET', `/v1/flows?${bad}`, { token: tok });
      expect(r.status, bad).toBe(422);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.details[0].path).toBe(bad.split('=')[0]);
    }
  });
});

describe('tenant isolation', () => {
  it("another tenant gets 404 on every route of a tenant's flow, and the flow is unchanged", async () => {
    const flow = await createFlow(alice, { name: 'private' });
    const attempts = [
      callJson('GET', `/v1/flows/${flow.id}`, { token: bob }),
      callJson('PUT', `/v1/flows/${flow.id}`, { token: bob, body: flowBody({ name: 'pwned' }) }),
      callJson('PUT', `/v1/flows/${flow.id}`, { token: bob, body: flowBody({ name: 'pwned' }), headers: { 'if-match': '1' } }),
      callJson('DELETE', `/v1/flows/${flow.id}`, { token: bob }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    const list = await callJson('GET', '/v1/flows?limit=100', { token: bob });
    expect(list.body.items.map((f: { id: string }) => f.id)).not.toContain(flow.id);
    const mine = await callJson('GET', `/v1/flows/${flow.id}`, { token: alice });
    expect(mine.body).toEqual(flow);
  });

  it('a missing flow and a foreign flow answer identically', async () => {
    const flow = await createFlow(alice);
    const foreign = await callJson('GET', `/v1/flows/${flow.id}`, { token: bob });
    const missing = await callJson('GET', '/v1/flows/flw_01JD3Q2V7X0000000000000000', { token: bob });
    expect(foreign).toEqual({ ...missing, headers: foreign.headers });
    expect(foreign.body).toEqual(missing.body);
  });
});

describe('audit', () => {
  it('records flow create, update and delete with the actor, newest first, for the tenant only', async () => {
    const tok = await token({ tenant: 'audited', sub: 'carol' });
    const flow = await createFlow(tok);
    await callJson('PUT', `/v1/flows/${flow.id}`, { token: tok, body: flowBody() });
    await callJson('PUT', `/v1/flows/${flow.id}`, { token: tok, body: flowBody(), headers: { 'if-match': '1' } });
    await call('DELETE', `/v1/flows/${flow.id}`, { token: tok });
    const res = await callJson('GET', '/v1/audit', { token: tok });
    expect(res.status).toBe(200);
    expect(res.body.items.map((e: { action: string }) => e.action)).toEqual(['flow.delete', 'flow.update', 'flow.create']);
    for (const event of res.body.items) {
      expect(event).toMatchObject({ actor: 'carol', target: `flows/${flow.id}` });
      expect(Object.keys(event).sort()).toEqual(['action', 'actor', 'id', 'target', 'ts']);
    }
    const other = await callJson('GET', '/v1/audit', { token: bob });
    expect(other.body.items.some((e: { target: string }) => e.target === `flows/${flow.id}`)).toBe(false);
  });
});
