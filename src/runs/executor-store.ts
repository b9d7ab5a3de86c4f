/**
 * A flow executor's own SQLite storage: its runs, their steps and events,
 * the snapshots their definitions, variables and environment point to, the
 * dedupe keys of at-least-once triggers, and the outbox of run index changes
 * for D1.
 *
 * Every method is synchronous, so a group of calls made without an `await`
 * between them is committed together; `transaction` makes that explicit.
 *
 * The schema is versioned and migrates itself (executors live for weeks):
 * `MIGRATIONS[i]` takes version i to i + 1. It is created lazily, on the
 * first write: a request that names a run this object never had (another
 * tenant's guess, a made-up id) reads an empty object and leaves no storage
 * behind.
 */
import type { TriggerType } from '../flows/definition';
import type { RunState, StepState, Transition } from './step-machine';
import type { RunEvent, RunStatus, StepStatus } from './types';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     tenant_id TEXT NOT NULL,
     flow_version INTEGER NOT NULL,
     definition_ref INTEGER NOT NULL,
     variables_ref INTEGER NOT NULL,
     trigger_type TEXT NOT NULL,
     payload TEXT NOT NULL,
     actor TEXT NOT NULL,
     created_at TEXT NOT NULL,
     status TEXT NOT NULL,
     cursor TEXT,
     started_at TEXT,
     finished_at TEXT,
     error TEXT,
     wake_at INTEGER NOT NULL,
     cancel_requested INTEGER NOT NULL
   );
   CREATE INDEX runs_wake ON runs (wake_at);
   CREATE INDEX runs_status ON runs (status);
   CREATE TABLE steps (
     run_id TEXT NOT NULL,
     block_id TEXT NOT NULL,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     executions INTEGER NOT NULL,
     started_at TEXT,
     finished_at TEXT,
     output TEXT,
     error TEXT,
     PRIMARY KEY (run_id, block_id)
   );
   CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (run_id, seq));
   CREATE TABLE snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
   CREATE TABLE dedupe (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE INDEX dedupe_age ON dedupe (created_at);
   CREATE TABLE index_outbox (run_id TEXT PRIMARY KEY, rev INTEGER NOT NULL, audit_id TEXT);`,
  // The tenant's environment a run pinned; null for runs started before there was one.
  'ALTER TABLE runs ADD COLUMN env_ref INTEGER;',
];

/** What a run was started with; never changes. */
export interface RunInit {
  runId: string;
  tenantId: string;
  flowVersion: number;
  /** Snapshot ids of the pinned definition, the variables and the tenant's environment at trigger time. */
  definitionRef: number;
  variablesRef: number;
  /** Null for a run stored before the environment was pinned (its definition cannot reference ENV). */
  envRef: number | null;
  triggerType: TriggerType;
  payload: Record<string, unknown>;
  /** Who triggered it, for the audit log. */
  actor: string;
  createdAt: string;
}

export interface StoredRun {
  init: RunInit;
  state: RunState;
  steps: Map<string, StepState>;
}

/** A run whose status the D1 index has not caught up with. */
export interface OutboxEntry {
  init: RunInit;
  /** The run's state as the index shows it (its event count is not read: 0). */
  state: RunState;
  rev: number;
  /** Set until the run's audit entry is written. */
  auditId: string | null;
}

interface RunRow extends Record<string, SqlStorageValue> {
  id: string;
  tenant_id: string;
  flow_version: number;
  definition_ref: number;
  variables_ref: number;
  env_ref: number | null;
  trigger_type: string;
  payload: string;
  actor: string;
  created_at: string;
  status: string;
  cursor: string | null;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  wake_at: number;
  cancel_requested: number;
}

interface StepRow extends Record<string, SqlStorageValue> {
  block_id: string;
  status: string;
  attempts: number;
  executions: number;
  started_at: string | null;
  finished_at: string | null;
  output: string | null;
  error: string | null;
}

export class ExecutorStore {
  private ready = false;

  constructor(private readonly storage: DurableObjectStorage) {}

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(fn);
  }

  /** Whether this object has ever stored anything (reads of an empty object create nothing). */
  private hasSchema(): boolean {
    if (this.ready) return true;
    const found = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").toArray();
    if (found.length === 0) return false;
    this.migrate();
    return true;
  }

  /** Creates or migrates the schema before a write. */
  private writable(): void {
    if (this.ready) return;
    this.sql.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    this.migrate();
  }

  private migrate(): void {
    this.transaction(() => {
      const row = this.sql.exec<{ version: number }>('SELECT version FROM schema_version').toArray()[0];
      const from = row?.version ?? 0;
      for (let version = from; version < MIGRATIONS.length; version++) this.sql.exec(MIGRATIONS[version]!);
      if (!row) this.sql.exec('INSERT INTO schema_version (version) VALUES (?)', MIGRATIONS.length);
      else if (from < MIGRATIONS.length) this.sql.exec('UPDATE schema_version SET version = ?', MIGRATIONS.length);
    });
    this.ready = true;
  }

  // ---- runs ----------------------------------------------------------------

  insertRun(init: RunInit, state: RunState): void {
    this.writable();
    this.sql.exec(
      `INSERT INTO runs (id, tenant_id, flow_version, definition_ref, variables_ref, env_ref, trigger_type, payload, actor, created_at,
         status, cursor, started_at, finished_at, error, wake_at, cancel_requested)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      init.runId,
      init.tenantId,
      init.flowVersion,
      init.definitionRef,
      init.variablesRef,
      init.envRef,
      init.triggerType,
      JSON.stringify(init.payload),
      init.actor,
      init.createdAt,
      ...stateColumns(state),
    );
  }

  /**
   * Persists a transition: the run's state (when more than its event count
   * changed since `previous`), the steps it changed and its events. Returns
   * the events as stored JSON.
   */
  saveTransition(runId: string, transition: Transition, previous: RunState): string[] {
    if (!sameStoredState(previous, transition.state)) {
      this.sql.exec(
        `UPDATE runs SET status = ?, cursor = ?, started_at = ?, finished_at = ?, error = ?, wake_at = ?,
           cancel_requested = ? WHERE id = ?`,
        ...stateColumns(transition.state),
        runId,
      );
    }
    for (const [blockId, step] of transition.steps) {
      this.sql.exec(
        'INSERT OR REPLACE INTO steps (run_id, block_id, status, attempts, executions, started_at, finished_at, output, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        runId,
        blockId,
        step.status,
        step.attempts,
        step.executions,
        step.startedAt,
        step.finishedAt,
        step.output === null || step.output === undefined ? null : JSON.stringify(step.output),
        step.error,
      );
    }
    return transition.events.map((event) => {
      const body = JSON.stringify(event);
      this.sql.exec('INSERT INTO events (run_id, seq, body) VALUES (?, ?, ?)', runId, event.seq, body);
      return body;
    });
  }

  /** The run, or null when this executor holds no run of that id in that tenant. */
  run(runId: string, tenantId: string): StoredRun | null {
    if (!this.hasSchema()) return null;
    const row = this.sql.exec<RunRow>('SELECT * FROM runs WHERE id = ?', runId).toArray()[0];
    if (!row || row.tenant_id !== tenantId) return null;
    const steps = new Map<string, StepState>();
    for (const step of this.sql.exec<StepRow>('SELECT * FROM steps WHERE run_id = ?', runId)) steps.set(step.block_id, toStep(step));
    const lastSeq = this.sql.exec<{ seq: number | null }>('SELECT max(seq) AS seq FROM events WHERE run_id = ?', runId).one().seq ?? 0;
    return { init: toInit(row), state: toState(row, lastSeq), steps };
  }

  /** The runs the alarm must look at: due ones (a delay ended, retention passed) and those that should be running. */
  runsToLookAt(now: number): Array<{ id: string; tenantId: string; status: RunStatus; wakeAt: number }> {
    if (!this.hasSchema()) return [];
    return this.sql
      .exec<{ id: string; tenant_id: string; status: string; wake_at: number }>(
        `SELECT id, tenant_id, status, wake_at FROM runs
         WHERE status IN ('queued', 'running') OR wake_at <= ?`,
        now,
      )
      .toArray()
      .map((row) => ({ id: row.id, tenantId: row.tenant_id, status: row.status as RunStatus, wakeAt: row.wake_at }));
  }

  /** The earliest wake time of any run, or null. */
  earliestWake(): number | null {
    if (!this.hasSchema()) return null;
    return this.sql.exec<{ t: number | null }>('SELECT min(wake_at) AS t FROM runs').one().t;
  }

  /** Forgets finished runs whose retention has passed, with their steps and events, and snapshots no run uses. */
  forgetExpired(now: number, keepSnapshots: readonly number[]): number {
    if (!this.hasSchema()) return 0;
    return this.transaction(() => {
      const expired = `SELECT id FROM runs WHERE wake_at <= ? AND status IN ('succeeded', 'failed', 'cancelled')`;
      this.sql.exec(`DELETE FROM steps WHERE run_id IN (${expired})`, now);
      this.sql.exec(`DELETE FROM events WHERE run_id IN (${expired})`, now);
      this.sql.exec(`DELETE FROM index_outbox WHERE run_id IN (${expired})`, now);
      const forgotten = this.sql.exec(`DELETE FROM runs WHERE id IN (${expired})`, now).rowsWritten;
      if (forgotten > 0) {
        const keep = keepSnapshots.length > 0 ? `AND id NOT IN (${keepSnapshots.map(() => '?').join(', ')})` : '';
        this.sql.exec(
          `DELETE FROM snapshots WHERE id NOT IN (SELECT definition_ref FROM runs UNION SELECT variables_ref FROM runs
             UNION SELECT env_ref FROM runs WHERE env_ref IS NOT NULL) ${keep}`,
          ...keepSnapshots,
        );
      }
      return forgotten;
    });
  }

  // ---- events --------------------------------------------------------------

  /** Events after `after`, as stored JSON text, in `seq` order. */
  eventTexts(runId: string, after: number, limit: number): string[] {
    if (!this.hasSchema()) return [];
    return this.sql
      .exec<{ body: string }>('SELECT body FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?', runId, after, limit)
      .toArray()
      .map((row) => row.body);
  }

  events(runId: string, after: number, limit: number): RunEvent[] {
    return this.eventTexts(runId, after, limit).map((body) => JSON.parse(body) as RunEvent);
  }

  // ---- snapshots -----------------------------------------------------------

  addSnapshot(value: unknown): number {
    this.writable();
    return this.sql.exec<{ id: number }>('INSERT INTO snapshots (body) VALUES (?) RETURNING id', JSON.stringify(value)).one().id;
  }

  snapshot<T>(id: number): T {
    return JSON.parse(this.sql.exec<{ body: string }>('SELECT body FROM snapshots WHERE id = ?', id).one().body) as T;
  }

  // ---- dedupe keys ---------------------------------------------------------

  /** The run a dedupe key already started, if any. */
  dedupedRun(key: string): string | null {
    if (!this.hasSchema()) return null;
    return this.sql.exec<{ run_id: string }>('SELECT run_id FROM dedupe WHERE key = ?', key).toArray()[0]?.run_id ?? null;
  }

  addDedupe(key: string, runId: string, now: number): void {
    this.sql.exec('INSERT INTO dedupe (key, run_id, created_at) VALUES (?, ?, ?)', key, runId, now);
  }

  /** The creation time of the oldest dedupe key, or null. */
  oldestDedupe(): number | null {
    if (!this.hasSchema()) return null;
    return this.sql.exec<{ t: number | null }>('SELECT min(created_at) AS t FROM dedupe').one().t;
  }

  purgeDedupe(before: number): void {
    if (this.hasSchema()) this.sql.exec('DELETE FROM dedupe WHERE created_at < ?', before);
  }

  // ---- the run index outbox ------------------------------------------------

  /** Records that the D1 index must learn the run's current state (with its audit entry, the first time). */
  markIndexDirty(runId: string, auditId: string | null = null): void {
    this.sql.exec(
      'INSERT INTO index_outbox (run_id, rev, audit_id) VALUES (?, 1, ?) ON CONFLICT (run_id) DO UPDATE SET rev = rev + 1',
      runId,
      auditId,
    );
  }

  hasOutbox(): boolean {
    return (
      this.hasSchema() &&
      this.sql.exec('SELECT 1 FROM index_outbox JOIN runs ON runs.id = index_outbox.run_id LIMIT 1').toArray().length > 0
    );
  }

  outbox(limit: number): OutboxEntry[] {
    if (!this.hasSchema()) return [];
    return this.sql
      .exec<RunRow & { rev: number; audit_id: string | null }>(
        'SELECT runs.*, index_outbox.rev, index_outbox.audit_id FROM index_outbox JOIN runs ON runs.id = index_outbox.run_id LIMIT ?',
        limit,
      )
      .toArray()
      .map((row) => ({ init: toInit(row), state: toState(row), rev: row.rev, auditId: row.audit_id }));
  }

  /** After the index has taken `entries`: done with those that did not change meanwhile; the others keep their newer state. */
  indexed(entries: readonly OutboxEntry[]): void {
    this.transaction(() => {
      for (const entry of entries) {
        this.sql.exec('DELETE FROM index_outbox WHERE run_id = ? AND rev = ?', entry.init.runId, entry.rev);
        if (entry.auditId) this.sql.exec('UPDATE index_outbox SET audit_id = NULL WHERE run_id = ?', entry.init.runId);
      }
    });
  }
}

