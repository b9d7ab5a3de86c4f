import { StreamableHTTPTransport } from '@hono/mcp';
import { z } from '@hono/zod-openapi';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { authenticate } from '../http/auth';
import { ApiError, type ErrorBody, fromZodError } from '../http/errors';
import { MAX_JSON_BYTES, readTextWithin } from '../http/json-body';
import type { AppEnv } from '../http/router';
import { MAX_JSON_DEPTH, nestingDepth } from '../lib/json-depth';
import { inputJsonSchema, type RestCall, TOOLS, type ToolDefinition } from './tools';

const SERVER_INFO = { name: 'powerflows', version: '1.0.0' };

const INSTRUCTIONS =
  'PowerFlows runs media workflows: a flow is a trigger and a chain of blocks. Read list_block_types, write a flow, ' +
  'check it with validate_flow, save it with create_flow (it starts disabled), test it with run_flow (wait up to 30 s) ' +
  'and read what happened with get_run and get_run_logs. A refused call is an error result whose text is ' +
  '{ error: { code, message, details? } }, as in the REST API. Secrets are never shown; people set them.';

const BLOCKS_URI = 'powerflows://blocks';

/** Per isolate: the tools as agents see them (the JSON Schemas are built once). */
let toolList: Array<{ name: string; title: string; description: string; inputSchema: { type: 'object' }; annotations: object }> | undefined;
const parsers = new Map(TOOLS.map((definition) => [definition.name, z.object(definition.args)]));

/**
 * `POST /mcp`: the Model Context Protocol server (Streamable HTTP), stateless:
 * a fresh server per request, so nothing is shared between callers or kept
 * between requests. The bearer token is checked before any MCP message is
 * read (401 in the contract's shape); each tool is one call of the REST API,
 * in process, with the caller's own token.
 */
export function mountMcp(app: Hono<AppEnv>): void {
  app.use('/mcp', authenticate);
  app.post('/mcp', async (c) => {
    const parsed = await readMessage(c.req.raw);
    if (parsed instanceof Response) return parsed;
    c.header('Cache-Control', 'no-store');
    const server = newServer((call) => callRest(app, c, call));
    const transport = new StreamableHTTPTransport({ enableJsonResponse: true });
    await server.connect(transport);
    try {
      return (await transport.handleRequest(c, parsed)) ?? c.body(null, 202);
    } catch (err) {
      // The transport's protocol refusals (406, 415, …) carry their own JSON-RPC answers.
      if (err instanceof HTTPException) return err.getResponse();
      throw err;
    }
  });
  // Stateless: no server-sent stream to resume (GET) and no session to end (DELETE).
  app.all('/mcp', (c) =>
    c.json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: send JSON-RPC with POST' }, id: null }, 405, {
      Allow: 'POST',
    }),
  );
}

interface RestAnswer {
  ok: boolean;
  body: unknown;
}

function newServer(rest: (call: RestCall) => Promise<RestAnswer>): McpServer {
  const mcp = new McpServer(SERVER_INFO, { instructions: INSTRUCTIONS });

  mcp.registerResource(
    'block-types',
    BLOCKS_URI,
    {
      title: 'Block types',
      description: 'The block catalogue (GET /v1/blocks): every block type with the JSON Schema of its params.',
      mimeType: 'application/json',
    },
    async (uri) => {
      const answer = await rest({ method: 'GET', path: '/v1/blocks' });
      if (!answer.ok) throw new McpError(ErrorCode.InvalidRequest, JSON.stringify(answer.body));
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(answer.body) }] };
    },
  );

  // Tools are served by hand rather than with registerTool, so that bad arguments
  // (and a bad `flow`, checked by the REST route) come back in the contract's error shape.
  mcp.server.registerCapabilities({ tools: {} });
  mcp.server.setRequestHandler(ListToolsRequestSchema, () => {
    toolList ??= TOOLS.map((definition) => ({
      name: definition.name,
      title: definition.title,
      description: definition.description,
      inputSchema: inputJsonSchema(definition),
      annotations: definition.annotations,
    }));
    return { tools: toolList };
  });
  mcp.server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const definition = TOOLS.find((candidate) => candidate.name === request.params.name);
    if (!definition) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${request.params.name}`);
    return callTool(definition, request.params.arguments ?? {}, rest);
  });
  return mcp;
}

async function callTool(definition: ToolDefinition, args: unknown, rest: (call: RestCall) => Promise<RestAnswer>): Promise<CallToolResult> {
  const checked = parsers.get(definition.name)!.safeParse(args);
  if (!checked.success) return refused(errorBody(fromZodError(checked.error)));
  const answer = await rest(definition.call(checked.data));
  const text = JSON.stringify(answer.body);
  if (!answer.ok) return refused(answer.body);
  return { content: [{ type: 'text', text }], structuredContent: answer.body as Record<string, unknown> };
}

const refused = (body: unknown): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(body) }], isError: true });

const errorBody = (error: ApiError): ErrorBody => ({
  error: { code: error.code, message: error.message, ...(error.details?.length ? { details: error.details } : {}) },
});

/** One REST call through the whole app (auth, scopes, validation, errors), with the MCP caller's token. */
async function callRest(app: Hono<AppEnv>, c: Context<AppEnv>, call: RestCall): Promise<RestAnswer> {
  const headers: Record<string, string> = { authorization: c.req.header('authorization') ?? '', ...call.headers };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  const request = new Request(new URL(call.path, c.req.url), {
    method: call.method,
    headers,
    body: call.body === undefined ? undefined : JSON.stringify(call.body),
  });
  const response = await app.fetch(request, c.env, executionContext(c));
  const text = await response.text();
  try {
    return { ok: response.ok, body: text ? JSON.parse(text) : {} };
  } catch {
    return { ok: false, body: errorBody(new ApiError('internal', 'internal error')) };
  }
}

function executionContext(c: Context<AppEnv>): Context<AppEnv>['executionCtx'] | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined; // Hono throws when the runtime passed none (tests calling app.request)
  }
}

/**
 * The JSON-RPC message of a POST, read within the JSON body limit. A body
 * that is not JSON gets the JSON-RPC parse error, as MCP clients expect.
 */
async function readMessage(request: Request): Promise<unknown> {
  // Not declared JSON: the transport answers 415 without reading anything.
  if (!request.headers.get('content-type')?.includes('application/json')) return undefined;
  const text = await readTextWithin(request, MAX_JSON_BYTES);
  const parseError = (message: string) =>
    Response.json({ jsonrpc: '2.0', error: { code: ErrorCode.ParseError, message }, id: null }, { status: 400 });
  if (nestingDepth(text) > MAX_JSON_DEPTH) return parseError(`message is nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch {
    return parseError('Parse error: the body is not JSON');
  }
}
