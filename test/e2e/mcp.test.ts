import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startDevServer, type DevServer } from './harness';

const TOOL_NAMES = [
  'create_flow',
  'get_flow',
  'get_run',
  'get_run_logs',
  'list_block_types',
  'list_flows',
  'run_flow',
  'set_variable',
  'update_flow',
  'validate_flow',
];

const SECRET = 'mcp-e2e-c4ca4238a0b923820dcc';

interface ToolResult {
  isError?: boolean;
  structuredContent?: any;
  content: Array<{ type: string; text?: string }>;
}

/** An MCP client of the SDK, over Streamable HTTP with a bearer token, as an agent connects. */
async function connect(
  server: DevServer,
  token: string,
): Promise<Client & { call(name: string, args?: Record<string, unknown>): Promise<ToolResult> }> {
  const client = new Client({ name: 'powerflows-e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return Object.assign(client, {
    call: (name: string, args: Record<string, unknown> = {}) => client.callTool({ name, arguments: args }) as Promise<ToolResult>,
  });
}

/** The one text item of a result, parsed (a success's JSON, or a refusal's contract error). */
const textOf = (result: ToolResult): any => {
  expect(result.content).toHaveLength(1);
  return JSON.parse(result.content[0]!.text!);
};

const okBody = (result: ToolResult): any => {
  expect(result.isError, JSON.stringify(result)).toBeFalsy();
  expect(textOf(result)).toEqual(result.structuredContent);
  return result.structuredContent;
};

const refusal = (result: ToolResult): any => {
  expect(result.isError).toBe(true);
  expect(result.structuredContent).toBeUndefined();
  return textOf(result).error;
};

const helloFlow = {
  name: 'Agent hello',
  enabled: true, // create_flow must not honour this
  trigger: { type: 'manual' },
  blocks: [
    { id: 'hello', type: 'log', params: { message: 'Hello {{trigger.name}}' } },
    { id: 'greeting', type: 'log', params: { message: 'greeting is {{VARIABLES.greeting}}' } },
  ],
};

