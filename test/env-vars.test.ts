/**
 * Tenant environment variables (contract 1.1): the `/v1/env` routes, their
 * scopes, limits, tenant isolation and audit, and `{{ENV.<name>}}` in runs:
 * read through the executors' warm cache, invalidated on every change,
 * pinned by a run at its start.
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { render, TemplateError, type TemplateContext } from '../src/flows/templates';
import { INVALIDATE_BATCH } from '../src/routes/env';
import type { Run } from '../src/runs/types';
import { executorStub, shardCount } from '../src/runs/executors';
import { newRunId } from '../src/runs/run-ids';
import { call, callJson, createFlow, flowBody, token } from './helpers/api';
import { allEvents, executorObject, fakeUrl, received, runBlocks, runToEnd, setSecret, stepOf, uniquePath, until } from './helpers/runs';

let alice: string;
let bob: string;
beforeAll(async () => {
  alice = await token({ tenant: 'env-acme', sub: 'alice' });
  bob = await token({ tenant: 'env-globex', sub: 'bob' });
});

const putEnv = (tok: string, name: string, value: unknown) => callJson('PUT', `/v1/env/${name}`, { token: tok, body: { value } });
const listEnv = async (tok: string) => (await callJson('GET', '/v1/env', { token: tok })).body.items as Array<Record<string, string>>;

async function setEnv(tok: string, name: string, value: string) {
  const res = await putEnv(tok, name, value);
  if (res.status >= 300) throw new Error(`setEnv: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A fresh tenant with every scope, so limits and lists start empty. */
const freshTenant = (label: string) => token({ tenant: `env-${label}-${crypto.randomUUID().slice(0, 8)}` });

const SAY_REGION = [{ id: 'say', type: 'log', params: { message: 'region={{ENV.region}}' } }];

/** Runs the flow on one given executor shard (to know which warm cache it reads). */
async function runOnShard(tenantId: string, flowId: string, shard: number): Promise<Run> {
  const result = await executorStub(env, flowId, shard).start({
    runId: newRunId(flowId, shard),
    tenantId,
    actor: 'env-test',
    trigger: { type: 'manual', payload: {} },
    waitMs: 30_000,
  });
  if (result.outcome !== 'started' || !['succeeded', 'failed'].includes(result.run.status)) {
    throw new Error(`run did not end: ${JSON.stringify(result)}`);
  }
  return result.run;
}

/** What `say` logged on each of the flow's shards. */
async function messagesOnEveryShard(tenantId: string, flowId: string): Promise<unknown[]> {
  const runs = await Promise.all(Array.from({ length: shardCount(env) }, (_, shard) => runOnShard(tenantId, flowId, shard)));
  return runs.map((run) => stepOf(run as { steps: Array<{ blockId: string }> }, 'say').output?.message);
}

