import { SELF } from 'cloudflare:test';

export interface LiveSocket {
  status: number;
  events: any[];
  /** Resolves with the close code. */
  closed: Promise<number>;
  ws: WebSocket | null;
  /** Resolves once `count` events have arrived. */
  received(count: number, timeoutMs?: number): Promise<any[]>;
  body: string;
}

/** Opens a live WebSocket through the Worker, like a browser or a Node client would. */
export async function openLive(path: string, options: { token?: string; upgrade?: boolean } = {}): Promise<LiveSocket> {
  const headers: Record<string, string> = {};
  if (options.upgrade !== false) headers.upgrade = 'websocket';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await SELF.fetch(`http://powerflows.test${path}`, { headers });
  const ws = res.webSocket;
  const events: any[] = [];
  let closeWith: (code: number) => void = () => {};
  const closed = new Promise<number>((resolve) => (closeWith = resolve));
  const waiters: Array<() => void> = [];
  if (ws) {
    ws.accept();
    ws.addEventListener('message', (msg) => {
      events.push(JSON.parse(msg.data as string));
      for (const wake of waiters.splice(0)) wake();
    });
    ws.addEventListener('close', (event) => closeWith(event.code));
  } else {
    closeWith(-1);
  }
  return {
    status: res.status,
    events,
    closed,
    ws,
    body: ws ? '' : await res.text(),
    async received(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${events.length} of ${count} events arrived`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return events;
    },
  };
}

/** Per run, the seqs received, which must be 1..n without gaps or duplicates. */
export function seqsByRun(events: Array<{ runId: string; seq: number }>): Map<string, number[]> {
  const byRun = new Map<string, number[]>();
  for (const e of events) byRun.set(e.runId, [...(byRun.get(e.runId) ?? []), e.seq]);
  return byRun;
}
