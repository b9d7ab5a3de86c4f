/**
 * The executor's live viewers: WebSockets (hibernatable) of one run, and
 * on shard 0 those of the whole flow. A run's viewer gets its stored events
 * after `after`, then live ones; flow viewers get every event of the flow,
 * which other shards forward to shard 0 while it has any. Publishing never
 * waits on a viewer; a slow flow viewer is closed (see live/viewers.ts).
 */
import { settings } from '../../config';
import type { Env } from '../../env';
import { ViewerForwarder } from '../../live/viewer-forwarder';
import { ackOf, sendFrames, type ViewerState } from '../../live/viewers';
import { executorStub, shardCount } from '../executors';

const FLOW_VIEWERS = 'flow';
const runViewers = (runId: string) => `run:${runId}`;

/** A live viewer of one run, as attached to its hibernating WebSocket. */
interface RunViewer {
  runId: string;
  lastSeq: number;
}

export class ViewerHub {
  /** Flow-viewer flow control (shard 0); counters start again after hibernation. */
  private readonly flowViewers = new Map<WebSocket, ViewerState>();
  private forwarder: ViewerForwarder | undefined;
  /** Shards other than 0: whether shard 0 has flow viewers to forward events to. */
  private forwardToViewers = true;
  /** Counts shard 0's "a viewer joined": a "nobody got it" answer sent before the last join must not switch forwarding off. */
  private joins = 0;
  /**
   * How many viewer sockets this object holds, counted again after any
   * change (undefined): most commits have no viewer to tell, and asking the
   * runtime for sockets on every commit costs more than the commit's writes.
   */
  private sockets: number | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    /** Which flow and shard this executor is (known once it has seen a run id). */
    private readonly whoAmI: () => { flowId: string; shard: number },
  ) {}

  /** Sends a transition's events to the run's viewers and the flow's (here, or through shard 0). */
  publish(runId: string, frames: string[], lastSeq: number, final: boolean): void {
    if (frames.length === 0) return;
    const { shard } = this.whoAmI();
    if (shard !== 0 && this.forwardToViewers) this.forwarderToShard0().push(frames, final);
    this.sockets ??= this.ctx.getWebSockets().length;
    if (this.sockets === 0) return;
    for (const ws of this.ctx.getWebSockets(runViewers(runId))) {
      const viewer = ws.deserializeAttachment() as RunViewer;
      const unseen = frames.slice(Math.max(0, frames.length - (lastSeq - viewer.lastSeq)));
      try {
        for (const frame of unseen) ws.send(frame);
        ws.serializeAttachment({ ...viewer, lastSeq } satisfies RunViewer);
        if (final) ws.close(1000, 'run finished');
      } catch {
        // a closed socket: its close handler cleans up
      }
    }
    if (shard === 0) this.toFlowViewers(frames);
  }

  /** Shard 0: other shards' events for the flow's viewers; answers how many got them. */
  toFlowViewers(frames: string[]): number {
    const maxUnacked = settings(this.env).LIVE_MAX_UNACKED;
    let delivered = 0;
    for (const ws of this.ctx.getWebSockets(FLOW_VIEWERS)) {
      if (sendFrames(ws, this.flowViewerState(ws), frames, maxUnacked)) delivered++;
      else this.flowViewers.delete(ws);
    }
    return delivered;
  }

  /** Shards other than 0: shard 0 has flow viewers again. */
  flowViewersJoined(): void {
    this.joins++;
    this.forwardToViewers = true;
  }

  /** A flow viewer (shard 0): every event of the flow from now on. */
  async acceptFlowViewer(flowId: string): Promise<WebSocket> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [FLOW_VIEWERS]);
    this.sockets = undefined;
    this.flowViewers.set(server, { sent: 0, acked: 0 });
    // Tell the other shards that this flow has a viewer, so they forward their events here.
    await Promise.all(
      Array.from({ length: shardCount(this.env) - 1 }, (_, i) => executorStub(this.env, flowId, i + 1).flowViewersJoined()),
    );
    return client;
  }

  /** A run's viewer: its stored events after `after` (synchronously, so nothing slips in between), then live ones. */
  acceptRunViewer(runId: string, after: number, storedAfter: (seq: number) => string[], final: boolean): WebSocket {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [runViewers(runId)]);
    this.sockets = undefined;
    let lastSeq = after;
    for (let page = storedAfter(lastSeq); page.length > 0; page = storedAfter(lastSeq)) {
      for (const frame of page) server.send(frame);
      lastSeq += page.length;
    }
    server.serializeAttachment({ runId, lastSeq } satisfies RunViewer);
    if (final) server.close(1000, 'run finished');
    return client;
  }

  message(ws: WebSocket, message: string | ArrayBuffer): void {
    const acked = ackOf(message);
    if (acked === null || !this.ctx.getTags(ws).includes(FLOW_VIEWERS)) return;
    const state = this.flowViewerState(ws);
    // A viewer cannot acknowledge more than it was sent: an inflated ack must not switch the limit off.
    state.acked = Math.min(state.sent, Math.max(state.acked, acked));
  }

  closed(ws: WebSocket, code?: number): void {
    this.flowViewers.delete(ws);
    this.sockets = undefined;
    if (code === undefined) return;
    try {
      ws.close(code === 1005 ? 1000 : code, 'bye');
    } catch {
      // already closed
    }
  }

  /** How many flow viewers are connected. */
  flowViewerCount(): number {
    return this.ctx.getWebSockets(FLOW_VIEWERS).length;
  }

  private forwarderToShard0(): ViewerForwarder {
    // One stub for the instance's life: calls through one stub arrive in order.
    this.forwarder ??= (() => {
      const host = executorStub(this.env, this.whoAmI().flowId, 0);
      return new ViewerForwarder(async (frames) => {
        const joins = this.joins;
        const delivered = await host.publish(frames);
        if (delivered === 0 && joins === this.joins) this.forwardToViewers = false; // until shard 0 says a viewer joined
      });
    })();
    return this.forwarder;
  }

  private flowViewerState(ws: WebSocket): ViewerState {
    let state = this.flowViewers.get(ws);
    if (!state) {
      state = { sent: 0, acked: 0 };
      this.flowViewers.set(ws, state);
    }
    return state;
  }
}
