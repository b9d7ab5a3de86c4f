/**
 * The service benchmarks of `npm run bench`, each measured against the same
 * running server: the /healthz baseline, seed-flow throughput, a new flow's
 * first run, per-step overhead, live-log latency and the upload trigger.
 */
import WebSocket from 'ws';
import { allRunsOf } from '../scripts/dev-server';
import { cannon } from './cannon';
import type { LoadResult } from './load';
import type { Service } from './service';
import { summarize } from './stats';

const SECRET = 'pm-bench-0f8e2c5d9a7b';

/** `GET /healthz` from `connections` autocannon clients for 3 s: what the server serves when a request does nothing. */
export function baseline(service: Service, connections: number): Promise<LoadResult> {
  return cannon(`${service.server.url}/healthz`, { connections, durationMs: 3000 });
}

async function createFlow(service: Service, body: Record<string, unknown>): Promise<string> {
  const res = await service.call('POST', '/v1/flows', { name: 'bench', trigger: { type: 'manual' }, ...body });
  if (res.status !== 201) throw new Error(`create flow: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

export interface SeedFlowOptions {
  /** Path on the fake outside API the http_request posts to (a route of its own makes the calls countable). */
  path?: string;
  /** The log block's message. */
  note?: string;
  /** The JSON body the http_request sends. */
  body?: Record<string, unknown>;
}

/**
 * The seed flow: a log line and an http_request with a secret header to the
 * fake Postmark, with its secret set. By default it logs and sends the
 * trigger's `key`; the options change what it logs, sends and where.
 */
export async function seedFlow(service: Service, options: SeedFlowOptions = {}): Promise<string> {
  const {
    path = '/email',
    note = 'New upload {{trigger.key}}',
    body = { To: 'ops@example.com', Subject: 'New image {{trigger.key}}' },
  } = options;
  const flowId = await createFlow(service, {
    blocks: [
      { id: 'note', type: 'log', params: { message: note } },
      {
        id: 'email',
        type: 'http_request',
        params: {
          method: 'POST',
          url: `${service.outside.url}${path}`,
          headers: { 'X-Postmark-Server-Token': '{{SECRETS.postmark_api_key}}' },
          body,
        },
      },
    ],
  });
  const secret = await service.call('PUT', `/v1/flows/${flowId}/secrets/postmark_api_key`, { value: SECRET });
  if (secret.status >= 300) throw new Error(`set secret: ${secret.status} ${JSON.stringify(secret.body)}`);
  return flowId;
}

/** `POST /v1/flows/:id/runs?wait=30` with `input`: the run as answered (200 when it finished within the wait). */
export async function startRunAndWait(
  service: Service,
  flowId: string,
  input: Record<string, unknown>,
): Promise<{ status: number; run?: { id: string; status: string } }> {
  const res = await fetch(`${service.server.url}/v1/flows/${flowId}/runs?wait=30`, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
  });
  if (res.status !== 200 && res.status !== 202) {
    await res.arrayBuffer();
    return { status: res.status };
  }
  return { status: res.status, run: (await res.json()) as { id: string; status: string } };
}

const SEED_INPUT = { key: 'images/cat.jpg' };

/**
 * Runs of the seed flow started and completed end to end (`?wait`: one
 * request per run, answered when the run has ended), from `connections`
 * autocannon clients. Autocannon does not read bodies, so `notSucceeded`
 * counts afterwards, from the run index, how many of the runs did not
 * succeed (a failed run still answers 200).
 */
export async function seedThroughput(
  service: Service,
  flowId: string,
  options: { connections: number; durationMs: number },
): Promise<LoadResult & { notSucceeded: number }> {
  const result = await cannon(`${service.server.url}/v1/flows/${flowId}/runs?wait=30`, {
    ...options,
    method: 'POST',
    headers: { authorization: `Bearer ${service.server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input: SEED_INPUT }),
  });
  return { ...result, notSucceeded: await notSucceededRuns(service, flowId) };
}

