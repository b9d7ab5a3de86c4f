/**
 * One Durable Object per flow: it receives the events of that flow's runs
 * (in batches, from the run objects) and fans them out to the flow's live
 * viewers, and it batches the runs' status changes into the D1 run index.
 * It owns no state that matters: viewers are hibernating WebSockets, a run
 * never waits on it for events, and a run whose index update fails here
 * writes it itself.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import { ackOf, MAX_UNACKED, sendFrames, type ViewerState } from '../live/viewers';
import { IndexBatcher, type RunIndexChange } from './index-batcher';
import type { RunEvent } from './types';

export class FlowHub extends DurableObject<Env> {
  /** Per viewer flow-control counters; after hibernation they start again at zero. */
  private readonly viewers = new Map<WebSocket, ViewerState>();
  private readonly index = new IndexBatcher(this.env);

  /** Records a run's status change in the D1 index, batched with other runs' (resolves once committed). */
  async recordIndex(change: RunIndexChange): Promise<void> {
    await this.index.record(change);
  }

  /** Accepts a viewer's WebSocket (the Worker has already authorised it). */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket', { status: 426 });
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    this.viewers.set(server, { sent: 0, acked: 0 });
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends a batch of events from one run to every viewer, one JSON event per frame. */
  async publish(events: RunEvent[]): Promise<number> {
    const frames = events.map((event) => JSON.stringify(event));
    const maxUnacked = Number(this.env.LIVE_MAX_UNACKED) || MAX_UNACKED;
    let delivered = 0;
    for (const ws of this.ctx.getWebSockets()) {
      if (sendFrames(ws, this.stateOf(ws), frames, maxUnacked)) delivered++;
      else this.viewers.delete(ws);
    }
    return delivered;
  }

  /** How many viewers are connected (for tests and operations). */
  async viewerCount(): Promise<number> {
    return this.ctx.getWebSockets().length;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const acked = ackOf(message);
    if (acked === null) return;
    const state = this.stateOf(ws);
    // A viewer cannot acknowledge more than it was sent: an inflated ack must not switch the limit off.
    state.acked = Math.min(state.sent, Math.max(state.acked, acked));
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.viewers.delete(ws);
    try {
      ws.close(code === 1005 ? 1000 : code, 'bye');
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.viewers.delete(ws);
  }

  private stateOf(ws: WebSocket): ViewerState {
    let state = this.viewers.get(ws);
    if (!state) {
      state = { sent: 0, acked: 0 };
      this.viewers.set(ws, state);
    }
    return state;
  }
}
