/**
 * The throughput table: at concurrency 1, 20 and 50, `GET /healthz` for 3 s
 * (the baseline) and right after it, runs of the seed flow for 6 s, trigger →
 * succeeded (`?wait`), both driven by autocannon (see cannon.ts). The same
 * function measures any service (on disk, in /dev/shm), so the tables
 * compare. Each level uses a flow of its own, so its runs can be counted.
 */
import type { LoadResult } from './load';
import { baseline, seedFlow, seedThroughput } from './scenarios';
import type { Service } from './service';

const SEED_MS = 6000;

/** The levels measured, with the target the on-disk (`npm start`) figures are read against. */
const LEVELS: ReadonlyArray<{ concurrency: number; target: string }> = [
  { concurrency: 1, target: '' },
  { concurrency: 20, target: 'runs/s ≥ 30 % of healthz (goal 50 %)' },
  { concurrency: 50, target: 'runs/s ≥ 30 % of healthz (goal 50 %)' },
];

export interface ThroughputLevel {
  concurrency: number;
  healthz: LoadResult;
  seed: LoadResult & { notSucceeded: number };
  /** Seed runs/s as a percentage of healthz requests/s at the same concurrency. */
  percentOfHealthz: number;
}

/** The throughput table of one service: a fresh seed flow, a 2 s warm-up, then each level. */
export async function measureThroughput(service: Service): Promise<ThroughputLevel[]> {
  await seedThroughput(service, await seedFlow(service), { connections: 20, durationMs: 2000 }); // warm-up
  const levels: ThroughputLevel[] = [];
  for (const { concurrency } of LEVELS) {
    const flowId = await seedFlow(service);
    const healthz = await baseline(service, concurrency);
    const seed = await seedThroughput(service, flowId, { connections: concurrency, durationMs: SEED_MS });
    levels.push({ concurrency, healthz, seed, percentOfHealthz: (100 * seed.perSecond) / healthz.perSecond });
  }
  return levels;
}

/** Prints a throughput table; `withTargets` adds the targets column (for the `npm start` setting). */
export function printThroughput(title: string, levels: readonly ThroughputLevel[], withTargets: boolean): void {
  const fixed = (n: number) => n.toFixed(1);
  console.log(`\n${title}`);
  console.table(
    levels.map(({ concurrency, healthz, seed, percentOfHealthz }) => ({
      concurrency,
      'healthz req/s': fixed(healthz.perSecond),
      'healthz p50/p99 ms': `${fixed(healthz.latencyMs.p50)} / ${fixed(healthz.latencyMs.p99)}`,
      'seed runs/s': fixed(seed.perSecond),
      'seed p50/p95/p99 ms': `${fixed(seed.latencyMs.p50)} / ${fixed(seed.latencyMs.p95)} / ${fixed(seed.latencyMs.p99)}`,
      'runs/s ÷ healthz': `${fixed(percentOfHealthz)} %`,
      errors: seed.errors,
      'not succeeded': seed.notSucceeded,
      ...(withTargets ? { target: LEVELS.find((l) => l.concurrency === concurrency)?.target ?? '' } : {}),
    })),
  );
}
