/** A small closed-loop load driver: `concurrency` workers issue requests back to back. */
import { summarize } from './stats';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  latencyMs: ReturnType<typeof summarize>;
}

/**
 * Runs `task` from `concurrency` workers until `total` tasks have run (or
 * `durationMs` has passed, when given instead). A task resolves true when it
 * succeeded.
 */
export async function load(
  task: () => Promise<boolean>,
  options: { concurrency: number; total?: number; durationMs?: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  const started = performance.now();
  const more = () =>
    options.total !== undefined ? issued < options.total : performance.now() - started < (options.durationMs ?? 0);
  const worker = async () => {
    while (more()) {
      issued++;
      const t0 = performance.now();
      let ok = false;
      try {
        ok = await task();
      } catch {
        ok = false;
      }
      if (ok) latencies.push(performance.now() - t0);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { requests: latencies.length, errors, seconds, perSecond: latencies.length / seconds, latencyMs: summarize(latencies) };
}
