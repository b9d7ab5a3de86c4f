/**
 * Dedupe keys of at-least-once triggers (a queue message, a signed
 * webhook's message id, a child run's starting step): a second start with
 * a key seen in the last week starts nothing and answers with the first run.
 */
import type { ExecutorSchema } from './schema';

export const DEDUPE_RETENTION_MS = 7 * 86_400_000;

export class DedupeKeys {
  constructor(private readonly schema: ExecutorSchema) {}

  /** The run a key already started, if any. */
  runOf(key: string): string | null {
    if (!this.schema.readable()) return null;
    return this.schema.sql.exec<{ run_id: string }>('SELECT run_id FROM dedupe WHERE key = ?', key).toArray()[0]?.run_id ?? null;
  }

  add(key: string, runId: string, now: number): void {
    this.schema.sql.exec('INSERT INTO dedupe (key, run_id, created_at) VALUES (?, ?, ?)', key, runId, now);
  }

  /** When the oldest key expires, or null. */
  nextWake(): number | null {
    if (!this.schema.readable()) return null;
    const oldest = this.schema.sql.exec<{ t: number | null }>('SELECT min(created_at) AS t FROM dedupe').one().t;
    return oldest === null ? null : oldest + DEDUPE_RETENTION_MS;
  }

  forgetExpired(now: number): void {
    if (this.schema.readable()) this.schema.sql.exec('DELETE FROM dedupe WHERE created_at < ?', now - DEDUPE_RETENTION_MS);
  }
}
