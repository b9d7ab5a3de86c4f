/**
 * A typed client of the PowerFlows API, for other TypeScript projects, scripts
 * and the `pf` command line (`import { createClient } from 'powerflows/client'`).
 *
 * It is Hono's RPC client over the app's own route types (`hc<AppType>`), so
 * paths, inputs and answers are checked against the server at compile time;
 * `client.api` is that raw client, and the methods below wrap the common calls,
 * throwing a `PowerFlowsError` (the contract's error object) on any refusal.
 * `follow` streams a run's events over the live WebSocket, reconnecting after
 * a drop without losing or repeating an event. It runs wherever `fetch` does
 * (Node 20+, browsers, Workers); pass `openSocket` where there is no global
 * `WebSocket` (Node 20: the `ws` package, see scripts/pf.ts).
 */
import { type ClientResponse, hc } from 'hono/client';
import type { SuccessStatusCode } from 'hono/utils/http-status';
import type { AppType } from './app-type';
import type { FlowInput } from './flows/definition';

export type { AppType } from './app-type';
export type { FlowInput } from './flows/definition';

/** Hono's typed client of the whole REST API: `api.v1.flows[':flowId'].$get({ param: { flowId } })`. */
export type Api = ReturnType<typeof hc<AppType>>;

type Json<T> = T extends ClientResponse<infer Body, infer Status, 'json'> ? (Status extends SuccessStatusCode ? Body : never) : never;
type Answer<F extends (...args: never[]) => Promise<ClientResponse<unknown, number, string>>> = Json<Awaited<ReturnType<F>>>;

export type Flow = Answer<Api['v1']['flows'][':flowId']['$get']>;
export type Run = Answer<Api['v1']['runs'][':runId']['$get']>;
export type RunStatus = Run['status'];
export type RunEvent = Answer<Api['v1']['runs'][':runId']['logs']['$get']>['items'][number];
export type BlockType = Answer<Api['v1']['blocks']['$get']>['items'][number];

/** The statuses a run ends in. */
export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>(['succeeded', 'failed', 'cancelled']);

/** A refusal of the API: the contract's `{ error: { code, message, details? } }` and the HTTP status. */
export class PowerFlowsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
    this.name = 'PowerFlowsError';
  }

  static async from(response: { status: number; text(): Promise<string> }): Promise<PowerFlowsError> {
    const text = await response.text();
    try {
      const { error } = JSON.parse(text) as {
        error: { code: string; message: string; details?: Array<{ path: string; message: string }> };
      };
      return new PowerFlowsError(response.status, error.code, error.message, error.details);
    } catch {
      return new PowerFlowsError(response.status, 'http_error', `HTTP ${response.status}: ${text.slice(0, 200)}`);
    }
  }
}

/** What `follow` needs of a WebSocket: open a URL, hear text frames and the close. */
export type OpenSocket = (url: string, on: { message(text: string): void; close(code: number): void }) => { close(): void };

export interface ClientOptions {
  /** The service's origin, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** A bearer token, or a function giving one per request (to refresh it). */
  token: string | (() => string | Promise<string>);
  fetch?: typeof fetch;
  /** Opens the live WebSocket; default: the global `WebSocket`. */
  openSocket?: OpenSocket;
}

export interface FollowOptions {
  /** Only events after this `seq` (default 0: the whole run). */
  after?: number;
  /** Reconnect attempts in a row without a new event before giving up (default 8). */
  maxRetries?: number;
  signal?: AbortSignal;
}

export type PowerFlowsClient = ReturnType<typeof createClient>;