describe('the /v1/env routes', () => {
  it('PUT creates (201) then replaces (200), GET lists by name, DELETE is 204 then 404', async () => {
    const tok = await freshTenant('crud');
    const created = await putEnv(tok, 'region', 'eu-west');
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name: 'region', value: 'eu-west', updatedAt: expect.any(String) });
    expect(Number.isNaN(Date.parse(created.body.updatedAt))).toBe(false);

    const replaced = await putEnv(tok, 'region', 'us-east');
    expect(replaced.status).toBe(200);
    expect(replaced.body).toEqual({ name: 'region', value: 'us-east', updatedAt: expect.any(String) });

    await setEnv(tok, 'bucket', 'media');
    await setEnv(tok, 'zone', 'z1');
    const list = await callJson('GET', '/v1/env', { token: tok });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      items: [
        { name: 'bucket', value: 'media', updatedAt: expect.any(String) },
        { name: 'region', value: 'us-east', updatedAt: replaced.body.updatedAt },
        { name: 'zone', value: 'z1', updatedAt: expect.any(String) },
      ],
    });

    expect((await call('DELETE', '/v1/env/region', { token: tok })).status).toBe(204);
    const again = await callJson('DELETE', '/v1/env/region', { token: tok });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('not_found');
    expect((await callJson('DELETE', '/v1/env/never_set', { token: tok })).status).toBe(404);
    expect((await listEnv(tok)).map((item) => item.name)).toEqual(['bucket', 'zone']);
  });

  it('reading needs flows:read, changing needs flows:write', async () => {
    const tenant = `env-scopes-${crypto.randomUUID().slice(0, 8)}`;
    const writer = await token({ tenant });
    await setEnv(writer, 'region', 'eu-west');
    const reader = await token({ tenant, scope: 'flows:read' });
    const runner = await token({ tenant, scope: 'runs:read runs:write secrets:write' });

    expect((await callJson('GET', '/v1/env', { token: reader })).status).toBe(200);
    for (const res of [
      await putEnv(reader, 'region', 'changed'),
      await putEnv(reader, 'other', 'new'),
      await callJson('DELETE', '/v1/env/region', { token: reader }),
      await callJson('GET', '/v1/env', { token: runner }),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    const writeOnly = await token({ tenant, scope: 'flows:write' });
    expect((await callJson('GET', '/v1/env', { token: writeOnly })).status).toBe(403);
    expect((await putEnv(writeOnly, 'other', 'new')).status).toBe(201);
    expect((await callJson('GET', '/v1/env')).status).toBe(401);
    expect(await listEnv(writer)).toEqual([
      { name: 'other', value: 'new', updatedAt: expect.any(String) },
      { name: 'region', value: 'eu-west', updatedAt: expect.any(String) },
    ]);
  });

  it('keeps tenants apart: another tenant cannot read, change or delete them, nor render them in its flows', async () => {
    await setEnv(alice, 'shared_name', 'alice-value-1');
    expect(await listEnv(bob)).toEqual([]);
    expect((await callJson('DELETE', '/v1/env/shared_name', { token: bob })).status).toBe(404);

    const { run } = await runBlocks(bob, [{ id: 'say', type: 'log', params: { message: 'got={{ENV.shared_name}}' } }]);
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'say').error).toMatch(/environment variable "shared_name" is not set/);
    expect(JSON.stringify(await allEvents(bob, run.id))).not.toContain('alice-value-1');

    // Bob's own variable of the same name is his alone.
    expect((await putEnv(bob, 'shared_name', 'bob-value-2')).status).toBe(201);
    expect(await listEnv(alice)).toEqual([{ name: 'shared_name', value: 'alice-value-1', updatedAt: expect.any(String) }]);
    expect(stepOf((await runToEnd(bob, run.flowId)).run, 'say').output.message).toBe('got=bob-value-2');
    expect((await call('DELETE', '/v1/env/shared_name', { token: bob })).status).toBe(204);
    expect(await listEnv(alice)).toHaveLength(1);
  });

  it('refuses a bad name (422), a value over 8 KiB (422), a non-string value (422) and malformed JSON (400)', async () => {
    const tok = await freshTenant('validate');
    for (const name of ['bad-name', '1st', `a${'b'.repeat(64)}`, 'caf%C3%A9']) {
      const res = await putEnv(tok, name, 'x');
      expect(res.status, name).toBe(422);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details[0].path).toBe('name');
    }
    expect((await callJson('DELETE', '/v1/env/bad-name', { token: tok })).status).toBe(422);
    expect((await putEnv(tok, `a${'b'.repeat(63)}`, 'x')).status).toBe(201); // 64 characters: fine

    expect((await putEnv(tok, 'exactly', 'x'.repeat(8192))).status).toBe(201);
    const tooLong = await putEnv(tok, 'too_long', 'x'.repeat(8193));
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.error.details[0]).toEqual({ path: 'value', message: expect.stringContaining('8192 bytes') });
    // Bytes, not characters: 4097 two-byte characters are 8194 bytes.
    expect((await putEnv(tok, 'too_long', 'é'.repeat(4097))).status).toBe(422);
    expect((await putEnv(tok, 'multibyte', 'é'.repeat(4096))).status).toBe(201);

    for (const body of [{ value: 1 }, { value: null }, {}]) {
      const res = await callJson('PUT', '/v1/env/typed', { token: tok, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.details[0].path).toBe('value');
    }
    const malformed = await callJson('PUT', '/v1/env/region', {
      token: tok,
      rawBody: '{"value": "eu',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');
    expect((await listEnv(tok)).map((item) => item.name).sort()).toEqual([`a${'b'.repeat(63)}`, 'exactly', 'multibyte']);
  });

  it('allows at most 100 a tenant: the 101st name is a 422 with a detail, replacing one is still fine', async () => {
    const tok = await freshTenant('limit');
    for (let i = 0; i < 100; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => setEnv(tok, `v${i + j}`, `value ${i + j}`)));
    }
    expect(await listEnv(tok)).toHaveLength(100);
    const over = await putEnv(tok, 'one_more', 'x');
    expect(over.status).toBe(422);
    expect(over.body.error.code).toBe('validation_failed');
    expect(over.body.error.details).toEqual([{ path: 'name', message: expect.stringContaining('at most 100') }]);
    expect((await putEnv(tok, 'v7', 'replaced')).status).toBe(200);
    expect(await listEnv(tok)).toHaveLength(100);
    expect((await call('DELETE', '/v1/env/v0', { token: tok })).status).toBe(204);
    expect((await putEnv(tok, 'one_more', 'x')).status).toBe(201);
  });

  it('records create, replace and delete in the audit log, never the value', async () => {
    const tenant = `env-audit-${crypto.randomUUID().slice(0, 8)}`;
    const tok = await token({ tenant, sub: 'carol' });
    await setEnv(tok, 'api_base', 'https://audit-value-1.example');
    await setEnv(tok, 'api_base', 'https://audit-value-2.example');
    expect((await call('DELETE', '/v1/env/api_base', { token: tok })).status).toBe(204);
    expect((await call('DELETE', '/v1/env/api_base', { token: tok })).status).toBe(404); // nothing deleted: not recorded
    await putEnv(tok, 'bad-name', 'x'); // refused: not recorded

    const audit = await call('GET', '/v1/audit?limit=100', { token: await token({ tenant, scope: 'flows:read' }) });
    expect(audit.status).toBe(200);
    const text = await audit.text();
    expect(text).not.toContain('audit-value');
    const items = (JSON.parse(text) as { items: Array<Record<string, string>> }).items;
    expect(items.map(({ actor, action, target }) => ({ actor, action, target }))).toEqual([
      { actor: 'carol', action: 'env.delete', target: 'env/api_base' },
      { actor: 'carol', action: 'env.replace', target: 'env/api_base' },
      { actor: 'carol', action: 'env.create', target: 'env/api_base' },
    ]);
  });

  it('are documented in /openapi.json under Environment', async () => {
    const doc = (await callJson('GET', '/openapi.json')).body;
    expect(doc.paths['/v1/env'].get.tags).toEqual(['Environment']);
    expect(Object.keys(doc.paths['/v1/env/{name}']).sort()).toEqual(['delete', 'put']);
    expect(doc.paths['/v1/env/{name}'].put.responses['201']).toBeDefined();
    expect(doc.paths['/v1/env/{name}'].put.responses['422']).toBeDefined();
    expect(doc.paths['/v1/env/{name}'].put.security).toEqual([{ bearerAuth: [] }]);
  });
});

