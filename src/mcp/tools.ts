import { z } from '@hono/zod-openapi';
import { FlowInputSchema } from '../flows/definition';

/**
 * The MCP tools of the contract ("POST /mcp"), each one REST call made with
 * the caller's own token, so scopes, tenancy, validation and error shapes are
 * exactly the REST routes'. A tool's `args` is the zod schema an agent sees
 * (as JSON Schema); `call` turns checked arguments into the REST request.
 */
export interface RestCall {
  method: 'GET' | 'POST' | 'PUT';
  /** Path and query under the app's origin, e.g. `/v1/flows?limit=5`. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ToolDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  args: Shape;
  /** Hints for clients (e.g. whether they may call it without asking). */
  annotations: { readOnlyHint: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint: false };
  call(args: z.infer<z.ZodObject<Shape>>): RestCall;
}

/** An id or name used as one path segment: nothing that could climb out of it. */
const segment = (what: string) =>
  z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9_-]+$/, `not a ${what}`);

const flowId = segment('flow id').describe('The flow id (`flw_…`), from list_flows or create_flow');
const runId = segment('run id').describe('The run id (`run_…`), from run_flow');
const FLOW_DESCRIPTION =
  'The flow definition: the body of POST /v1/flows ({ name, description?, enabled?, trigger, blocks, notify? }). ' +
  'Call list_block_types for the block types and their params.';
/**
 * `flow` is accepted as any object and checked by the REST route, so that a
 * bad definition comes back as the route's 422 with every bad path (which
 * is what validate_flow is for); agents are shown FlowInputSchema itself.
 */
const flow = z.record(z.string(), z.unknown()).describe(FLOW_DESCRIPTION);

const enc = encodeURIComponent;

const query = (params: Record<string, string | number | undefined>): string => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
};

const tool = <Shape extends z.ZodRawShape>(definition: ToolDefinition<Shape>): ToolDefinition => definition as unknown as ToolDefinition;

const readOnly = { readOnlyHint: true, openWorldHint: false } as const;