export function createClient(options: ClientOptions) {
  const base = options.url.replace(/\/+$/, '');
  const token = async () => (typeof options.token === 'function' ? options.token() : options.token);
  const api: Api = hc<AppType>(base, {
    headers: async () => ({ authorization: `Bearer ${await token()}` }),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const openSocket = options.openSocket ?? globalSocket;

  const flows = {
    list: (query: { limit?: number; cursor?: string } = {}) => ok(api.v1.flows.$get({ query: strings(query) })),
    /** Every flow, page after page. */
    all: () => collect((cursor) => flows.list({ limit: 100, ...(cursor ? { cursor } : {}) })),
    get: (flowId: string) => ok(api.v1.flows[':flowId'].$get({ param: { flowId } })),
    create: (flow: FlowInput) => ok(api.v1.flows.$post({ json: flow })),
    update: (flowId: string, flow: FlowInput, ifMatch?: number) =>
      ok(
        api.v1.flows[':flowId'].$put({
          param: { flowId },
          json: flow,
          header: ifMatch === undefined ? {} : { 'if-match': String(ifMatch) },
        }),
      ),
    remove: (flowId: string) => ok(api.v1.flows[':flowId'].$delete({ param: { flowId } })),
    /** The same checks as `create`, nothing saved: `{ valid: true }`, or a PowerFlowsError with every bad path. */
    validate: (flow: FlowInput) => ok(api.v1.flows.validate.$post({ json: flow })),
    /**
     * Creates the flow, or updates the one flow of that name (only if nobody
     * changed it meanwhile: `If-Match` its current version).
     */
    async apply(flow: FlowInput): Promise<{ flow: Flow; created: boolean }> {
      const same = (await flows.all()).filter((existing) => existing.name === flow.name.trim());
      if (same.length > 1) throw new PowerFlowsError(409, 'conflict', `${same.length} flows are named "${flow.name}": update one by id`);
      const [existing] = same;
      if (!existing) return { flow: await flows.create(flow), created: true };
      return { flow: await flows.update(existing.id, flow, existing.version), created: false };
    },
  };

  const runs = {
    /** Starts a test run; with `wait` (1–30 s) answers with the finished run if it ends in time. */
    start: (flowId: string, input?: Record<string, unknown>, wait?: number) =>
      ok(
        api.v1.flows[':flowId'].runs.$post({ param: { flowId }, query: wait ? { wait: String(wait) } : {}, json: input ? { input } : {} }),
      ),
    list: (query: { status?: RunStatus; flowId?: string; limit?: number; cursor?: string } = {}) =>
      ok(api.v1.runs.$get({ query: strings(query) })),
    get: (runId: string) => ok(api.v1.runs[':runId'].$get({ param: { runId } })),
    logs: (runId: string, query: { after?: number; limit?: number } = {}) =>
      ok(api.v1.runs[':runId'].logs.$get({ param: { runId }, query: strings(query) })),
    cancel: (runId: string) => ok(api.v1.runs[':runId'].cancel.$post({ param: { runId } })),
  };

  const secrets = {
    /** Write-only: the answer never carries the value. */
    set: (flowId: string, name: string, value: string, allowedHosts?: string[]) =>
      ok(
        api.v1.flows[':flowId'].secrets[':name'].$put({
          param: { flowId, name },
          json: { value, ...(allowedHosts ? { allowedHosts } : {}) },
        }),
      ),
    list: (flowId: string) => ok(api.v1.flows[':flowId'].secrets.$get({ param: { flowId } })),
    remove: (flowId: string, name: string) => ok(api.v1.flows[':flowId'].secrets[':name'].$delete({ param: { flowId, name } })),
  };

  const variables = {
    set: (flowId: string, name: string, value: string) =>
      ok(api.v1.flows[':flowId'].variables[':name'].$put({ param: { flowId, name }, json: { value } })),
    list: (flowId: string) => ok(api.v1.flows[':flowId'].variables.$get({ param: { flowId } })),
  };

  const env = {
    set: (name: string, value: string) => ok(api.v1.env[':name'].$put({ param: { name }, json: { value } })),
    list: () => ok(api.v1.env.$get()),
    remove: (name: string) => ok(api.v1.env[':name'].$delete({ param: { name } })),
  };

  const blocks = { list: () => ok(api.v1.blocks.$get()) };

  /**
   * Streams a run's events to `onEvent` in `seq` order, from `after` on, and
   * resolves with the run's final status. Each connection uses a fresh
   * single-use ticket; after a drop it reconnects with `after=<last seq>`, so
   * no event is lost or repeated.
   */
  async function follow(runId: string, onEvent: (event: RunEvent) => void, followOptions: FollowOptions = {}): Promise<RunStatus> {
    let last = followOptions.after ?? 0;
    let final: RunStatus | undefined;
    let failures = 0;
    const maxRetries = followOptions.maxRetries ?? 8;
    const deliver = (event: RunEvent) => {
      if (event.seq <= last) return; // already delivered before a reconnect
      last = event.seq;
      onEvent(event);
      if (event.type === 'run' && FINAL_STATUSES.has(event.status as RunStatus)) final = event.status as RunStatus;
    };
    for (;;) {
      followOptions.signal?.throwIfAborted();
      const before = last;
      try {
        const { ticket } = await ok(api.v1['live-tickets'].$post({ json: { runId } }));
        const url = `${base.replace(/^http/, 'ws')}/v1/runs/${encodeURIComponent(runId)}/live?ticket=${encodeURIComponent(ticket)}&after=${last}`;
        await new Promise<void>((resolve) => {
          let socket: { close(): void } | undefined;
          let done = false;
          const finish = () => {
            if (done) return;
            done = true;
            followOptions.signal?.removeEventListener('abort', finish);
            socket?.close();
            resolve();
          };
          followOptions.signal?.addEventListener('abort', finish);
          socket = openSocket(url, {
            message(text) {
              deliver(JSON.parse(text) as RunEvent);
              if (final) finish(); // not waiting for the server's close (wrangler dev holds the TCP connection ~10 s)
            },
            close: finish,
          });
          if (done) socket.close();
        });
        if (final) return final;
        followOptions.signal?.throwIfAborted();
        // Closed before the final event: if the run has ended meanwhile, the rest is in its log.
        const run = await runs.get(runId);
        if (FINAL_STATUSES.has(run.status)) {
          for (let page = await runs.logs(runId, { after: last, limit: 1000 }); page.items.length > 0; ) {
            page.items.forEach(deliver);
            page = await runs.logs(runId, { after: last, limit: 1000 });
          }
          return final ?? run.status;
        }
      } catch (err) {
        // A refusal (unknown run, bad token, missing scope) is final; a network error or a 5xx/429 is retried.
        if (err instanceof PowerFlowsError && err.status < 500 && err.status !== 429) throw err;
        if (followOptions.signal?.aborted) throw err;
      }
      failures = last > before ? 0 : failures + 1;
      if (failures > maxRetries)
        throw new PowerFlowsError(0, 'live_unavailable', `lost the live log of ${runId} ${failures} times in a row`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** failures, 5000)));
    }
  }

  return { api, flows, runs, secrets, variables, env, blocks, follow };
}