describe('{{ENV.<name>}} in templates', () => {
  const context: TemplateContext = {
    trigger: {},
    steps: {},
    variables: { region: 'flow-variable' },
    env: { region: 'eu-west', nested: '{{VARIABLES.region}}' },
    secrets: {},
    run: { id: 'run_1' },
    flow: { id: 'flw_1', name: 'Flow' },
  };

  it('renders own values only; a missing one fails naming it', () => {
    expect(render('{{ENV.region}}/{{ ENV.region }}', context)).toBe('eu-west/eu-west');
    expect(render('{{ENV.nested}}', context)).toBe('{{VARIABLES.region}}');
    expect(() => render('x {{ENV.zone}}', context)).toThrow(new TemplateError('environment variable "zone" is not set'));
    for (const inherited of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(() => render(`{{ENV.${inherited}}}`, context), inherited).toThrow(/environment variable/);
    }
  });

  it('is checked when a flow is saved: ENV.<name> and nothing else', async () => {
    for (const message of ['{{ENV}}', '{{ENV.a.b}}', '{{ENV.region[0]}}', '{{env.region}}']) {
      const res = await callJson('POST', '/v1/flows', {
        token: alice,
        body: flowBody({ blocks: [{ id: 'say', type: 'log', params: { message } }] }),
      });
      expect(res.status, message).toBe(422);
      expect(JSON.stringify(res.body.error.details), message).toContain('blocks[0].params.message');
    }
    expect((await createFlow(alice, { blocks: SAY_REGION })).version).toBe(1);
  });
});

