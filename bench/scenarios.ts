/**
 * The service benchmarks of `npm run bench`, each measured against the same
 * running server: the /healthz baseline, seed-flow throughput, per-step
 * overhead, live-log latency and the upload trigger.
 */
import WebSocket from 'ws';
import { load, type LoadResult } from './load';
import type { Service } from './service';
import { summarize } from './stats';

const SECRET = 'pm-bench-0f8e2c5d9a7b';

export async function baseline(service: Service, concurrency: number): Promise<LoadResult> {
  const url = `${service.server.url}/healthz`;
  return load(async () => (await fetch(url)).ok, { concurrency, durationMs: 3000 });
}

async function createFlow(service: Service, body: Record<string, unknown>): Promise<string> {
  const res = await service.call('POST', '/v1/flows', { name: 'bench', trigger: { type: 'manual' }, ...body });
  if (res.status !== 201) throw new Error(`create flow: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** The seed flow: a log line and an http_request with a secret header to the fake Postmark. */
export async function seedFlow(service: Service): Promise<string> {
  const flowId = await createFlow(service, {
    blocks: [
      { id: 'note', type: 'log', params: { message: 'New upload {{trigger.key}}' } },
      {
        id: 'email',
        type: 'http_request',
        params: {
          method: 'POST',
          url: `${service.outside.url}/email`,
          headers: { 'X-Postmark-Server-Token': '{{SECRETS.postmark_api_key}}' },
          body: { To: 'ops@example.com', Subject: 'New image {{trigger.key}}' },
        },
      },
    ],
  });
  await service.call('PUT', `/v1/flows/${flowId}/secrets/postmark_api_key`, { value: SECRET });
  return flowId;
}

/** Runs of the seed flow started and completed end to end (`?wait`), from `concurrency` clients. */
export async function seedThroughput(service: Service, flowId: string, concurrency: number, total: number): Promise<LoadResult> {
  const url = `${service.server.url}/v1/flows/${flowId}/runs?wait=30`;
  const headers = { authorization: `Bearer ${service.server.token}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ input: { key: 'images/cat.jpg' } });
  return load(
    async () => {
      const res = await fetch(url, { method: 'POST', headers, body });
      return res.status === 200 && ((await res.json()) as { status: string }).status === 'succeeded';
    },
    { concurrency, total },
  );
}

/** Median trigger → succeeded time (`?wait`, measured by the client) of a flow of `steps` log blocks. */
async function medianRunMs(service: Service, steps: number, runs: number): Promise<number> {
  const flowId = await createFlow(service, {
    blocks: Array.from({ length: steps }, (_, i) => ({ id: `l${i}`, type: 'log', params: { message: `step ${i} of {{run.id}}` } })),
  });
  const durations: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const res = await service.call('POST', `/v1/flows/${flowId}/runs?wait=30`, {});
    if (res.body.status !== 'succeeded') throw new Error(`run ${res.body.id} ended ${res.body.status}`);
    durations.push(performance.now() - started);
  }
  return summarize(durations).p50;
}

export async function perStepOverhead(service: Service): Promise<{ oneStepMs: number; twentyStepsMs: number; perExtraStepMs: number }> {
  await medianRunMs(service, 20, 10); // warm-up
  const oneStepMs = await medianRunMs(service, 1, 60);
  const twentyStepsMs = await medianRunMs(service, 20, 60);
  return { oneStepMs, twentyStepsMs, perExtraStepMs: (twentyStepsMs - oneStepMs) / 19 };
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
    runs = await allRuns(service, flowId);
    const finished = runs.filter((r) => r.status === 'succeeded' || r.status === 'failed').length;
    if ((runs.length >= count && finished === runs.length) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const secondsToAllFinished = (performance.now() - started) / 1000;
  const keys = runs.map((r) => r.trigger.key);
  return { uploads: count, secondsToAllFinished, runs: runs.length, duplicates: keys.length - new Set(keys).size };
}

async function allRuns(service: Service, flowId: string) {
  const items: Array<{ status: string; trigger: { key: string } }> = [];
  let cursor: string | null = null;
  do {
    const res: { body: { items: typeof items; nextCursor: string | null } } = await service.call(
      'GET',
      `/v1/flows/${flowId}/runs?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    );
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return items;
}
