import { abortAllDurableObjects, env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_UNACKED, SLOW_VIEWER_CLOSE } from '../src/live/viewers';
import type { RunEvent } from '../src/runs/types';
import { callJson, createFlow, token } from './helpers/api';
import { openLive, seqsByRun } from './helpers/live';
import { allEvents, flowViewerHost, until } from './helpers/runs';

let tok: string;
let other: string;
beforeAll(async () => {
  tok = await token({ tenant: 'watcher' });
  other = await token({ tenant: 'stranger' });
});

const logs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `l${i}`, type: 'log', params: { message: `line ${i}` } }));

async function startRun(blocks: unknown[]) {
  const flow = await createFlow(tok, { blocks });
  const run = await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} });
  return { flow, runId: run.body.id as string };
}

async function ticketFor(body: Record<string, string>, tk = tok) {
  return callJson('POST', '/v1/live-tickets', { token: tk, body });
}

const expectConsecutive = (seqs: number[], from = 1) => expect(seqs).toEqual(seqs.map((_, i) => i + from));

describe('live tickets', () => {
  it('are single use, bound to their target, and valid 60 s', async () => {
    const { runId } = await startRun(logs(1));
    const { runId: otherRun } = await startRun(logs(1));
    const issued = await ticketFor({ runId });
    expect(issued.status).toBe(201);
    expect(issued.body.ticket).toMatch(/^tkt_/);
    const ttl = Date.parse(issued.body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);

    const wrongTarget = await openLive(`/v1/runs/${otherRun}/live?ticket=${issued.body.ticket}`);
    expect(wrongTarget.status).toBe(401);
    expect(wrongTarget.ws).toBeNull();

    const second = await ticketFor({ runId });
    const first = await openLive(`/v1/runs/${runId}/live?ticket=${second.body.ticket}`);
    expect(first.status).toBe(101);
    expect(await first.closed).toBe(1000);
    const reused = await openLive(`/v1/runs/${runId}/live?ticket=${second.body.ticket}`);
    expect(reused.status).toBe(401);
    expect(JSON.parse(reused.body).error.code).toBe('unauthorized');
  });

  it('an expired ticket is refused', async () => {
    const { runId } = await startRun(logs(1));
    const issued = await ticketFor({ runId });
    await env.DB.prepare("UPDATE live_tickets SET expires_at = '2000-01-01T00:00:00.000Z'").run();
    const res = await openLive(`/v1/runs/${runId}/live?ticket=${issued.body.ticket}`);
    expect(res.status).toBe(401);
  });

  it("another tenant's target is 404 for the ticket and for a bearer token, and nothing upgrades", async () => {
    const { flow, runId } = await startRun(logs(1));
    expect((await ticketFor({ runId }, other)).status).toBe(404);
    expect((await ticketFor({ flowId: flow.id }, other)).status).toBe(404);
    const viaToken = await openLive(`/v1/runs/${runId}/live`, { token: other });
    expect(viaToken.status).toBe(404);
    expect(viaToken.ws).toBeNull();
    const flowViaToken = await openLive(`/v1/flows/${flow.id}/live`, { token: other });
    expect(flowViaToken.status).toBe(404);
  });

  it('no credentials, a bad token or a missing scope never upgrade', async () => {
    const { runId } = await startRun(logs(1));
    expect((await openLive(`/v1/runs/${runId}/live`)).status).toBe(401);
    expect((await openLive(`/v1/runs/${runId}/live`, { token: 'garbage' })).status).toBe(401);
    expect((await openLive(`/v1/runs/${runId}/live?ticket=tkt_made_up`)).status).toBe(401);
    const noScope = await token({ tenant: 'watcher', scope: 'flows:read' });
    expect((await openLive(`/v1/runs/${runId}/live`, { token: noScope })).status).toBe(403);
    expect((await ticketFor({ runId }, noScope)).status).toBe(403);
    const plain = await openLive(`/v1/runs/${runId}/live`, { token: tok, upgrade: false });
    expect(plain.status).toBe(426);
    expect(JSON.parse(plain.body).error.code).toBe('upgrade_required');
  });

  it('the ticket body names exactly one target', async () => {
    const { flow, runId } = await startRun(logs(1));
    expect((await ticketFor({ runId, flowId: flow.id })).status).toBe(422);
    expect((await ticketFor({})).status).toBe(422);
  });
});

