/**
 * A run object's own SQLite storage: the run's state, one row per step and
 * the event log. Every method is synchronous, so a group of calls made
 * without an `await` between them is committed together (the storage
 * coalesces them); `transaction` makes that explicit where it matters.
 */
import type { Block } from '../flows/definition';
import type { NewEvent, Run, RunEvent, RunInit, RunStatus, Step, StepStatus } from './types';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS run (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  init TEXT NOT NULL,
  variables TEXT NOT NULL,
  status TEXT NOT NULL,
  cursor TEXT,
  started_at TEXT,
  finished_at TEXT,
  error TEXT,
  wake_at INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  index_synced INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS steps (
  block_id TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  executions INTEGER NOT NULL DEFAULT 0,
  started_at TEXT,
  finished_at TEXT,
  output TEXT,
  error TEXT
);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
`;

/** The mutable part of a run's state. */
export interface RunState {
  status: RunStatus;
  /** Id of the block that runs (or is running) next; null when the chain has ended. */
  cursor: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  /** When a waiting delay wakes (epoch ms). */
  wakeAt: number | null;
  cancelRequested: boolean;
  /** Whether the D1 run index shows the current status. */
  indexSynced: boolean;
}

interface RunRow {
  init: string;
  variables: string;
  status: string;
  cursor: string | null;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  wake_at: number | null;
  cancel_requested: number;
  index_synced: number;
  [key: string]: SqlStorageValue;
}

interface StepRow {
  block_id: string;
  type: string;
  status: string;
  attempts: number;
  executions: number;
  started_at: string | null;
  finished_at: string | null;
  output: string | null;
  error: string | null;
  [key: string]: SqlStorageValue;
}

export type StepUpdate = Partial<Omit<Step, 'blockId' | 'type'>>;

const STEP_COLUMNS: Record<keyof StepUpdate, string> = {
  status: 'status',
  attempts: 'attempts',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  output: 'output',
  error: 'error',
};

const RUN_COLUMNS: Record<keyof RunState, string> = {
  status: 'status',
  cursor: 'cursor',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  error: 'error',
  wakeAt: 'wake_at',
  cancelRequested: 'cancel_requested',
  indexSynced: 'index_synced',
};

export class RunStore {
  private cachedInit: RunInit | undefined;
  private cachedVariables: Record<string, string> | undefined;
  private cachedState: RunState | undefined;
  private cachedOutputs: Record<string, unknown> | undefined;
  private lastSeq: number | undefined;

  constructor(private readonly storage: DurableObjectStorage) {
    storage.sql.exec(SCHEMA);
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(fn);
  }

  exists(): boolean {
    return this.state() !== undefined;
  }

  /** Stores a new run: its pinned definition, the variables snapshot, and every block as a pending step. */
  create(init: RunInit, variables: Record<string, string>): void {
    this.transaction(() => {
      this.sql.exec(
        'INSERT INTO run (id, init, variables, status, cursor) VALUES (1, ?, ?, ?, ?)',
        JSON.stringify(init),
        JSON.stringify(variables),
        'queued',
        init.definition.blocks[0]?.id ?? null,
      );
      init.definition.blocks.forEach((block: Block, position: number) => {
        this.sql.exec('INSERT INTO steps (block_id, position, type, status) VALUES (?, ?, ?, ?)', block.id, position, block.type, 'pending');
      });
    });
    this.cachedState = undefined;
  }

  init(): RunInit {
    this.cachedInit ??= JSON.parse(this.row()!.init) as RunInit;
    return this.cachedInit;
  }

  variables(): Record<string, string> {
    this.cachedVariables ??= JSON.parse(this.row()!.variables) as Record<string, string>;
    return this.cachedVariables;
  }

  state(): RunState | undefined {
    if (this.cachedState) return this.cachedState;
    const row = this.row();
    if (!row) return undefined;
    this.cachedState = {
      status: row.status as RunStatus,
      cursor: row.cursor,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      error: row.error,
      wakeAt: row.wake_at,
      cancelRequested: row.cancel_requested === 1,
      indexSynced: row.index_synced === 1,
    };
    return this.cachedState;
  }

  update(fields: Partial<RunState>): RunState {
    const entries = Object.entries(fields) as Array<[keyof RunState, RunState[keyof RunState]]>;
    if (entries.length > 0) {
      const sets = entries.map(([key]) => `${RUN_COLUMNS[key]} = ?`).join(', ');
      const values = entries.map(([, value]) => (typeof value === 'boolean' ? Number(value) : value));
      this.sql.exec(`UPDATE run SET ${sets} WHERE id = 1`, ...values);
    }
    this.cachedState = { ...this.state()!, ...fields };
    return this.cachedState;
  }

  steps(): Step[] {
    return this.sql.exec<StepRow>('SELECT * FROM steps ORDER BY position').toArray().map(toStep);
  }

  step(blockId: string): Step | undefined {
    const row = this.sql.exec<StepRow>('SELECT * FROM steps WHERE block_id = ?', blockId).toArray()[0];
    return row ? toStep(row) : undefined;
  }

  /** Counts one more start of a step and returns how many there have been (crash loops stop on this). */
  countExecution(blockId: string): number {
    return this.sql.exec<{ executions: number }>(
      'UPDATE steps SET executions = executions + 1 WHERE block_id = ? RETURNING executions',
      blockId,
    ).one().executions;
  }

  /**
   * Outputs of the steps that succeeded, for `{{steps.<id>.…}}`: read once,
   * then kept up to date as steps succeed (each step reads them).
   */
  outputs(): Record<string, unknown> {
    if (!this.cachedOutputs) {
      this.cachedOutputs = {};
      for (const row of this.sql.exec<{ block_id: string; output: string | null }>(
        "SELECT block_id, output FROM steps WHERE status = 'succeeded'",
      )) {
        this.cachedOutputs[row.block_id] = row.output === null ? null : JSON.parse(row.output);
      }
    }
    return this.cachedOutputs;
  }

  updateStep(blockId: string, fields: StepUpdate): void {
    const entries = Object.entries(fields) as Array<[keyof StepUpdate, unknown]>;
    const output = 'output' in fields ? JSON.stringify(fields.output ?? null) : undefined;
    const sets = entries.map(([key]) => `${STEP_COLUMNS[key]} = ?`).join(', ');
    const values = entries.map(([key, value]) => (key === 'output' ? output : (value as SqlStorageValue)));
    this.sql.exec(`UPDATE steps SET ${sets} WHERE block_id = ?`, ...values, blockId);
    if (fields.status === 'succeeded' && this.cachedOutputs) {
      if (output === undefined) this.cachedOutputs = undefined; // read again when next needed
      else this.cachedOutputs[blockId] = JSON.parse(output);
    }
  }

  /** Block ids of the steps still pending. */
  pendingSteps(): string[] {
    return this.sql
      .exec<{ block_id: string }>("SELECT block_id FROM steps WHERE status = 'pending' ORDER BY position")
      .toArray()
      .map((row) => row.block_id);
  }

  /** Numbers, stamps and stores an event; returns it as sent to viewers. */
  append(event: NewEvent): RunEvent {
    this.lastSeq ??= this.sql.exec<{ seq: number | null }>('SELECT max(seq) AS seq FROM events').one().seq ?? 0;
    const stored = { ...event, seq: ++this.lastSeq, ts: new Date().toISOString(), runId: this.init().runId } as RunEvent;
    this.sql.exec('INSERT INTO events (seq, body) VALUES (?, ?)', stored.seq, JSON.stringify(stored));
    return stored;
  }

  events(after: number, limit: number): RunEvent[] {
    return this.sql
      .exec<{ body: string }>('SELECT body FROM events WHERE seq > ? ORDER BY seq LIMIT ?', after, limit)
      .toArray()
      .map((row) => JSON.parse(row.body) as RunEvent);
  }

  /** The contract's Run, with its steps. */
  view(): Run {
    const init = this.init();
    const state = this.state()!;
    return {
      id: init.runId,
      flowId: init.flowId,
      flowVersion: init.flowVersion,
      status: state.status,
      trigger: { ...init.payload, type: init.triggerType },
      createdAt: init.createdAt,
      startedAt: state.startedAt,
      finishedAt: state.finishedAt,
      error: state.error,
      steps: this.steps(),
    };
  }

  /** Forgets everything (retention): the run index in D1 stays. */
  async destroy(): Promise<void> {
    await this.storage.deleteAll();
    this.storage.sql.exec(SCHEMA);
    this.cachedInit = this.cachedVariables = this.cachedState = this.cachedOutputs = this.lastSeq = undefined;
  }

  private row(): RunRow | undefined {
    return this.sql.exec<RunRow>('SELECT * FROM run WHERE id = 1').toArray()[0];
  }
}

function toStep(row: StepRow): Step {
  return {
    blockId: row.block_id,
    type: row.type,
    status: row.status as StepStatus,
    attempts: row.attempts,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    output: row.output === null ? null : JSON.parse(row.output),
    error: row.error,
  };
}
