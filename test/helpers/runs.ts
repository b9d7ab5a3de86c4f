import { env } from 'cloudflare:test';
import { inject } from 'vitest';
import { executorName, executorStub, shardCount } from '../../src/runs/executors';
import { executorOfRun } from '../../src/runs/run-ids';
import type { RecordedRequest } from './recorded';
import { call, callJson, createFlow } from './api';

/** URL of a route of the fake outside API (see fake-api.ts). */
export const fakeUrl = (path: string): string => `http://127.0.0.1:${inject('fakeApiPort')}${path}`;

/** What the fake outside API received on paths starting with `prefix`. */
export async function received(prefix: string): Promise<RecordedRequest[]> {
  const res = await fetch(fakeUrl(`/__requests?path=${encodeURIComponent(prefix)}`));
  return ((await res.json()) as { items: RecordedRequest[] }).items;
}

/** A path prefix no other test uses, so request records do not mix. */
export const uniquePath = (base: string): string => `/${base}/${crypto.randomUUID()}`;

export async function setSecret(tok: string, flowId: string, name: string, value: string, allowedHosts?: string[]) {
  const res = await call('PUT', `/v1/flows/${flowId}/secrets/${name}`, { token: tok, body: { value, allowedHosts } });
  if (res.status >= 300) throw new Error(`setSecret: ${res.status} ${await res.text()}`);
}

export async function setVariable(tok: string, flowId: string, name: string, value: string) {
  const res = await call('PUT', `/v1/flows/${flowId}/variables/${name}`, { token: tok, body: { value } });
  if (res.status >= 300) throw new Error(`setVariable: ${res.status} ${await res.text()}`);
}

/** Starts a run and waits (up to 30 s) for it to end; returns the run and all its events. */
export async function runToEnd(tok: string, flowId: string, input: Record<string, unknown> = {}) {
  const started = await callJson('POST', `/v1/flows/${flowId}/runs?wait=30`, { token: tok, body: { input } });
  if (started.status !== 200) throw new Error(`run did not finish: ${started.status} ${JSON.stringify(started.body)}`);
  return { run: started.body, events: await allEvents(tok, started.body.id) };
}

export async function allEvents(tok: string, runId: string): Promise<any[]> {
  const res = await callJson('GET', `/v1/runs/${runId}/logs?limit=1000`, { token: tok });
  return res.body.items;
}

/** Creates a flow from blocks (manual trigger) and runs it to the end. */
export async function runBlocks(
  tok: string,
  blocks: unknown[],
  input: Record<string, unknown> = {},
  setup?: (flowId: string) => Promise<void>,
) {
  const flow = await createFlow(tok, { blocks });
  await setup?.(flow.id);
  return { flow, ...(await runToEnd(tok, flow.id, input)) };
}

export const stepOf = (run: { steps: Array<{ blockId: string }> }, blockId: string): any => run.steps.find((s) => s.blockId === blockId);

/** Polls until `predicate` holds (for states that a run reaches asynchronously). */
export async function until<T>(read: () => Promise<T>, predicate: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (predicate(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not reached in ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The Durable Object stub of the executor a run id names (for runInDurableObject and runDurableObjectAlarm). */
export function executorObject(runId: string) {
  const named = executorOfRun(runId);
  if (!named) throw new Error(`not a run id: ${runId}`);
  return env.EXECUTORS.get(env.EXECUTORS.idFromName(executorName(named.flowId, named.shard)));
}

/** Shard 0 of a flow's executors, which hosts the flow's live viewers. */
export const flowViewerHost = (flowId: string) => env.EXECUTORS.get(env.EXECUTORS.idFromName(executorName(flowId, 0)));

/**
 * Makes every executor of the flow write its pending run index changes now.
 * The index catches up within a second by itself (its own test checks that);
 * tests that count runs in a list call this first, so the count is exact.
 */
export async function indexCaughtUp(flowId: string): Promise<void> {
  await Promise.all(
    Array.from({ length: shardCount(env) }, async (_, shard) => (await executorStub(env, flowId, shard).operations()).writeIndexNow()),
  );
}

/** `GET /v1/flows/:flowId/runs` once the index has caught up. */
export async function listedRuns(tok: string, flowId: string, query = ''): Promise<any[]> {
  await indexCaughtUp(flowId);
  return (await callJson('GET', `/v1/flows/${flowId}/runs${query}`, { token: tok })).body.items;
}