/** The answer's JSON when it is a success, else the contract's error as a PowerFlowsError. */
async function ok<R extends ClientResponse<unknown, number, string>>(pending: Promise<R>): Promise<Json<R>> {
  const response = await pending;
  if (!response.ok) throw await PowerFlowsError.from(response);
  return (response.status === 204 ? undefined : await response.json()) as Json<R>;
}

/** Query values as the strings they travel as. */
function strings(query: Record<string, string | number | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).flatMap(([key, value]) => (value === undefined ? [] : [[key, String(value)]])));
}

async function collect<T>(page: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const next: { items: T[]; nextCursor: string | null } = await page(cursor);
    items.push(...next.items);
    cursor = next.nextCursor;
  } while (cursor);
  return items;
}

interface GlobalWebSocket {
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  close(): void;
}

const globalSocket: OpenSocket = (url, on) => {
  const WebSocketClass = (globalThis as unknown as { WebSocket?: new (url: string) => GlobalWebSocket }).WebSocket;
  if (!WebSocketClass) throw new Error('no global WebSocket here: pass openSocket (on Node 20, with the ws package)');
  const socket = new WebSocketClass(url);
  socket.onmessage = (event) => on.message(String(event.data));
  socket.onclose = (event) => on.close(event.code);
  return { close: () => socket.close() };
};