describe('the MCP server at /mcp, driven by the SDK client against wrangler dev', () => {
  let server: DevServer;
  let agent: Awaited<ReturnType<typeof connect>>;
  beforeAll(async () => {
    server = await startDevServer();
    agent = await connect(server, server.token);
  });
  afterAll(async () => {
    await agent?.close();
    await server?.stop();
  });

  it('refuses a request without a valid token with 401 before reading any MCP message', async () => {
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };
    for (const authorization of [undefined, 'Bearer not-a-jwt', `Bearer ${await server.tokenFor('demo', { ttlSeconds: -120 })}`]) {
      const res = await fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify(initialize),
      });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('unauthorized');
    }
    // Not even a malformed message is looked at first.
    const garbage = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(garbage.status).toBe(401);
    await expect(connect(server, 'not-a-jwt')).rejects.toThrow(/401|unauthorized/i);
  });

  it('lists exactly the contract tools, with JSON Schemas from the zod schemas, and the block catalogue resource', async () => {
    const { tools } = await agent.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOL_NAMES);
    for (const tool of tools) {
      expect(tool.description!.length).toBeGreaterThan(30);
      expect(tool.inputSchema.type).toBe('object');
    }
    const create = tools.find((t) => t.name === 'create_flow')!;
    expect(create.inputSchema.required).toEqual(['flow']);
    const flow = (create.inputSchema.properties as any).flow;
    expect(flow.required).toEqual(expect.arrayContaining(['name', 'trigger', 'blocks']));
    expect(JSON.stringify(flow.properties.blocks)).toContain('http_request');
    const run = tools.find((t) => t.name === 'run_flow')!;
    expect((run.inputSchema.properties as any).wait).toMatchObject({ type: 'integer', minimum: 0, maximum: 30 });
    const logs = tools.find((t) => t.name === 'get_run_logs')!;
    expect(Object.keys(logs.inputSchema.properties!).sort()).toEqual(['after', 'limit', 'runId']);

    const blocks = okBody(await agent.call('list_block_types'));
    expect(blocks.items.map((b: { type: string }) => b.type)).toEqual(expect.arrayContaining(['log', 'http_request']));
    const resource = await agent.readResource({ uri: 'powerflows://blocks' });
    expect(JSON.parse((resource.contents[0] as { text: string }).text)).toEqual(blocks);
  });

  it('create (disabled) → validate with an error (nothing saved) → update → enable → run with wait → read the logs page by page', async () => {
    const created = okBody(await agent.call('create_flow', { flow: helloFlow }));
    expect(created).toMatchObject({ name: 'Agent hello', enabled: false, version: 1 });
    expect((await api(server, 'GET', `/v1/flows/${created.id}`)).body.enabled).toBe(false);

    const before = (await api(server, 'GET', '/v1/flows?limit=100')).body.items.length;
    const broken = {
      ...helloFlow,
      blocks: [
        { id: 'hello', type: 'log', params: { message: 'Hi' }, next: 'nowhere' },
        { id: 'bad', type: 'no_such_block', params: {} },
      ],
    };
    const invalid = refusal(await agent.call('validate_flow', { flow: broken }));
    expect(invalid.code).toBe('validation_failed');
    expect(invalid.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining([expect.stringMatching(/^blocks\[1\]/)]));
    // The same 422 as the REST route gives, and nothing was saved.
    expect(invalid).toEqual((await api(server, 'POST', '/v1/flows', broken)).body.error);
    expect((await api(server, 'GET', '/v1/flows?limit=100')).body.items.length).toBe(before);
    expect(okBody(await agent.call('validate_flow', { flow: helloFlow }))).toEqual({ valid: true });
    // A `flow` that is not even an object is the same kind of refusal, not a protocol error.
    expect(refusal(await agent.call('validate_flow', { flow: 'a flow' })).code).toBe('validation_failed');

    const renamed = { ...helloFlow, name: 'Agent hello v2', enabled: false };
    const updated = okBody(await agent.call('update_flow', { flowId: created.id, flow: renamed, ifMatch: 1 }));
    expect(updated).toMatchObject({ name: 'Agent hello v2', version: 2, enabled: false });
    expect(refusal(await agent.call('update_flow', { flowId: created.id, flow: renamed, ifMatch: 1 })).code).toBe('conflict');
    const enabled = okBody(await agent.call('update_flow', { flowId: created.id, flow: { ...renamed, enabled: true }, ifMatch: 2 }));
    expect(enabled).toMatchObject({ enabled: true, version: 3 });
    expect(okBody(await agent.call('get_flow', { flowId: created.id }))).toEqual(enabled);
    const listed = okBody(await agent.call('list_flows', { limit: 1 }));
    expect(listed.items.map((f: { id: string }) => f.id)).toEqual([created.id]);
    // The cursor is passed on: nothing is older than the only flow.
    expect(okBody(await agent.call('list_flows', { cursor: created.id })).items).toEqual([]);

    expect(okBody(await agent.call('set_variable', { flowId: created.id, name: 'greeting', value: 'hi there' }))).toMatchObject({
      name: 'greeting',
      value: 'hi there',
    });

    const run = okBody(await agent.call('run_flow', { flowId: created.id, input: { name: 'Ada' }, wait: 20 }));
    expect(run).toMatchObject({ flowId: created.id, flowVersion: 3, status: 'succeeded' });
    expect(okBody(await agent.call('get_run', { runId: run.id })).steps.map((s: { status: string }) => s.status)).toEqual([
      'succeeded',
      'succeeded',
    ]);

    const events: any[] = [];
    let after = 0;
    for (let page = 0; page < 20; page++) {
      const logs = okBody(await agent.call('get_run_logs', { runId: run.id, after, limit: 2 }));
      expect(logs.items.length).toBeLessThanOrEqual(2);
      events.push(...logs.items);
      if (logs.nextAfter === null) break;
      after = logs.nextAfter;
    }
    expect(events).toEqual((await api(server, 'GET', `/v1/runs/${run.id}/logs?limit=1000`)).body.items);
    expect(events.filter((e) => e.type === 'log').map((e) => e.message)).toEqual(['Hello Ada', 'greeting is hi there']);
    expect(events.at(-1)).toMatchObject({ type: 'run', status: 'succeeded' });

    // run_flow without wait answers at once with the run as started.
    const started = okBody(await agent.call('run_flow', { flowId: created.id, wait: 0 }));
    expect(started.id).toMatch(/^run_/);
  });

  it('refuses by scope and keeps tenants apart, in the contract error shape', async () => {
    const flow = (await api(server, 'POST', '/v1/flows', { ...helloFlow, name: 'Owned by demo' })).body;
    const run = (await api(server, 'POST', `/v1/flows/${flow.id}/runs?wait=10`, { input: { name: 'x' } })).body;

    const reader = await connect(server, await server.tokenFor('demo', { scope: 'flows:read runs:read' }));
    try {
      const forbidden = refusal(await reader.call('create_flow', { flow: helloFlow }));
      expect(forbidden).toMatchObject({ code: 'forbidden', message: expect.stringContaining('flows:write') });
      expect(refusal(await reader.call('run_flow', { flowId: flow.id })).code).toBe('forbidden');
      expect(refusal(await reader.call('set_variable', { flowId: flow.id, name: 'greeting', value: 'x' })).code).toBe('forbidden');
      expect(okBody(await reader.call('get_flow', { flowId: flow.id })).id).toBe(flow.id);
      expect(okBody(await reader.call('validate_flow', { flow: helloFlow }))).toEqual({ valid: true });
    } finally {
      await reader.close();
    }

    const stranger = await connect(server, await server.tokenFor('another-tenant'));
    try {
      for (const [name, args] of [
        ['get_flow', { flowId: flow.id }],
        ['update_flow', { flowId: flow.id, flow: helloFlow }],
        ['run_flow', { flowId: flow.id }],
        ['set_variable', { flowId: flow.id, name: 'greeting', value: 'x' }],
        ['get_run', { runId: run.id }],
        ['get_run_logs', { runId: run.id }],
      ] as const) {
        expect(refusal(await stranger.call(name, args)), name).toMatchObject({ code: 'not_found' });
      }
      expect(okBody(await stranger.call('list_flows')).items).toEqual([]);
      // Arguments that could climb out of their path segment are refused before any call.
      const climbing = refusal(await stranger.call('get_flow', { flowId: '..' }));
      expect(climbing).toMatchObject({ code: 'validation_failed', details: [{ path: 'flowId' }] });
    } finally {
      await stranger.close();
    }
    expect((await api(server, 'GET', `/v1/flows/${flow.id}`)).body.version).toBe(1);
  });

  it('never returns a secret value, even when the flow logs it', async () => {
    const flow = okBody(
      await agent.call('create_flow', {
        flow: {
          name: 'Leaky',
          trigger: { type: 'manual' },
          blocks: [{ id: 'leak', type: 'log', params: { message: 'the key is {{SECRETS.api_key}}' } }],
        },
      }),
    );
    expect((await api(server, 'PUT', `/v1/flows/${flow.id}/secrets/api_key`, { value: SECRET })).status).toBe(201);

    const results: ToolResult[] = [];
    const run = await agent.call('run_flow', { flowId: flow.id, wait: 20 });
    results.push(run);
    expect(okBody(run).status).toBe('succeeded');
    results.push(await agent.call('get_run', { runId: run.structuredContent.id }));
    const logs = await agent.call('get_run_logs', { runId: run.structuredContent.id });
    results.push(logs);
    results.push(await agent.call('get_flow', { flowId: flow.id }));
    results.push(await agent.call('list_flows', { limit: 100 }));
    results.push(await agent.call('update_flow', { flowId: flow.id, flow: { name: 'Leaky', trigger: { type: 'manual' }, blocks: [] } }));

    expect(okBody(logs).items.find((e: { type: string }) => e.type === 'log').message).toBe('the key is ***');
    const everything = JSON.stringify(results);
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(Buffer.from(SECRET).toString('base64'));
  });
});
