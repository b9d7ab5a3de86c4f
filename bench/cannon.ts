/**
 * Load from autocannon: the generator that saturates `GET /healthz` on this
 * machine (the earlier fetch-based loop topped out near 400 requests/s, under
 * what the server serves), so a ratio to /healthz is a ratio to what the
 * server can do, not to what the client can send.
 */
import autocannon from 'autocannon';
import type { LoadResult } from './load';

export interface CannonOptions {
  connections: number;
  durationMs: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

/** `connections` clients sending requests back to back for `durationMs`; a non-2xx answer is an error. */
export async function cannon(url: string, options: CannonOptions): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.durationMs / 1000,
    method: options.method ?? 'GET',
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const seconds = options.durationMs / 1000;
  const ok = result['2xx'];
  const { latency } = result;
  return {
    requests: ok,
    errors: result.non2xx + result.errors + result.timeouts,
    seconds,
    perSecond: ok / seconds,
    latencyMs: { n: ok, p50: latency.p50, p95: latency.p97_5, p99: latency.p99, max: latency.max },
  };
}
