/**
 * `npm run bench`: figures, not pass/fail. Starts the service the way
 * `npm start` does (free port, fresh state) with a local fake outside API,
 * prints tables, and writes bench/results/<date>.json. Every service figure
 * is also given as a ratio to the /healthz baseline measured in the same run,
 * because absolute numbers move from machine to machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { printCryptoBench, runCryptoBench } from './crypto';
import { baseline, liveLatency, perStepOverhead, seedFlow, seedThroughput, uploadTrigger } from './scenarios';
import { startService } from './service';
import { ms } from './stats';

const results: Record<string, unknown> = { startedAt: new Date().toISOString(), node: process.version };
const fixed = (n: number, digits = 1) => n.toFixed(digits);

const service = await startService();
try {
  console.log(`PowerFlows at ${service.server.url}; fake outside API at ${service.outside.url}\n`);
  const flowId = await seedFlow(service);
  await seedThroughput(service, flowId, 10, 50); // warm-up

  const rows = [];
  const throughput: Record<string, unknown> = {};
  for (const [concurrency, total] of [
    [1, 50],
    [10, 300],
    [50, 600],
  ] as const) {
    const base = await baseline(service, concurrency);
    const seed = await seedThroughput(service, flowId, concurrency, total);
    throughput[`c${concurrency}`] = { baseline: base, seed };
    rows.push({
      concurrency,
      'healthz req/s': fixed(base.perSecond),
      'healthz p50/p99 ms': `${fixed(base.latencyMs.p50)} / ${fixed(base.latencyMs.p99)}`,
      'seed runs/s': fixed(seed.perSecond),
      'seed p50/p95/p99 ms': `${fixed(seed.latencyMs.p50)} / ${fixed(seed.latencyMs.p95)} / ${fixed(seed.latencyMs.p99)}`,
      'runs/s ÷ healthz': `${fixed((100 * seed.perSecond) / base.perSecond)} %`,
      errors: seed.errors,
    });
  }
  console.log('Seed flow (log + http_request with a secret header), trigger → succeeded, vs GET /healthz at the same concurrency');
  console.table(rows);
  results.throughput = throughput;

  const steps = await perStepOverhead(service);
  console.log('\nPer-step overhead (median trigger → succeeded, sequential runs)');
  console.table([{ '1 log block': ms(steps.oneStepMs), '20 log blocks': ms(steps.twentyStepsMs), 'one extra step': ms(steps.perExtraStepMs) }]);
  results.perStep = steps;

  await liveLatency(service, 10, 50, 1); // warm-up
  const live = await liveLatency(service, 10, 50, 5);
  console.log('\nLive logs: 10 viewers on the flow socket, runs started at 50/s; event ts → arrival');
  console.table([
    {
      runs: live.runs,
      'runs/s': fixed(live.runsPerSecond),
      events: live.events,
      'p50 ms': fixed(live.latencyMs.p50),
      'p99 ms': fixed(live.latencyMs.p99),
      lost: live.lost,
      duplicated: live.duplicated,
    },
  ]);
  results.live = live;

  const uploads = await uploadTrigger(service, 200);
  console.log('\nUpload trigger: 200 uploads through the API → every run finished');
  console.table([{ uploads: uploads.uploads, 'seconds to all finished': fixed(uploads.secondsToAllFinished, 2), runs: uploads.runs, duplicates: uploads.duplicates }]);
  results.uploads = uploads;
} finally {
  await service.stop();
}

const crypto = await runCryptoBench();
printCryptoBench(crypto);
results.secrets = crypto;

const dir = path.join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nWrote ${path.relative(process.cwd(), file)}`);
