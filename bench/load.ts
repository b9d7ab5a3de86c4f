/** A small closed-loop load driver: `concurrency` workers issue requests back to back. */
import { summarize } from './stats';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  latencyMs: ReturnType<typeof summarize>;
}

/** How much load: `total` tasks, or as many as start within `durationMs`. */
export interface LoadOptions {
  concurrency: number;
  total?: number;
  durationMs?: number;
}

/**
 * Runs `task` from `concurrency` workers until `total` tasks have run (or
 * `durationMs` has passed, when given instead). Each task gets its index
 * (0, 1, 2, … in the order they start) and resolves true when it succeeded.
 */
export async function load(task: (index: number) => Promise<boolean>, options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  const started = performance.now();
  const more = () => (options.total !== undefined ? issued < options.total : performance.now() - started < (options.durationMs ?? 0));
  const worker = async () => {
    while (more()) {
      const index = issued++;
      const t0 = performance.now();
      let ok = false;
      try {
        ok = await task(index);
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
