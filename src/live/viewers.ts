/**
 * Flow control for live viewers. The server cannot see how much a WebSocket
 * has buffered, so a viewer proves it is reading by sending
 * `{"type":"ack","received":<frames received so far>}` now and then (the
 * web page does, every 100 frames). A viewer that falls more than
 * `MAX_UNACKED` frames behind, acking or not, is closed with 1013 ("try
 * again later") instead of being buffered without bound; it reconnects and
 * resumes (runs: with `after=<last seq>`). `LIVE_MAX_UNACKED` changes the limit.
 */
export const MAX_UNACKED = 5000;
export const SLOW_VIEWER_CLOSE = 1013;

export interface ViewerState {
  sent: number;
  acked: number;
}

/** The acknowledged count carried by a viewer's message, or null for anything else. */
export function ackOf(message: string | ArrayBuffer): number | null {
  if (typeof message !== 'string' || message.length > 200) return null;
  try {
    const parsed = JSON.parse(message) as { type?: unknown; received?: unknown };
    return parsed.type === 'ack' && Number.isSafeInteger(parsed.received) ? (parsed.received as number) : null;
  } catch {
    return null;
  }
}

/**
 * Sends frames to a viewer unless it is too far behind, in which case it
 * is closed. Returns false when the viewer was dropped.
 */
export function sendFrames(ws: WebSocket, state: ViewerState, frames: readonly string[], maxUnacked = MAX_UNACKED): boolean {
  if (state.sent + frames.length - state.acked > maxUnacked) {
    try {
      ws.close(SLOW_VIEWER_CLOSE, 'viewer too slow: reconnect');
    } catch {
      // already closing
    }
    return false;
  }
  try {
    for (const frame of frames) ws.send(frame);
    state.sent += frames.length;
    return true;
  } catch {
    return false;
  }
}