export const TOOLS: readonly ToolDefinition[] = [
  tool({
    name: 'list_flows',
    title: 'List flows',
    description:
      "The tenant's flows, newest first, with their definitions. Returns { items, nextCursor }; pass nextCursor as cursor for the next page.",
    args: {
      limit: z.number().int().min(1).max(100).optional().describe('Page size, 1–100 (default 20)'),
      cursor: z.string().max(128).optional().describe('nextCursor of the previous page'),
    },
    annotations: readOnly,
    call: ({ limit, cursor }) => ({ method: 'GET', path: `/v1/flows${query({ limit, cursor })}` }),
  }),
  tool({
    name: 'get_flow',
    title: 'Get a flow',
    description: 'One flow: its definition (trigger, blocks), enabled, version, hookUrl for webhook flows.',
    args: { flowId },
    annotations: readOnly,
    call: ({ flowId }) => ({ method: 'GET', path: `/v1/flows/${enc(flowId)}` }),
  }),
  tool({
    name: 'create_flow',
    title: 'Create a flow (disabled)',
    description:
      'Saves a new flow as version 1. It always starts disabled (enabled: false), whatever the definition says, so that ' +
      'nothing runs on its own before a person or update_flow enables it; run_flow can test it meanwhile. ' +
      'Use validate_flow first to see every problem at once. Secrets are set by people, not through this server.',
    args: { flow },
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    call: ({ flow }) => ({ method: 'POST', path: '/v1/flows', body: { ...flow, enabled: false } }),
  }),
  tool({
    name: 'update_flow',
    title: 'Replace a flow definition',
    description:
      'Saves a new version of a flow (the whole definition, as for create_flow; version + 1). Set enabled: true here to ' +
      'enable it. With ifMatch (the version you read), the update is refused with a conflict if the flow changed meanwhile.',
    args: {
      flowId,
      flow,
      ifMatch: z.number().int().min(1).optional().describe('The version the update is based on (conflict if it is no longer current)'),
    },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    call: ({ flowId, flow, ifMatch }) => ({
      method: 'PUT',
      path: `/v1/flows/${enc(flowId)}`,
      body: flow,
      ...(ifMatch === undefined ? {} : { headers: { 'if-match': String(ifMatch) } }),
    }),
  }),
  tool({
    name: 'validate_flow',
    title: 'Validate a flow definition',
    description:
      'Checks a definition exactly as create_flow would, without saving anything. Valid: { valid: true }. ' +
      'Invalid: an error result whose text is { error: { code: "validation_failed", details: [{ path, message }] } } naming every bad path.',
    args: { flow },
    annotations: readOnly,
    call: ({ flow }) => ({ method: 'POST', path: '/v1/flows/validate', body: flow }),
  }),
  tool({
    name: 'run_flow',
    title: 'Run a flow',
    description:
      'Starts a test run (works for disabled flows too); input becomes {{trigger.…}}. With wait (1–30 s) the result is the ' +
      'finished run if it ends in time; otherwise (or with wait 0) the run as started: poll get_run, read get_run_logs.',
    args: {
      flowId,
      input: z.record(z.string(), z.unknown()).optional().describe('The run input, read by the flow as {{trigger.<name>}}'),
      wait: z.number().int().min(0).max(30).optional().describe('Seconds to wait for the run to finish, 0–30 (default 0)'),
    },
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    call: ({ flowId, input, wait }) => ({
      method: 'POST',
      path: `/v1/flows/${enc(flowId)}/runs${query({ wait: wait ? wait : undefined })}`,
      body: input === undefined ? {} : { input },
    }),
  }),
  tool({
    name: 'get_run',
    title: 'Get a run',
    description: 'A run with its status, error and steps (each with its status, attempts, output and error).',
    args: { runId },
    annotations: readOnly,
    call: ({ runId }) => ({ method: 'GET', path: `/v1/runs/${enc(runId)}` }),
  }),
  tool({
    name: 'get_run_logs',
    title: 'Read a run log',
    description:
      "A run's events (log lines, step and run status changes) in seq order. Returns { items, nextAfter }: call again " +
      'with after = nextAfter for more; nextAfter is null once the run has ended and nothing is left.',
    args: {
      runId,
      after: z.number().int().min(0).optional().describe('Only events with seq greater than this (default 0)'),
      limit: z.number().int().min(1).max(1000).optional().describe('At most this many events, 1–1000 (default 100)'),
    },
    annotations: readOnly,
    call: ({ runId, after, limit }) => ({ method: 'GET', path: `/v1/runs/${enc(runId)}/logs${query({ after, limit })}` }),
  }),
  tool({
    name: 'list_block_types',
    title: 'List block types',
    description:
      'The block catalogue: for each type its label, category, description, params (JSON Schema) and branches ' +
      '(the block fields that hold block ids, such as then/else). Read it before writing a flow.',
    args: {},
    annotations: readOnly,
    call: () => ({ method: 'GET', path: '/v1/blocks' }),
  }),
  tool({
    name: 'set_variable',
    title: 'Set a flow variable',
    description:
      'Creates or replaces a plain (not secret) variable of a flow, read as {{VARIABLES.<name>}}. ' +
      'Never put credentials here: variables are readable by anyone who can read the flow.',
    args: {
      flowId,
      name: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'names match ^[A-Za-z_][A-Za-z0-9_]{0,63}$')
        .describe('The variable name'),
      value: z.string().describe('The value'),
    },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    call: ({ flowId, name, value }) => ({ method: 'PUT', path: `/v1/flows/${enc(flowId)}/variables/${enc(name)}`, body: { value } }),
  }),
];

/** The JSON Schema of a tool's arguments that agents see: `flow` is FlowInputSchema. */
export function inputJsonSchema(definition: ToolDefinition): { type: 'object'; [key: string]: unknown } {
  const shape = 'flow' in definition.args ? { ...definition.args, flow: FlowInputSchema.describe(FLOW_DESCRIPTION) } : definition.args;
  const { $schema: _, ...schema } = z.toJSONSchema(z.object(shape), { io: 'input', unrepresentable: 'any' });
  return { ...schema, type: 'object' };
}