/** Whether two states store the same run row (they may differ in `lastSeq`, which is not stored). */
export function sameStoredState(a: RunState, b: RunState): boolean {
  const x = stateColumns(a);
  return stateColumns(b).every((value, i) => value === x[i]);
}

/** The run's state as stored; `lastSeq` is not among it (it is the run's highest event seq). */
function stateColumns(state: RunState): SqlStorageValue[] {
  return [state.status, state.cursor, state.startedAt, state.finishedAt, state.error, state.wakeAt, state.cancelRequested ? 1 : 0];
}

function toInit(row: RunRow): RunInit {
  return {
    runId: row.id,
    tenantId: row.tenant_id,
    flowVersion: row.flow_version,
    definitionRef: row.definition_ref,
    variablesRef: row.variables_ref,
    envRef: row.env_ref,
    triggerType: row.trigger_type as TriggerType,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    actor: row.actor,
    createdAt: row.created_at,
  };
}

function toState(row: RunRow, lastSeq = 0): RunState {
  return {
    status: row.status as RunStatus,
    cursor: row.cursor,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error,
    wakeAt: row.wake_at,
    cancelRequested: row.cancel_requested === 1,
    lastSeq,
  };
}

function toStep(row: StepRow): StepState {
  return {
    status: row.status as StepStatus,
    attempts: row.attempts,
    executions: row.executions,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    output: row.output === null ? null : JSON.parse(row.output),
    error: row.error,
  };
}
