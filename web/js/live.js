/**
 * Live events, without any DOM: `RunStream` follows one run, `FlowStream`
 * every run of one flow. Each connection gets a fresh single-use ticket
 * (`POST /v1/live-tickets`), resumes with `after=<last seq>`, drops events it
 * has already seen (by seq), reconnects on its own with backoff after an
 * unexpected close, and falls back to polling `GET /v1/runs/:id/logs` when
 * WebSockets cannot be used.
 */
import { api, ApiError } from './api.js';

/**
 * @typedef {{ type: 'log', seq: number, ts: string, runId: string, blockId: string|null, level: string, message: string, iteration?: number }} LogEvent
 * @typedef {{ type: 'step', seq: number, ts: string, runId: string, blockId: string, status: string, attempt: number, error?: string, iteration?: number }} StepEvent
 * @typedef {{ type: 'run', seq: number, ts: string, runId: string, status: string, error?: string }} RunEvent
 * @typedef {LogEvent | StepEvent | RunEvent} LiveEvent
 * @typedef {'connecting'|'live'|'reconnecting'|'polling'|'done'|'error'|'stopped'} StreamState
 * @typedef {{ onEvent: (event: LiveEvent) => void, onState?: (state: StreamState, detail?: string) => void }} StreamHandlers
 */

export const FINAL_RUN_STATUSES = new Set(['succeeded', 'failed', 'cancelled']);

const POLL_MS = 1500;
const MAX_BACKOFF_MS = 15_000;
/** Consecutive sockets that never opened before giving up on WebSockets. */
const MAX_FAILED_OPENS = 3;

/** @param {string} path */
function socketUrl(path) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

/** Frames between acknowledgements on the flow socket (the hub's flow control). */
const ACK_EVERY = 100;

/** @param {number} attempt */
function backoff(attempt) {
  const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/** @param {unknown} data @returns {LiveEvent | null} */
function parseEvent(data) {
  if (typeof data !== 'string') return null;
  try {
    const event = JSON.parse(data);
    if (event && typeof event === 'object' && typeof event.seq === 'number' && typeof event.type === 'string') return event;
  } catch {
    // not an event
  }
  return null;
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What both streams share: starting (socket, or polling where WebSockets are
 * unavailable), stopping, a socket per connection with a fresh ticket, and
 * reconnecting with backoff. A subclass says what it connects to
 * (`ticketTarget`, `socketPath`), how it takes a frame (`receive`), whether
 * it has reached its natural end (`ended`), and how it polls (`poll`).
 * @abstract
 */
class LiveStream {
  /** @param {StreamHandlers} handlers @param {boolean} forcePolling */
  constructor(handlers, forcePolling) {
    this.handlers = handlers;
    this.forcePolling = forcePolling;
    this.stopped = false;
    this.attempt = 0;
    this.failedOpens = 0;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
  }

  start() {
    if (this.forcePolling || typeof WebSocket === 'undefined') void this.poll();
    else void this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close(1000, 'viewer left');
    this.socket = null;
    this.state('stopped');
  }

  /** @param {StreamState} state @param {string} [detail] */
  state(state, detail) {
    this.handlers.onState?.(state, detail);
  }

  /** @returns {{ runId: string } | { flowId: string }} */
  ticketTarget() {
    throw new Error('abstract');
  }

  /** @param {string} _ticket @returns {string} */
  socketPath(_ticket) {
    throw new Error('abstract');
  }

  /** @param {unknown} _data @param {WebSocket} _socket */
  receive(_data, _socket) {
    throw new Error('abstract');
  }

  /** Whether the stream has reached its natural end (a close then is no reason to reconnect). */
  ended() {
    return false;
  }

  /** @returns {StreamState} */
  connectingState() {
    return this.attempt === 0 ? 'connecting' : 'reconnecting';
  }

  /** @returns {Promise<void>} */
  async poll() {
    throw new Error('abstract');
  }

  async connect() {
    if (this.stopped) return;
    this.state(this.connectingState());
    let ticket;
    try {
      ticket = (await api.liveTicket(this.ticketTarget())).ticket;
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof ApiError && error.status === 401) return this.state('error', error.message);
      if (error instanceof ApiError && (error.status === 404 || error.status === 403)) {
        // No live route (or not allowed to use it): the history route still works.
        return void this.poll();
      }
      return this.retry();
    }
    if (this.stopped) return;
    let socket;
    try {
      socket = new WebSocket(socketUrl(this.socketPath(ticket)));
    } catch {
      return void this.poll();
    }
    this.socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      this.attempt = 0;
      this.failedOpens = 0;
      this.state('live');
    });
    socket.addEventListener('message', (message) => this.receive(message.data, socket));
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      if (this.ended()) return this.state('done');
      if (!opened && ++this.failedOpens >= MAX_FAILED_OPENS) return void this.poll();
      this.retry();
    });
  }

  retry() {
    if (this.stopped) return;
    const delay = backoff(this.attempt++);
    this.state('reconnecting', `retrying in ${Math.round(delay / 100) / 10} s`);
    this.timer = setTimeout(() => void this.connect(), delay);
  }
}

export class RunStream extends LiveStream {
  /**
   * @param {string} runId
   * @param {StreamHandlers} handlers
   * @param {{ forcePolling?: boolean }} [options]
   */
  constructor(runId, handlers, options = {}) {
    super(handlers, Boolean(options.forcePolling));
    this.runId = runId;
    /** @type {number | null} highest seq seen */
    this.lastSeq = null;
    /** @type {Set<number>} */
    this.seen = new Set();
    this.finished = false;
  }