/** Runs of a flow, from the run index, that did not succeed. */
async function notSucceededRuns(service: Service, flowId: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the index catches up within a second
  const runs = await allRunsOf<{ status: string }>(service.server, flowId);
  return runs.filter((run) => run.status !== 'succeeded').length;
}

export interface ColdFirstRunResult {
  flows: number;
  /** Trigger → succeeded of each brand-new flow's very first run. */
  firstRunMs: ReturnType<typeof summarize>;
  /** The same for each flow's second run, right after its first (warm). */
  secondRunMs: ReturnType<typeof summarize>;
  /** Runs (first or second) that did not answer 200 `succeeded`. */
  notSucceeded: number;
}

/**
 * A new flow's first run: for each of `flows` brand-new seed flows (created
 * with their secret), times its very first `?wait` run, whose executor is not
 * warm yet, and then its second one.
 */
export async function coldFirstRuns(service: Service, flows: number): Promise<ColdFirstRunResult> {
  const first: number[] = [];
  const second: number[] = [];
  let notSucceeded = 0;
  const timedRun = async (flowId: string, into: number[]) => {
    const started = performance.now();
    const { run } = await startRunAndWait(service, flowId, SEED_INPUT);
    if (run?.status === 'succeeded') into.push(performance.now() - started);
    else notSucceeded++;
  };
  for (let i = 0; i < flows; i++) {
    const flowId = await seedFlow(service);
    await timedRun(flowId, first);
    await timedRun(flowId, second);
  }
  return { flows, firstRunMs: summarize(first), secondRunMs: summarize(second), notSucceeded };
}

const logBlock = (i: number) => ({ id: `l${i}`, type: 'log', params: { message: `step ${i} of {{run.id}}` } });
const setBlock = (i: number) => ({ id: `s${i}`, type: 'set', params: { values: { run: '{{run.id}}', n: i } } });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Median trigger → succeeded time (`?wait`, measured by the client) of a flow of these blocks. */
async function medianRunMs(service: Service, blocks: unknown[], runs: number): Promise<number> {
  const flowId = await createFlow(service, { blocks });
  const durations: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const res = await service.call('POST', `/v1/flows/${flowId}/runs?wait=30`, {});
    if (res.body.status !== 'succeeded') throw new Error(`run ${res.body.id} ended ${res.body.status}`);
    durations.push(performance.now() - started);
  }
  return summarize(durations).p50;
}

/**
 * What a step costs: one log block against 20 (an extra log step), against
 * one log and 19 `set` blocks (an extra set step), and against a for_each of
 * 100 items over one log block (an item of a loop, its own step included).
 */
export async function perStepOverhead(service: Service) {
  await medianRunMs(service, range(20).map(logBlock), 10); // warm-up
  const oneStepMs = await medianRunMs(service, [logBlock(0)], 60);
  const twentyStepsMs = await medianRunMs(service, range(20).map(logBlock), 60);
  const setStepsMs = await medianRunMs(service, [logBlock(0), ...range(19).map(setBlock)], 60);
  const loop = {
    id: 'each',
    type: 'for_each',
    params: { items: range(100), blocks: [{ id: 'item', type: 'log', params: { message: 'item {{item}}' } }] },
  };
  const forEach100Ms = await medianRunMs(service, [logBlock(0), loop], 20);
  return {
    oneStepMs,
    twentyStepsMs,
    perExtraStepMs: (twentyStepsMs - oneStepMs) / 19,
    perExtraSetStepMs: (setStepsMs - oneStepMs) / 19,
    forEach100Ms,
    perLoopItemMs: (forEach100Ms - oneStepMs) / 100,
  };
}

export interface LiveResult {
  viewers: number;
  runs: number;
  runsPerSecond: number;
  events: number;
  latencyMs: ReturnType<typeof summarize>;
  lost: number;
  duplicated: number;
}

