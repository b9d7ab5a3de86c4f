/**
 * The soak: `runs` runs of ONE seed-like flow in a row at concurrency 50
 * (`?wait`), each with input `{ n }` that the flow sends on to the fake
 * outside API, then checks that nothing was lost or doubled:
 * - every run ended `succeeded` (a run still going after its `?wait` is
 *   polled through `GET /v1/runs/:id` until it ends);
 * - the fake API got exactly one call per `n` on the soak's own path;
 * - every run's events (`GET /v1/runs/:id/logs`) have seq 1..k with no gap.
 * It also reads what D1 saw per run: the flow's executors count their D1
 * round trips (configuration loads and run index batches), served by the
 * development-only `GET /dev/flows/:flowId/executor-stats`.
 */
import { load, type LoadResult } from './load';
import { seedFlow, startRunAndWait } from './scenarios';
import type { Service } from './service';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
/** How many verification requests are in flight at once. */
const CHECK_CONCURRENCY = 20;

export interface SoakResult {
  runs: number;
  concurrency: number;
  load: LoadResult;
  /** Runs that did not end `succeeded`, and how they ended instead (status, `HTTP <code>` or `no answer`). */
  lost: number;
  lostBy: Record<string, number>;
  /** Calls the fake API received on the soak's path, and the distinct `n` among them. */
  outsideCalls: number;
  distinctN: number;
  /** calls − distinct n */
  duplicated: number;
  /** runs − distinct n */
  missing: number;
  /** D1 round trips (configuration loads + run index batches) per run started, amortised over the soak. */
  d1RoundTripsPerRun: number;
  /** Runs whose events were read, those whose seqs are not exactly 1..k, and those whose events could not be read. */
  seqChecked: number;
  nonConsecutiveSeq: number;
  logsUnreadable: number;
}

interface Outcome {
  id?: string;
  status: string;
}

export async function soak(service: Service, runs: number, concurrency = 50): Promise<SoakResult> {
  const path = `/email/soak-${crypto.randomUUID().slice(0, 8)}`;
  const flowId = await seedFlow(service, {
    path,
    note: 'Soak run {{trigger.n}}',
    body: { To: 'ops@example.com', Subject: 'Soak run {{trigger.n}}', n: '{{trigger.n}}' },
  });

  const outcomes: Outcome[] = Array.from({ length: runs }, () => ({ status: 'no answer' }));
  const result = await load(
    async (n) => {
      const { status, run } = await startRunAndWait(service, flowId, { n });
      outcomes[n] = run ? { id: run.id, status: run.status } : { status: `HTTP ${status}` };
      return run?.status === 'succeeded';
    },
    { concurrency, total: runs },
  );

  await new Promise((resolve) => setTimeout(resolve, 1000)); // the last index batch (within a second)
  const d1 = await service.call<{ runsStarted: number; configLoads: number; indexBatches: number }>(
    'GET',
    `/dev/flows/${flowId}/executor-stats`,
  );
  const d1RoundTripsPerRun = (d1.body.configLoads + d1.body.indexBatches) / d1.body.runsStarted;

  const started = outcomes.filter((o): o is Required<Outcome> => o.id !== undefined);
  await forEachLimited(
    started.filter((o) => !FINAL.has(o.status)),
    async (o) => {
      o.status = await finalStatus(service, o.id);
    },
  );
  const lostBy: Record<string, number> = {};
  for (const { status } of outcomes) if (status !== 'succeeded') lostBy[status] = (lostBy[status] ?? 0) + 1;

  const calls = service.outside.requests.filter((r) => r.path === path);
  const seen = new Set<number>();
  for (const call of calls) {
    const n = Number(parseJson(call.body)?.n);
    if (Number.isInteger(n) && n >= 0 && n < runs) seen.add(n);
  }

  let nonConsecutiveSeq = 0;
  let logsUnreadable = 0;
  await forEachLimited(started, async ({ id }) => {
    const seqs = await eventSeqs(service, id);
    if (!seqs) logsUnreadable++;
    else if (seqs.length === 0 || seqs.some((seq, i) => seq !== i + 1)) nonConsecutiveSeq++;
  });

  return {
    runs,
    concurrency,
    load: result,
    lost: runs - outcomes.filter((o) => o.status === 'succeeded').length,
    lostBy,
    outsideCalls: calls.length,
    distinctN: seen.size,
    duplicated: calls.length - seen.size,
    missing: runs - seen.size,
    d1RoundTripsPerRun,
    seqChecked: started.length - logsUnreadable,
    nonConsecutiveSeq,
    logsUnreadable,
  };
}

export function printSoak(soakResult: SoakResult): void {
  const { runs, concurrency, load: l } = soakResult;
  const lostBy = Object.entries(soakResult.lostBy).map(([status, count]) => `${count} ${status}`);
  console.log(`\nSoak: ${runs} runs of one flow (log + http_request with {{trigger.n}}) at concurrency ${concurrency}, then checked`);
  console.table([
    {
      'runs/s': l.perSecond.toFixed(1),
      'p50/p99 ms': `${l.latencyMs.p50.toFixed(1)} / ${l.latencyMs.p99.toFixed(1)}`,
      'lost (not succeeded)': `${soakResult.lost}${lostBy.length ? ` (${lostBy.join(', ')})` : ''}`,
      'outside calls': soakResult.outsideCalls,
      duplicated: soakResult.duplicated,
      missing: soakResult.missing,
      'non-consecutive seq': `${soakResult.nonConsecutiveSeq} of ${soakResult.seqChecked}`,
      'logs unreadable': soakResult.logsUnreadable,
      'D1 round trips / run': soakResult.d1RoundTripsPerRun.toFixed(3),
      target: `0 lost, ${runs} calls, 0 duplicated, 0 missing, 0 non-consecutive; D1 ≤ 0.05 / run`,
    },
  ]);
}

/** Runs `check` over `items`, CHECK_CONCURRENCY at a time. */
async function forEachLimited<T>(items: readonly T[], check: (item: T) => Promise<void>): Promise<void> {
  await load(
    async (i) => {
      await check(items[i]!);
      return true;
    },
    { concurrency: CHECK_CONCURRENCY, total: items.length },
  );
}

/** Polls a run until it has ended (at most 60 s): its final status, or its last status seen. */
async function finalStatus(service: Service, runId: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  let status = 'unknown';
  while (Date.now() < deadline) {
    const res = await service.call<{ status: string }>('GET', `/v1/runs/${runId}`);
    status = res.status === 200 ? res.body.status : `HTTP ${res.status}`;
    if (FINAL.has(status)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return status;
}

/** The seqs of a run's events in the order served, or null when they could not be read. */
async function eventSeqs(service: Service, runId: string): Promise<number[] | null> {
  try {
    const res = await service.call<{ items: Array<{ seq: number }> }>('GET', `/v1/runs/${runId}/logs?limit=1000`);
    return res.status === 200 ? res.body.items.map((e) => e.seq) : null;
  } catch {
    return null;
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
