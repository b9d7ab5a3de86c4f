/**
 * `npm run bench`: figures, not pass/fail; each figure that has a target is
 * printed beside it. Writes every figure to bench/results/<date>.json.
 *
 * 1. PowerFlows as `npm start` runs it: state on disk (a fresh directory
 *    under os.tmpdir()), `npm start`'s defaults except a tenant run rate limit
 *    high enough for a benchmark, plus a local fake outside API. On it:
 *    - throughput: seed-flow runs (log + http_request with a secret header,
 *      trigger → succeeded with `?wait`) at concurrency 1, 20 and 50, each
 *      right after `GET /healthz` at the same concurrency, and as a ratio to
 *      it, because absolute numbers move from machine to machine;
 *    - a new flow's first run (its executor not warm yet) vs its second run;
 *    - per-step overhead (1 vs 20 log blocks);
 *    - live-log latency (10 viewers on a flow's socket, runs at 50/s);
 *    - the upload trigger (200 uploads → every run finished);
 *    - the soak: BENCH_SOAK_RUNS (default 10,000) runs of one flow at
 *      concurrency 50, then checked for lost runs, lost or doubled outside
 *      calls and gaps in each run's event seqs.
 * 2. The same throughput table with state in /dev/shm (a benchmark-only
 *    setting, when /dev/shm exists), printed beside the on-disk one.
 * 3. The secrets micro-benchmarks, in this process (no service).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { printCryptoBench, runCryptoBench } from './crypto';
import {
  coldFirstRuns,
  liveLatency,
  perStepOverhead,
  seedFlow,
  uploadTrigger,
  type ColdFirstRunResult,
  type LiveResult,
  type UploadResult,
} from './scenarios';
import { hasDevShm, withService } from './service';
import { printSoak, soak, type SoakResult } from './soak';
import { ms } from './stats';
import { measureThroughput, printThroughput, type ThroughputLevel } from './throughput';
import { durableWritesPerRun, type WritesResult } from './writes';

const SOAK_RUNS = positiveInt(process.env.BENCH_SOAK_RUNS, 10_000);
const COLD_FLOWS = 10;
const UPLOADS = 200;

const fixed = (n: number, digits = 1) => n.toFixed(digits);
const progress = (what: string) => console.log(`… ${what}`);

interface OnDisk {
  setting: string;
  throughput: ThroughputLevel[];
  writes: WritesResult;
  coldFirstRun: ColdFirstRunResult;
  perStep: Awaited<ReturnType<typeof perStepOverhead>>;
  live: LiveResult;
  uploads: UploadResult;
  soak: SoakResult;
}

const startedAt = new Date();

const onDisk = await withService({ state: 'disk' }, async (service): Promise<OnDisk> => {
  console.log(`As \`npm start\` runs it: PowerFlows at ${service.server.url} (${service.setting})`);
  console.log(`Fake outside API at ${service.outside.url}\n`);

  progress('throughput at concurrency 1, 20, 50 (about 30 s)');
  const throughput = await measureThroughput(service);

  progress('durable writes per seed run (strace)');
  const writes = await durableWritesPerRun(service, await seedFlow(service), 200);
  console.log(`\nDurable writes per seed run: ${writes.perRun === null ? '–' : writes.perRun.toFixed(2)} (${writes.note})`);

  progress(`first and second runs of ${COLD_FLOWS} new flows`);
  const coldFirstRun = await coldFirstRuns(service, COLD_FLOWS);
  printColdFirstRun(coldFirstRun);

  progress('per-step overhead');
  const perStep = await perStepOverhead(service);
  printPerStep(perStep);

  progress('live logs');
  await liveLatency(service, 10, 50, 1); // warm-up
  const live = await liveLatency(service, 10, 50, 5);
  printLive(live);

  progress(`upload trigger, ${UPLOADS} uploads`);
  const uploads = await uploadTrigger(service, UPLOADS);
  printUploads(uploads);

  progress(`soak, ${SOAK_RUNS} runs (BENCH_SOAK_RUNS)`);
  const soakResult = await soak(service, SOAK_RUNS);
  printSoak(soakResult);

  return { setting: service.setting, throughput, writes, coldFirstRun, perStep, live, uploads, soak: soakResult };
});

const inMemory = hasDevShm()
  ? await withService({ state: 'shm', logLevel: 'warn' }, async (service) => {
      progress(`throughput again with state in /dev/shm (${service.setting})`);
      return { setting: service.setting, throughput: await measureThroughput(service) };
    })
  : undefined;

const secrets = await runCryptoBench();
printCryptoBench(secrets);

const throughputTitle = (where: string) =>
  `Seed flow (log + http_request with a secret header), trigger → succeeded, vs GET /healthz at the same concurrency — ${where}`;
printThroughput(throughputTitle('state ON DISK, as `npm start` runs it'), onDisk.throughput, true);
if (inMemory) printThroughput(throughputTitle('state in /dev/shm (benchmark-only setting)'), inMemory.throughput, false);
else console.log('\n(no /dev/shm on this machine: no in-memory table)');

const targets = targetRows(onDisk);
console.log('\nTargets, state on disk as `npm start` runs it (figures, not pass/fail)');
console.table(targets);

const results = {
  startedAt: startedAt.toISOString(),
  node: process.version,
  onDisk,
  devShm: inMemory ?? null,
  secrets,
  targets,
};
const dir = path.join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${startedAt.toISOString().slice(0, 19).replace(/:/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nWrote ${path.relative(process.cwd(), file)}`);

function printColdFirstRun(cold: ColdFirstRunResult): void {
  console.log(`\nA new flow's first run: ${cold.flows} brand-new seed flows, each run twice (trigger → succeeded, ?wait)`);
  console.table([
    {
      'first run median ms': fixed(cold.firstRunMs.p50),
      'first run max ms': fixed(cold.firstRunMs.max),
      'second run median ms (warm)': fixed(cold.secondRunMs.p50),
      'not succeeded': cold.notSucceeded,
    },
  ]);
}

function printPerStep(steps: OnDisk['perStep']): void {
  console.log('\nPer-step overhead (median trigger → succeeded, sequential runs)');
  console.table([
    {
      '1 log block': ms(steps.oneStepMs),
      '20 log blocks': ms(steps.twentyStepsMs),
      'one extra log step': `${fixed(steps.perExtraStepMs, 3)} ms`,
      'one extra set step': `${fixed(steps.perExtraSetStepMs, 3)} ms`,
      'for_each of 100 log items': ms(steps.forEach100Ms),
      'per loop item': `${fixed(steps.perLoopItemMs, 3)} ms`,
      target: '≤ 0.2 ms a log step',
    },
  ]);
}

function printLive(live: LiveResult): void {
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
      target: 'p99 ≤ 20 ms, 0 lost, 0 duplicated',
    },
  ]);
}

function printUploads(uploads: UploadResult): void {
  console.log(`\nUpload trigger: ${uploads.uploads} uploads through the API → every run finished`);
  console.table([
    {
      uploads: uploads.uploads,
      'seconds to all finished': fixed(uploads.secondsToAllFinished, 2),
      runs: uploads.runs,
      duplicates: uploads.duplicates,
    },
  ]);
}

/** Every figure that has a target, beside it. */
function targetRows(disk: OnDisk): Array<{ figure: string; measured: string; target: string }> {
  const at = (c: number) => disk.throughput.find((level) => level.concurrency === c)!;
  const { soak: s, live } = disk;
  return [
    { figure: 'seed runs/s ÷ healthz, c=20 (autocannon)', measured: `${fixed(at(20).percentOfHealthz)} %`, target: '≥ 30 % (goal 50 %)' },
    { figure: 'seed runs/s ÷ healthz, c=50 (autocannon)', measured: `${fixed(at(50).percentOfHealthz)} %`, target: '≥ 30 % (goal 50 %)' },
    {
      figure: 'durable writes (fsync) per seed run',
      measured: disk.writes.perRun === null ? disk.writes.note : disk.writes.perRun.toFixed(2),
      target: '≤ 3',
    },
    { figure: 'one extra log step', measured: `${fixed(disk.perStep.perExtraStepMs, 3)} ms`, target: '≤ 0.2 ms' },
    { figure: 'live logs p99', measured: `${fixed(live.latencyMs.p99)} ms`, target: '≤ 20 ms' },
    { figure: 'live logs lost / duplicated', measured: `${live.lost} / ${live.duplicated}`, target: '0 / 0' },
    { figure: `soak (${s.runs} runs): lost`, measured: String(s.lost), target: '0' },
    { figure: 'soak: outside calls', measured: String(s.outsideCalls), target: String(s.runs) },
    { figure: 'soak: calls duplicated / missing', measured: `${s.duplicated} / ${s.missing}`, target: '0 / 0' },
    {
      figure: 'soak: runs with non-consecutive seq',
      measured: `${s.nonConsecutiveSeq} of ${s.seqChecked}${s.logsUnreadable ? ` (${s.logsUnreadable} unreadable)` : ''}`,
      target: '0',
    },
    { figure: 'soak: D1 round trips per run (amortised)', measured: s.d1RoundTripsPerRun.toFixed(3), target: '≤ 0.05' },
  ];
}

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return text && Number.isInteger(value) && value > 0 ? value : fallback;
}