  /** @param {LiveEvent | null} event */
  accept(event) {
    if (!event || this.seen.has(event.seq)) return;
    if (event.runId && event.runId !== this.runId) return;
    this.seen.add(event.seq);
    if (this.lastSeq === null || event.seq > this.lastSeq) this.lastSeq = event.seq;
    const justFinished = event.type === 'run' && FINAL_RUN_STATUSES.has(event.status) && !this.finished;
    if (justFinished) {
      this.finished = true;
      // The server closes with 1000 after the final event; close ourselves if that takes long.
      const socket = this.socket;
      if (socket) setTimeout(() => socket.readyState <= WebSocket.OPEN && socket.close(1000, 'run finished'), 3000);
    }
    this.handlers.onEvent(event);
    if (justFinished) this.state('done');
  }

  ticketTarget() {
    return { runId: this.runId };
  }

  /** @param {string} ticket */
  socketPath(ticket) {
    const query = new URLSearchParams({ ticket });
    if (this.lastSeq !== null) query.set('after', String(this.lastSeq));
    return `/v1/runs/${encodeURIComponent(this.runId)}/live?${query}`;
  }

  /** @param {unknown} data */
  receive(data) {
    this.accept(parseEvent(data));
  }

  /** The normal end: code 1000 after the run's final event (any close after it is as good). */
  ended() {
    return this.finished;
  }

  /** @returns {StreamState} */
  connectingState() {
    return this.attempt === 0 && this.lastSeq === null ? 'connecting' : 'reconnecting';
  }

  /** Pages through `/logs?after=` until the run's final event, then stops. */
  async poll() {
    if (this.stopped) return;
    this.state('polling');
    let failures = 0;
    while (!this.stopped && !this.finished) {
      try {
        const page = await api.runs.logs(this.runId, { after: this.lastSeq, limit: 500 });
        failures = 0;
        const items = Array.isArray(page?.items) ? page.items : [];
        for (const event of items) this.accept(event);
        if (items.length >= 500) continue; // more history waiting
      } catch (error) {
        if (error instanceof ApiError && (error.status === 401 || error.status === 403 || error.status === 404)) {
          return this.state('error', error.message);
        }
        failures++;
      }
      if (this.finished || this.stopped) break;
      await sleep(failures ? backoff(failures) : POLL_MS);
    }
    if (!this.stopped) this.state('done');
  }
}

/**
 * Every event of every run of one flow, from now on. Events are handed on
 * as they come (dedupe by runId+seq); the caller groups them by runId.
 */
export class FlowStream extends LiveStream {
  /** @param {string} flowId @param {StreamHandlers} handlers */
  constructor(flowId, handlers) {
    super(handlers, false);
    this.flowId = flowId;
    /** @type {Map<string, Set<number>>} */
    this.seen = new Map();
    /** @type {Map<string, number>} highest seq per run (for the polling fallback) */
    this.lastSeq = new Map();
    this.since = Date.now();
    /** @type {WeakMap<WebSocket, number>} frames received per socket (for acknowledgements) */
    this.received = new WeakMap();
  }

  /** @param {LiveEvent | null} event */
  accept(event) {
    if (!event || typeof event.runId !== 'string') return;
    let seen = this.seen.get(event.runId);
    if (!seen) {
      seen = new Set();
      this.seen.set(event.runId, seen);
    }
    if (seen.has(event.seq)) return;
    seen.add(event.seq);
    this.lastSeq.set(event.runId, Math.max(event.seq, this.lastSeq.get(event.runId) ?? -Infinity));
    this.handlers.onEvent(event);
  }

  ticketTarget() {
    return { flowId: this.flowId };
  }

  /** @param {string} ticket */
  socketPath(ticket) {
    return `/v1/flows/${encodeURIComponent(this.flowId)}/live?${new URLSearchParams({ ticket })}`;
  }

  /** @param {unknown} data @param {WebSocket} socket */
  receive(data, socket) {
    this.accept(parseEvent(data));
    const received = (this.received.get(socket) ?? 0) + 1;
    this.received.set(socket, received);
    // The hub drops viewers that fall too far behind; acknowledging keeps this one in.
    if (received % ACK_EVERY === 0 && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: 'ack', received }));
    }
  }

  /** Fallback: list the flow's recent runs, then page each unfinished (or new) run's events. */
  async poll() {
    this.state('polling');
    /** @type {Set<string>} */
    const finished = new Set();
    let failures = 0;
    while (!this.stopped) {
      try {
        const page = await api.runs.list(this.flowId, { limit: 20 });
        const runs = (Array.isArray(page?.items) ? page.items : []).filter(
          (/** @type {any} */ run) => !finished.has(run.id) && Date.parse(run.createdAt) >= this.since - 5000,
        );
        for (const run of runs.reverse()) {
          const logs = await api.runs.logs(run.id, { after: this.lastSeq.get(run.id) ?? null, limit: 500 });
          for (const event of Array.isArray(logs?.items) ? logs.items : []) this.accept(event);
          if (FINAL_RUN_STATUSES.has(run.status)) finished.add(run.id);
        }
        failures = 0;
      } catch (error) {
        if (error instanceof ApiError && (error.status === 401 || error.status === 403 || error.status === 404)) {
          return this.state('error', error.message);
        }
        failures++;
      }
      await sleep(failures ? backoff(failures) : POLL_MS * 2);
    }
  }
}
