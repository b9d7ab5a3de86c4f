import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { api, startDevServer, type DevServer } from './harness';

interface Collected {
  events: any[];
  closed: Promise<number>;
  socket: WebSocket;
}

function connect(url: string, headers: Record<string, string> = {}): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const events: any[] = [];
    const closed = new Promise<number>((done) => socket.on('close', (code) => done(code)));
    socket.on('message', (data) => events.push(JSON.parse(data.toString())));
    socket.once('open', () => resolve({ events, closed, socket }));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

describe('live logs over real WebSockets (wrangler dev)', () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(() => server?.stop());

  it('a ticket opens the run socket; events stream live and it closes with 1000; the flow socket sees the same events', async () => {
    const flow = await api(server, 'POST', '/v1/flows', {
      name: 'live',
      trigger: { type: 'manual' },
      blocks: [
        { id: 'one', type: 'log', params: { message: 'one' } },
        { id: 'pause', type: 'delay', params: { seconds: 1 } },
        { id: 'two', type: 'log', params: { message: 'two' } },
      ],
    });
    const ws = server.url.replace('http', 'ws');
    const flowTicket = await api(server, 'POST', '/v1/live-tickets', { flowId: flow.body.id });
    const flowViewer = await connect(`${ws}/v1/flows/${flow.body.id}/live?ticket=${flowTicket.body.ticket}`);

    const run = await api(server, 'POST', `/v1/flows/${flow.body.id}/runs`, {});
    const runTicket = await api(server, 'POST', '/v1/live-tickets', { runId: run.body.id });
    expect(runTicket.status).toBe(201);
    const viewer = await connect(`${ws}/v1/runs/${run.body.id}/live?ticket=${runTicket.body.ticket}&after=0`);
    expect(await viewer.closed).toBe(1000);

    const stored = await api(server, 'GET', `/v1/runs/${run.body.id}/logs`);
    expect(viewer.events).toEqual(stored.body.items);
    expect(viewer.events.map((e) => e.seq)).toEqual(viewer.events.map((_, i) => i + 1));
    expect(viewer.events.at(-1)).toMatchObject({ type: 'run', status: 'succeeded' });

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(flowViewer.events.filter((e) => e.runId === run.body.id)).toEqual(stored.body.items);
    flowViewer.socket.close();

    // A used ticket does not open a second socket; a bearer token does.
    await expect(connect(`${ws}/v1/runs/${run.body.id}/live?ticket=${runTicket.body.ticket}`)).rejects.toThrow(/401/);
    // (wrangler dev's local proxy ends the TCP connection ~10 s after a close handshake, so here
    // we only check that the server started closing once the replay was sent.)
    const again = await connect(`${ws}/v1/runs/${run.body.id}/live?after=3`, { authorization: `Bearer ${server.token}` });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(again.events.map((e) => e.seq)).toEqual(viewer.events.slice(3).map((e) => e.seq));
    expect(again.socket.readyState).toBeGreaterThanOrEqual(WebSocket.CLOSING);
    again.socket.terminate();
  });
});