describe('run live socket', () => {
  it('replays from the start, streams the rest live, and closes with 1000 after the final event', async () => {
    const { runId } = await startRun([
      ...logs(2),
      { id: 'pause', type: 'delay', params: { seconds: 1 } },
      ...logs(3).map((b) => ({ ...b, id: `after_${b.id}` })),
    ]);
    await until(
      () => callJson('GET', `/v1/runs/${runId}`, { token: tok }),
      (r) => r.body.status === 'waiting',
    );
    const socket = await openLive(`/v1/runs/${runId}/live`, { token: tok });
    expect(socket.status).toBe(101);
    expect(await socket.closed).toBe(1000);
    const stored = await allEvents(tok, runId);
    expect(socket.events).toEqual(stored);
    expectConsecutive(socket.events.map((e) => e.seq));
    expect(socket.events.at(-1)).toMatchObject({ type: 'run', status: 'succeeded' });
  });

  it('after=<seq> sends only what came later', async () => {
    const { runId } = await startRun(logs(5));
    await until(
      () => callJson('GET', `/v1/runs/${runId}`, { token: tok }),
      (r) => r.body.status === 'succeeded',
    );
    const issued = await ticketFor({ runId });
    const socket = await openLive(`/v1/runs/${runId}/live?ticket=${issued.body.ticket}&after=7`);
    expect(await socket.closed).toBe(1000);
    expect(socket.events[0].seq).toBe(8);
    expectConsecutive(
      socket.events.map((e) => e.seq),
      8,
    );
  });

  it('viewers joining while events are being produced get each seq exactly once, in order', async () => {
    const { runId } = await startRun(logs(60));
    const sockets = await Promise.all(Array.from({ length: 8 }, () => openLive(`/v1/runs/${runId}/live`, { token: tok })));
    await Promise.all(sockets.map((s) => s.closed));
    const total = (await allEvents(tok, runId)).length;
    for (const socket of sockets) {
      const seqs = socket.events.map((e) => e.seq);
      expect(seqs).toHaveLength(total);
      expectConsecutive(seqs);
    }
  });

  it('survives its object being aborted: the viewer reconnects with after= and misses nothing', async () => {
    const { runId } = await startRun([
      ...logs(2),
      { id: 'pause', type: 'delay', params: { seconds: 2 } },
      ...logs(2).map((b) => ({ ...b, id: `z${b.id}` })),
    ]);
    await until(
      () => callJson('GET', `/v1/runs/${runId}`, { token: tok }),
      (r) => r.body.status === 'waiting',
    );
    const first = await openLive(`/v1/runs/${runId}/live`, { token: tok });
    const beforeAbort = await first.received(1);
    await abortAllDurableObjects();
    await first.closed;
    const lastSeen = Math.max(...first.events.map((e) => e.seq));
    expect(lastSeen).toBeGreaterThanOrEqual(beforeAbort.length);
    const second = await openLive(`/v1/runs/${runId}/live?after=${lastSeen}`, { token: tok });
    expect(second.status).toBe(101);
    expect(await second.closed).toBe(1000);
    const seqs = [...first.events, ...second.events].map((e) => e.seq);
    expectConsecutive(seqs);
    expect(second.events.at(-1)).toMatchObject({ type: 'run', status: 'succeeded' });
  });
});

describe("flow live socket (hosted by the flow's executor shard 0)", () => {
  it('delivers every event of 20 concurrent runs to 5 viewers', async () => {
    const flow = await createFlow(tok, { blocks: logs(4) });
    const viewers = await Promise.all(
      Array.from({ length: 5 }, async () =>
        openLive(`/v1/flows/${flow.id}/live?ticket=${(await ticketFor({ flowId: flow.id })).body.ticket}`),
      ),
    );
    expect(viewers.map((v) => v.status)).toEqual(Array(5).fill(101));
    const runs = await Promise.all(
      Array.from({ length: 20 }, () => callJson('POST', `/v1/flows/${flow.id}/runs?wait=20`, { token: tok, body: {} })),
    );
    expect(runs.every((r) => r.body.status === 'succeeded')).toBe(true);
    const perRun = (await allEvents(tok, runs[0]!.body.id)).length;
    for (const viewer of viewers) {
      await viewer.received(20 * perRun);
      const byRun = seqsByRun(viewer.events);
      expect(byRun.size).toBe(20);
      for (const seqs of byRun.values()) expect(seqs).toEqual(Array.from({ length: perRun }, (_, i) => i + 1));
      viewer.ws!.close(1000);
    }
  });

  it('drops a viewer that falls too far behind, keeps one that acknowledges, and never waits on either', async () => {
    const flow = await createFlow(tok, { blocks: [] });
    const silent = await openLive(`/v1/flows/${flow.id}/live`, { token: tok });
    const acking = await openLive(`/v1/flows/${flow.id}/live`, { token: tok });
    acking.ws!.addEventListener('message', () => {
      if (acking.events.length % 100 === 0) acking.ws!.send(JSON.stringify({ type: 'ack', received: acking.events.length }));
    });
    const hub = flowViewerHost(flow.id);
    const event = (seq: number): string =>
      JSON.stringify({
        type: 'log',
        seq,
        ts: new Date().toISOString(),
        runId: 'run_x',
        blockId: 'a',
        level: 'info',
        message: 'x',
      } satisfies RunEvent);
    let sent = 0;
    while (sent < MAX_UNACKED + 500) {
      const batch = Array.from({ length: 100 }, () => event(++sent));
      await hub.publish(batch);
      await acking.received(sent, 5_000);
    }
    expect(await silent.closed).toBe(SLOW_VIEWER_CLOSE);
    expect(await (await hub.operations()).viewerCount()).toBe(1);
    expect(acking.events).toHaveLength(sent);
  });

  it('does not let an inflated acknowledgement switch the limit off', async () => {
    const flow = await createFlow(tok, { blocks: [] });
    const liar = await openLive(`/v1/flows/${flow.id}/live`, { token: tok });
    liar.ws!.send(JSON.stringify({ type: 'ack', received: Number.MAX_SAFE_INTEGER }));
    const hub = flowViewerHost(flow.id);
    const event = (seq: number): string =>
      JSON.stringify({
        type: 'log',
        seq,
        ts: new Date().toISOString(),
        runId: 'run_y',
        blockId: 'a',
        level: 'info',
        message: 'x',
      } satisfies RunEvent);
    let sent = 0;
    while (sent < MAX_UNACKED + 500) await hub.publish(Array.from({ length: 100 }, () => event(++sent)));
    expect(await liar.closed).toBe(SLOW_VIEWER_CLOSE);
  });
});
