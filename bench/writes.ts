/**
 * Durable writes per seed run, counted where they happen: `fsync` and
 * `fdatasync` calls of the service's workerd process (its Durable Objects'
 * SQLite, the simulated D1), traced with strace while runs are started one
 * after another, and divided by the runs. The index's batched D1 writes are
 * included, amortised. Needs Linux and strace (`apt-get install strace`);
 * without it the figure is reported as not measured.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { workerSnapshot } from '../scripts/snapshot';
import { startRunAndWait } from './scenarios';
import type { Service } from './service';

export interface WritesResult {
  runs: number;
  /** fsync + fdatasync per run, or null when strace is not there. */
  perRun: number | null;
  note: string;
}

const STRACE = '/usr/bin/strace';

export async function durableWritesPerRun(service: Service, flowId: string, runs: number): Promise<WritesResult> {
  if (!existsSync(STRACE)) return { runs, perRun: null, note: 'not measured: strace is not installed (apt-get install strace)' };
  const pids = workerdPids();
  if (pids.length === 0) return { runs, perRun: null, note: 'not measured: no workerd process found' };
  const tracer = spawn(STRACE, ['-f', '-c', '-e', 'trace=fsync,fdatasync', ...pids.flatMap((pid) => ['-p', pid])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let report = '';
  tracer.stderr.on('data', (chunk: Buffer) => (report += chunk.toString()));
  await new Promise((resolve) => setTimeout(resolve, 1000)); // attached
  let notSucceeded = 0;
  for (let i = 0; i < runs; i++)
    if ((await startRunAndWait(service, flowId, { key: `w/${i}.jpg` })).run?.status !== 'succeeded') notSucceeded++;
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the index's batched write
  tracer.kill('SIGINT');
  await new Promise((resolve) => tracer.once('exit', resolve));
  const calls = [...report.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)$/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
  return {
    runs,
    perRun: calls / runs,
    note: `${calls} fsync/fdatasync for ${runs} runs one after another${notSucceeded ? `, ${notSucceeded} not succeeded` : ''}`,
  };
}

/** The workerd processes of the servers this process started (they run in its frozen copy of the sources). */
function workerdPids(): string[] {
  const snapshot = workerSnapshot();
  let listed = '';
  try {
    listed = execFileSync('pgrep', ['-f', 'workerd serve'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return listed
    .split('\n')
    .filter(Boolean)
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === snapshot;
      } catch {
        return false;
      }
    });
}