/** `viewers` sockets on a flow while runs start at `rate`/s for `seconds`: event ts → arrival. */
export async function liveLatency(service: Service, viewers: number, rate: number, seconds: number): Promise<LiveResult> {
  const flowId = await createFlow(service, {
    blocks: [
      { id: 'a', type: 'log', params: { message: 'first' } },
      { id: 'b', type: 'log', params: { message: 'second' } },
    ],
  });
  const base = service.server.url.replace('http', 'ws');
  const received: Array<Array<{ runId: string; seq: number; latency: number }>> = [];
  const sockets = await Promise.all(
    Array.from({ length: viewers }, async (_, v) => {
      const { body } = await service.call('POST', '/v1/live-tickets', { flowId });
      const socket = new WebSocket(`${base}/v1/flows/${flowId}/live?ticket=${body.ticket}`);
      received[v] = [];
      let count = 0;
      socket.on('message', (data) => {
        const event = JSON.parse(data.toString()) as { runId: string; seq: number; ts: string };
        received[v]!.push({ runId: event.runId, seq: event.seq, latency: Date.now() - Date.parse(event.ts) });
        if (++count % 100 === 0) socket.send(JSON.stringify({ type: 'ack', received: count }));
      });
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      return socket;
    }),
  );

  const runIds: string[] = [];
  const total = rate * seconds;
  const started = performance.now();
  const starts: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    starts.push(service.call('POST', `/v1/flows/${flowId}/runs`, {}).then((res) => void runIds.push(res.body.id)));
  }
  await Promise.all(starts);
  const elapsed = (performance.now() - started) / 1000;

  // Every run has 8 events (run running, 3 per block, run succeeded); wait for them to arrive.
  const expected = runIds.length * 8;
  const deadline = Date.now() + 30_000;
  while (received.some((r) => r.length < expected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const socket of sockets) socket.close();

  let lost = 0;
  let duplicated = 0;
  for (const events of received) {
    const seen = new Map<string, Set<number>>();
    for (const e of events) {
      const seqs = seen.get(e.runId) ?? new Set<number>();
      if (seqs.has(e.seq)) duplicated++;
      seqs.add(e.seq);
      seen.set(e.runId, seqs);
    }
    for (const runId of runIds) lost += 8 - (seen.get(runId)?.size ?? 0);
  }
  return {
    viewers,
    runs: runIds.length,
    runsPerSecond: runIds.length / elapsed,
    events: received.reduce((n, r) => n + r.length, 0),
    latencyMs: summarize(received.flat().map((e) => e.latency)),
    lost,
    duplicated,
  };
}

export interface UploadResult {
  uploads: number;
  secondsToAllFinished: number;
  runs: number;
  duplicates: number;
}

/** `count` uploads through the API; the time until every run of the upload flow has finished. */
export async function uploadTrigger(service: Service, count: number): Promise<UploadResult> {
  const flowId = await createFlow(service, {
    trigger: { type: 'r2_upload', prefix: 'bench/' },
    blocks: [{ id: 'seen', type: 'log', params: { message: 'got {{trigger.key}}' } }],
  });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < count) {
        const i = next++;
        await fetch(`${service.server.url}/v1/uploads/bench/${i}.jpg`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${service.server.token}`, 'content-type': 'image/jpeg' },
          body: new Uint8Array(1024),
        });
      }
    }),
  );
  let runs: Array<{ status: string; trigger: { key: string } }> = [];
  const deadline = Date.now() + 120_000;
  for (;;) {
    runs = await allRunsOf<{ status: string; trigger: { key: string } }>(service.server, flowId);
    const finished = runs.filter((r) => r.status === 'succeeded' || r.status === 'failed').length;
    if ((runs.length >= count && finished === runs.length) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const secondsToAllFinished = (performance.now() - started) / 1000;
  const keys = runs.map((r) => r.trigger.key);
  return { uploads: count, secondsToAllFinished, runs: runs.length, duplicates: keys.length - new Set(keys).size };
}
