/**
 * The executor's outbox of run index changes: a run's status change marks
 * it (in the transition's own write), and the outbox writes what is marked
 * to the D1 run index in batches within `FLUSH_MS`, so a finished run shows
 * in every list within a second and D1 sees a fraction of a round trip per
 * run. A failed write stays marked and is retried at the next wake.
 */
import type { RunIndexEntry } from '../../db/runs';
import type { Env } from '../../env';
import type { FlowDefinition } from '../../flows/definition';
import { writeRunIndexAndNotify } from '../../notifications/outbox';
import { executorOfRun } from '../run-ids';
import type { RunState } from '../machine';
import { isFinal } from '../types';
import { type RunInit, type RunRow, toInit, toState } from './run-store';
import type { ExecutorSchema } from './schema';

/** How long index changes collect before they go to D1 together. */
const FLUSH_MS = 400;
/** Runs per index write (two statements each at most: one D1 batch). */
const BATCH_RUNS = 100;
/** When a failed index write is tried again. */
const RETRY_MS = 5_000;

interface OutboxEntry {
  init: RunInit;
  /** The run's state as the index shows it. */
  state: RunState;
  rev: number;
  /** Set until the run's audit entry is written. */
  auditId: string | null;
}

/** D1 round trips and what they carried (for the benchmark, through the operations surface). */
export interface OutboxCounters {
  indexBatches: number;
  indexedChanges: number;
}

export class IndexOutbox {
  readonly counters: OutboxCounters = { indexBatches: 0, indexedChanges: 0 };
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> | undefined;
  private failedAt: number | null = null;

  constructor(
    private readonly schema: ExecutorSchema,
    private readonly env: Env,
    /** The pinned definition of a run (for its notification). */
    private readonly definitionOf: (ref: number) => FlowDefinition,
  ) {}

  /** Records that the index must learn the run's current state (with its audit entry, the first time). Inside the transition's write. */
  mark(runId: string, auditId: string | null = null): void {
    this.schema.sql.exec(
      'INSERT INTO index_outbox (run_id, rev, audit_id) VALUES (?, 1, ?) ON CONFLICT (run_id) DO UPDATE SET rev = rev + 1',
      runId,
      auditId,
    );
  }

  /** Writes what is marked within FLUSH_MS. */
  schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, FLUSH_MS);
  }

  /** Writes what is marked now; one write at a time. */
  flush(): Promise<void> {
    // `finally` on the promise, not inside the function: it must run after `flushing` is set.
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** What is marked now, written now (after any write in flight). */
  async flushNow(): Promise<void> {
    await this.flushing;
    await this.flush();
  }

  /** When the alarm must retry a failed write, or null. */
  nextWake(now: number): number | null {
    if (!this.pending()) return null;
    return Math.max(now, (this.failedAt ?? now) + RETRY_MS);
  }

  pending(): boolean {
    return (
      this.schema.readable() &&
      this.schema.sql.exec('SELECT 1 FROM index_outbox JOIN runs ON runs.id = index_outbox.run_id LIMIT 1').toArray().length > 0
    );
  }

  private async write(): Promise<void> {
    try {
      for (let entries = this.entries(); entries.length > 0; entries = this.entries()) {
        // A run that ended gets its notification, when its pinned version asks for one, in the batch of its final row.
        const rows = entries.map((entry) => ({
          ...toIndexEntry(entry),
          notify: isFinal(entry.state.status) ? this.definitionOf(entry.init.definitionRef).notify : null,
        }));
        this.counters.indexBatches += await writeRunIndexAndNotify(this.env, rows);
        this.counters.indexedChanges += entries.length;
        this.written(entries);
        if (entries.length < BATCH_RUNS) break; // the rest waits for the next batch window
      }
      this.failedAt = null;
    } catch (err) {
      console.error('run index write failed; retrying', err instanceof Error ? err.message : String(err));
      this.failedAt = Date.now();
    }
  }

  private entries(): OutboxEntry[] {
    if (!this.schema.readable()) return [];
    return this.schema.sql
      .exec<RunRow & { rev: number; audit_id: string | null }>(
        'SELECT runs.*, index_outbox.rev, index_outbox.audit_id FROM index_outbox JOIN runs ON runs.id = index_outbox.run_id LIMIT ?',
        BATCH_RUNS,
      )
      .toArray()
      .map((row) => ({ init: toInit(row), state: toState(row), rev: row.rev, auditId: row.audit_id }));
  }

  /** Done with the entries that did not change meanwhile; the others keep their newer state. */
  private written(entries: readonly OutboxEntry[]): void {
    this.schema.transaction(() => {
      for (const entry of entries) {
        this.schema.sql.exec('DELETE FROM index_outbox WHERE run_id = ? AND rev = ?', entry.init.runId, entry.rev);
        if (entry.auditId) this.schema.sql.exec('UPDATE index_outbox SET audit_id = NULL WHERE run_id = ?', entry.init.runId);
      }
    });
  }
}

/** An outbox entry as the D1 run index takes it. */
function toIndexEntry({ init, state, auditId }: OutboxEntry): RunIndexEntry {
  const { status, error, startedAt, finishedAt } = state;
  const flowId = executorOfRun(init.runId)!.flowId;
  return { ...init, flowId, status, error, startedAt, finishedAt, auditId };
}