describe('{{ENV.<name>}} in runs', () => {
  it('a missing one fails the step naming it; set, changed and deleted, a warm flow sees each change at once', async () => {
    const tenant = `env-runs-${crypto.randomUUID().slice(0, 8)}`;
    const tok = await token({ tenant });
    const flow = await createFlow(tok, { blocks: SAY_REGION });

    const missing = (await runToEnd(tok, flow.id)).run;
    expect(missing.status).toBe('failed');
    expect(stepOf(missing, 'say').error).toMatch(/environment variable "region" is not set/);

    await setEnv(tok, 'region', 'eu-west');
    expect(await messagesOnEveryShard(tenant, flow.id)).toEqual(Array(shardCount(env)).fill('region=eu-west'));
    // Every shard is warm now: the same answer again, without reading D1.
    const loads = (await (await executorStub(env, flow.id, 0).operations()).stats()).configLoads;
    expect(await messagesOnEveryShard(tenant, flow.id)).toEqual(Array(shardCount(env)).fill('region=eu-west'));
    expect((await (await executorStub(env, flow.id, 0).operations()).stats()).configLoads).toBe(loads);

    await setEnv(tok, 'region', 'us-east');
    expect(await messagesOnEveryShard(tenant, flow.id)).toEqual(Array(shardCount(env)).fill('region=us-east'));
    expect((await runToEnd(tok, flow.id)).run.steps[0].output.message).toBe('region=us-east');

    expect((await call('DELETE', '/v1/env/region', { token: tok })).status).toBe(204);
    for (const run of await Promise.all(Array.from({ length: shardCount(env) }, (_, shard) => runOnShard(tenant, flow.id, shard)))) {
      expect(run.status).toBe('failed');
      expect(stepOf(run as { steps: Array<{ blockId: string }> }, 'say').error).toMatch(/environment variable "region" is not set/);
    }
  });

  it('a change reaches the warm executors of every flow of the tenant, however many', async () => {
    const tenant = `env-many-${crypto.randomUUID().slice(0, 8)}`;
    const tok = await token({ tenant });
    await setEnv(tok, 'region', 'before');
    const flows: Array<{ id: string }> = [];
    for (let i = 0; i < INVALIDATE_BATCH + 2; i++) flows.push(await createFlow(tok, { blocks: SAY_REGION }));
    const before = await Promise.all(flows.map((flow) => messagesOnEveryShard(tenant, flow.id)));
    expect(new Set(before.flat())).toEqual(new Set(['region=before']));

    await setEnv(tok, 'region', 'after');
    const after = await Promise.all(flows.map((flow) => messagesOnEveryShard(tenant, flow.id)));
    expect(new Set(after.flat())).toEqual(new Set(['region=after']));
  });

  it('a run keeps the environment it started with, through a restart of its executor', async () => {
    const tenant = `env-pinned-${crypto.randomUUID().slice(0, 8)}`;
    const tok = await token({ tenant });
    await setEnv(tok, 'region', 'at-start');
    const flow = await createFlow(tok, { blocks: [{ id: 'pause', type: 'delay', params: { seconds: 1 } }, ...SAY_REGION] });
    const runId = (await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} })).body.id as string;
    const getRun = () => callJson('GET', `/v1/runs/${runId}`, { token: tok });
    await until(getRun, (r) => r.body.status === 'waiting');

    await setEnv(tok, 'region', 'changed-meanwhile');
    await abortAllDurableObjects();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await runDurableObjectAlarm(executorObject(runId));
    const done = await until(getRun, (r) => r.body.status === 'succeeded' || r.body.status === 'failed');
    expect(done.body.status).toBe('succeeded');
    expect(stepOf(done.body, 'say').output.message).toBe('region=at-start');

    expect(stepOf((await runToEnd(tok, flow.id)).run, 'say').output.message).toBe('region=changed-meanwhile');
  });

  it('never moves a secret: an ENV host is a templated host, which a secret without allowedHosts never goes to', async () => {
    const tenant = `env-hosts-${crypto.randomUUID().slice(0, 8)}`;
    const admin = await token({ tenant });
    const editor = await token({ tenant, sub: 'editor', scope: 'flows:read flows:write runs:read runs:write' });
    const port = new URL(fakeUrl('/')).port;
    const [hostA, hostB] = [`127.0.0.1:${port}`, `localhost:${port}`];
    const path = uniquePath('echo');
    const send = {
      id: 'send',
      type: 'http_request',
      params: { method: 'POST', url: `http://{{ENV.api_host}}${path}`, headers: { 'X-Key': '{{SECRETS.api_key}}' }, retries: 0 },
    };
    const secret = 'sk-env-host-secret-5d0b';

    // An editor cannot save a version that sends a secret through an ENV host.
    const literal = await createFlow(admin, { blocks: [{ ...send, params: { ...send.params, url: `http://${hostA}${path}` } }] });
    const refused = await callJson('PUT', `/v1/flows/${literal.id}`, { token: editor, body: flowBody({ blocks: [send] }) });
    expect(refused.status).toBe(403);
    expect(refused.body.error.details[0].message).toContain('templated host');

    const flow = await createFlow(admin, { blocks: [send] });
    await setSecret(admin, flow.id, 'api_key', secret);
    expect((await putEnv(editor, 'api_host', hostB)).status).toBe(201); // an editor may change the environment
    const { run } = await runToEnd(editor, flow.id);
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'send').error).toContain('never sent to a templated host ({{ENV.api_host}})');

    await setSecret(admin, flow.id, 'api_key', secret, [hostA]);
    await setEnv(admin, 'api_host', hostA);
    const through = (await runToEnd(admin, flow.id)).run;
    expect(stepOf(through, 'send').error).toBeNull();
    expect(through.status).toBe('succeeded');
    await setEnv(editor, 'api_host', hostB);
    const moved = (await runToEnd(editor, flow.id)).run;
    expect(stepOf(moved, 'send').error).toMatch(/secret "api_key" may not be sent to \{\{ENV\.api_host\}\}/);
    expect((await received(path)).map((r) => r.headers['x-key'])).toEqual([secret]);
  });

  it('renders a value once: SECRETS placeholders inside an ENV value stay text, the secret is not sent', async () => {
    const tenant = `env-smuggle-${crypto.randomUUID().slice(0, 8)}`;
    const tok = await token({ tenant });
    const secret = 'smuggled-secret-value-71c2';
    await setEnv(tok, 'tpl', '{{SECRETS.k}}');
    const { run, events } = await runBlocks(
      tok,
      [
        { id: 'lone', type: 'log', params: { message: '{{ENV.tpl}}' } },
        { id: 'embedded', type: 'log', params: { message: 'key=[{{ENV.tpl}}]' } },
      ],
      {},
      (flowId) => setSecret(tok, flowId, 'k', secret),
    );
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'lone').output.message).toBe('{{SECRETS.k}}');
    expect(stepOf(run, 'embedded').output.message).toBe('key=[{{SECRETS.k}}]');
    expect(JSON.stringify(events)).not.toContain(secret);
    expect(JSON.stringify(run)).not.toContain(secret);
  });
});
