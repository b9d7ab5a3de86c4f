import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, callJson, flowBody, token } from './helpers/api';

let tok: string;
beforeAll(async () => {
  tok = await token({ tenant: 'validator' });
});

const block = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'log',
  params: { message: id },
  ...extra,
});

async function expect422(body: unknown, path: string, message?: RegExp) {
  const res = await callJson('POST', '/v1/flows', { token: tok, body });
  expect(res.status, JSON.stringify(res.body)).toBe(422);
  expect(res.body.error.code).toBe('validation_failed');
  const paths = res.body.error.details.map((d: { path: string }) => d.path);
  expect(paths).toContain(path);
  if (message) {
    const detail = res.body.error.details.find((d: { path: string }) => d.path === path);
    expect(detail.message).toMatch(message);
  }
  return res.body.error.details as Array<{ path: string; message: string }>;
}

describe('request bodies', () => {
  it('malformed JSON is 400 invalid_json', async () => {
    const res = await callJson('POST', '/v1/flows', {
      token: tok,
      rawBody: '{"name": "x",',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  it.each([['[1,2]'], ['"a string"'], ['42'], ['null']])('a JSON %s where an object is required is 400', async (raw) => {
    const res = await callJson('POST', '/v1/flows', { token: tok, rawBody: raw, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  it('an empty body where one is required is 400', async () => {
    const res = await callJson('POST', '/v1/flows', { token: tok, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  it('a non-JSON content type is 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      const res = await callJson('POST', '/v1/flows', {
        token: tok,
        rawBody: JSON.stringify(flowBody()),
        headers: { 'content-type': type },
      });
      expect(res.status, type).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
    }
    const none = await callJson('POST', '/v1/flows', { token: tok, rawBody: JSON.stringify(flowBody()) });
    expect(none.status).toBe(415);
  });

  it('accepts application/json with a charset and +json types', async () => {
    for (const type of ['application/json; charset=utf-8', 'application/vnd.api+json']) {
      const res = await callJson('POST', '/v1/flows', {
        token: tok,
        rawBody: JSON.stringify(flowBody()),
        headers: { 'content-type': type },
      });
      expect(res.status, type).toBe(201);
    }
  });

  it('a body over 1 MiB is 413, by Content-Length and while streaming without one', async () => {
    const big = JSON.stringify(flowBody({ description: 'x'.repeat(1024 * 1024) }));
    const declared = await callJson('POST', '/v1/flows', { token: tok, rawBody: big, headers: { 'content-type': 'application/json' } });
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('payload_too_large');

    const encoder = new TextEncoder();
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 4 * 1024 * 1024) return controller.close();
        sent += 64 * 1024;
        controller.enqueue(encoder.encode('x'.repeat(64 * 1024)));
      },
    });
    const streamed = await call('POST', '/v1/flows', { token: tok, rawBody: stream, headers: { 'content-type': 'application/json' } });
    expect(streamed.status).toBe(413);
    expect(sent).toBeLessThan(4 * 1024 * 1024);
  });

  it('deeply nested JSON is refused cheaply with 400', async () => {
    const deep = `{"name":"x","trigger":{"type":"manual"},"blocks":[],"description":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const res = await callJson('POST', '/v1/flows', { token: tok, rawBody: deep, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/nested/);
  });

  it('invalid UTF-8 is 400', async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const res = await callJson('POST', '/v1/flows', { token: tok, rawBody: bytes, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
  });
});

describe('flow schema: 422 with every bad path', () => {
  it('reports every problem at once', async () => {
    const details = await expect422({ name: '', trigger: { type: 'nope' }, blocks: 'x' }, 'name');
    const paths = details.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'trigger.type', 'blocks']));
  });

  it('wrongly typed fields', async () => {
    await expect422({ ...flowBody(), name: 42 }, 'name');
    await expect422({ ...flowBody(), enabled: 'yes' }, 'enabled');
    await expect422({ ...flowBody(), name: 'x'.repeat(121) }, 'name');
  });

  it('an unknown block type names blocks[i].type', async () => {
    await expect422(flowBody({ blocks: [block('a'), block('b'), { id: 'c', type: 'teleport', params: {} }] }), 'blocks[2].type');
  });

  it('bad params name the param', async () => {
    await expect422(flowBody({ blocks: [{ id: 'a', type: 'log', params: { message: 1 } }] }), 'blocks[0].params.message');
    await expect422(flowBody({ blocks: [{ id: 'a', type: 'log', params: { message: 'x', level: 'loud' } }] }), 'blocks[0].params.level');
    await expect422(flowBody({ blocks: [{ id: 'a', type: 'delay', params: { seconds: 0 } }] }), 'blocks[0].params.seconds');
    await expect422(flowBody({ blocks: [{ id: 'a', type: 'delay', params: { seconds: 86401 } }] }), 'blocks[0].params.seconds');
    await expect422(
      flowBody({ blocks: [{ id: 'a', type: 'http_request', params: { method: 'GET', url: 'ftp://x' } }] }),
      'blocks[0].params.url',
    );
    await expect422(
      flowBody({ blocks: [{ id: 'a', type: 'http_request', params: { method: 'GET', url: 'https://x', timeoutMs: 30001 } }] }),
      'blocks[0].params.timeoutMs',
    );
    await expect422(
      flowBody({ blocks: [{ id: 'a', type: 'http_request', params: { method: 'GET', url: 'https://x', retries: 6 } }] }),
      'blocks[0].params.retries',
    );
    await expect422(
      flowBody({
        blocks: [{ id: 'a', type: 'http_request', params: { method: 'GET', url: 'https://x', headers: { 'X-A': 'v\r\nX-Evil: 1' } } }],
      }),
      'blocks[0].params.headers.X-A',
    );
    await expect422(
      flowBody({ blocks: [{ id: 'a', type: 'condition', params: { left: 'x', op: 'matches', right: '(' } }] }),
      'blocks[0].params.right',
    );
    await expect422(
      flowBody({ blocks: [{ id: 'a', type: 'r2_object', params: { action: 'copy', key: 'a.jpg' } }] }),
      'blocks[0].params.destinationKey',
    );
  });

  it('unknown fields on blocks and params are named', async () => {
    await expect422(flowBody({ blocks: [{ ...block('a'), nxt: 'b' }] }), 'blocks[0].nxt', /unknown field/);
    await expect422(flowBody({ blocks: [{ id: 'a', type: 'log', params: { message: 'x', mesage: 'y' } }] }), 'blocks[0].params.mesage');
    await expect422(flowBody({ blocks: [{ ...block('a'), then: 'a' }] }), 'blocks[0].then');
  });

  it('block ids follow the pattern', async () => {
    await expect422(flowBody({ blocks: [block('1abc')] }), 'blocks[0].id');
    await expect422(flowBody({ blocks: [block('a-b')] }), 'blocks[0].id');
  });

  it('duplicate ids', async () => {
    await expect422(flowBody({ blocks: [block('a'), block('a')] }), 'blocks[1].id', /duplicate/);
  });

  it('next, then and else must resolve', async () => {
    await expect422(flowBody({ blocks: [block('a', { next: 'ghost' })] }), 'blocks[0].next', /ghost/);
    await expect422(
      flowBody({ blocks: [{ id: 'c', type: 'condition', params: { left: '1', op: 'eq', right: '1' }, then: null, else: 'ghost' }] }),
      'blocks[0].else',
    );
  });

  it('a cycle is refused, with the edge that closes it', async () => {
    await expect422(flowBody({ blocks: [block('a', { next: 'a' })] }), 'blocks[0].next', /cycle/);
    await expect422(flowBody({ blocks: [block('a'), block('b'), block('c', { next: 'a' })] }), 'blocks[2].next', /cycle/);
    await expect422(
      flowBody({
        blocks: [
          { id: 'c', type: 'condition', params: { left: '1', op: 'eq', right: '1' }, then: 'x', else: null },
          block('x', { next: 'c' }),
        ],
      }),
      'blocks[1].next',
      /cycle/,
    );
  });

  it('branches that rejoin are not a cycle', async () => {
    const res = await callJson('POST', '/v1/flows', {
      token: tok,
      body: flowBody({
        blocks: [
          { id: 'c', type: 'condition', params: { left: '{{trigger.size}}', op: 'gt', right: '100' }, then: 'big', else: 'small' },
          block('big', { next: 'done' }),
          block('small'),
          block('done'),
        ],
      }),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it('at most 100 blocks', async () => {
    const blocks = Array.from({ length: 101 }, (_, i) => block(`b${i}`));
    await expect422(flowBody({ blocks }), 'blocks', /100/);
    const ok = await callJson('POST', '/v1/flows', { token: tok, body: flowBody({ blocks: blocks.slice(0, 100) }) });
    expect(ok.status).toBe(201);
  });

  it('template roots must be known', async () => {
    await expect422(
      flowBody({ blocks: [{ id: 'a', type: 'log', params: { message: 'hi {{FOO.x}}' } }] }),
      'blocks[0].params.message',
      /FOO/,
    );
    await expect422(
      flowBody({ blocks: [{ id: 'a', type: 'log', params: { message: '{{steps.ghost.x}}' } }] }),
      'blocks[0].params.message',
      /unknown block/,
    );
    await expect422(
      flowBody({ blocks: [{ id: 'a', type: 'log', params: { message: '{{ 1 + 1 }}' } }] }),
      'blocks[0].params.message',
      /invalid/,
    );
    await expect422(flowBody({ blocks: [{ id: 'a', type: 'log', params: { message: '{{run.secret}}' } }] }), 'blocks[0].params.message');
    await expect422(
      flowBody({ blocks: [{ id: 'a', type: 'http_request', params: { method: 'POST', url: 'https://x', body: { deep: ['{{nope}}'] } } }] }),
      'blocks[0].params.body.deep[0]',
    );
  });

  it('secrets are allowed only where a block sends or logs them', async () => {
    const details = await expect422(
      flowBody({ blocks: [{ id: 'a', type: 'condition', params: { left: '{{SECRETS.api_key}}', op: 'startsWith', right: 'a' } }] }),
      'blocks[0].params.left',
      /cannot use secrets/,
    );
    expect(details).toHaveLength(1);
    await expect422(
      flowBody({ blocks: [{ id: 'a', type: 'r2_object', params: { action: 'head', key: '{{SECRETS.api_key}}' } }] }),
      'blocks[0].params.key',
    );
    const ok = await callJson('POST', '/v1/flows', {
      token: tok,
      body: flowBody({
        blocks: [
          { id: 'l', type: 'log', params: { message: 'key {{SECRETS.api_key}}' } },
          {
            id: 'h',
            type: 'http_request',
            params: {
              method: 'POST',
              url: 'https://api.example.com/{{SECRETS.p}}',
              headers: { A: '{{SECRETS.api_key}}' },
              body: { k: '{{SECRETS.api_key}}' },
            },
          },
        ],
      }),
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  });

  it('accepts every documented root', async () => {
    const message =
      '{{trigger.key}} {{steps.a.message}} {{VARIABLES.region}} {{SECRETS.api_key}} {{run.id}} {{flow.id}} {{flow.name}} {{trigger.items[0].name}}';
    // (log messages may carry secrets: they are masked)
    const res = await callJson('POST', '/v1/flows', {
      token: tok,
      body: flowBody({ blocks: [block('a'), { id: 'b', type: 'log', params: { message } }] }),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it('triggers are validated, cron expressions included', async () => {
    await expect422(flowBody({ trigger: { type: 'schedule', cron: '61 * * * *' } }), 'trigger.cron', /minute/);
    await expect422(flowBody({ trigger: { type: 'schedule' } }), 'trigger.cron');
    await expect422(flowBody({ trigger: { type: 'r2_upload', prefix: 5 } }), 'trigger.prefix');
    await expect422(flowBody({ trigger: { type: 'manual', extra: 1 } }), 'trigger.extra');
    const ok = await callJson('POST', '/v1/flows', { token: tok, body: flowBody({ trigger: { type: 'schedule', cron: '*/5 * * * *' } }) });
    expect(ok.status).toBe(201);
  });
});

describe('no input produces a 500', () => {
  const bodies: unknown[] = [
    {},
    { name: null },
    { name: 'x', trigger: null, blocks: null },
    { name: 'x', trigger: {}, blocks: [{}] },
    { name: 'x', trigger: { type: 'manual' }, blocks: [null, 1, 'x', []] },
    { name: 'x', trigger: { type: 'manual' }, blocks: [{ id: 'a', type: 'log' }] },
    { name: 'x', trigger: { type: 'manual' }, blocks: [{ id: 'a', type: 'log', params: null }] },
    { name: 'x', trigger: { type: 'manual' }, blocks: [{ id: 'a', type: 'condition', params: { left: '{{', op: 'eq' } }] },
    { name: 'x', trigger: { type: 'manual' }, blocks: [{ id: 'a', type: 'log', params: { message: '{{}}' } }] },
    { name: 'x', trigger: { type: 'manual' }, blocks: [{ id: 'a', type: 'log', params: { message: '{{trigger.__proto__}}' } }] },
    { name: 'x', trigger: { type: 'manual' }, blocks: [{ id: 'constructor', type: 'log', params: { message: '{{steps.constructor}}' } }] },
    { __proto__: { name: 'x' }, constructor: 1 },
    { name: '\u0000\uffff', trigger: { type: 'schedule', cron: '* * * * * * * * * * * *' }, blocks: [] },
  ];
  it.each(bodies.map((b) => [JSON.stringify(b)]))('%s', async (raw) => {
    for (const [method, path] of [
      ['POST', '/v1/flows'],
      ['PUT', '/v1/flows/flw_01JD3Q2V7X0000000000000000'],
    ] as const) {
      const res = await callJson(method, path, { token: tok, rawBody: raw, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(500);
      if (res.status >= 400) expect(res.body.error.code).toEqual(expect.any(String));
    }
  });
});

describe('other routes', () => {
  it('unknown routes answer 404 in the contract shape', async () => {
    const res = await callJson('GET', '/v1/nothing-here', { token: tok });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('GET /openapi.json documents the flow routes and the error shape without internals', async () => {
    const res = await callJson('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/flows',
        '/v1/flows/{flowId}',
        '/v1/audit',
        '/v1/flows/{flowId}/secrets/{name}',
        '/v1/flows/{flowId}/runs',
        '/v1/runs',
        '/v1/runs/{runId}/logs',
        '/v1/live-tickets',
        '/v1/hooks/{hookId}',
        '/v1/uploads/{path}',
        '/v1/admin/keys/rewrap',
      ]),
    );
    expect(res.body.paths['/v1/flows'].post.responses['422']).toBeDefined();
    expect(res.body.paths['/v1/runs'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['limit', 'cursor', 'status', 'flowId']),
    );
    expect(res.body.components.schemas.Error).toBeDefined();
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(env.MASTER_KEY!);
    expect(text).not.toContain(env.JWT_SECRET!);
    expect(text).not.toMatch(/\/work\/|node_modules|\.ts:\d+/);
  });
});
