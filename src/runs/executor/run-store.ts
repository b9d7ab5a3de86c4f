/**
 * The executor's runs as stored: each run's fixed start (`RunInit`), its
 * state, frames and steps, and its events. Every method is synchronous, so
 * calls made without an `await` between them commit together; a transition
 * is saved in one `transaction`.
 */
import type { TriggerType } from '../../flows/definition';
import { type FrameAt, type FrameState, frameKey, type RunState, type StepAt, type StepState, stepKey, type Transition } from '../machine';
import type { RunEvent, RunStatus, StepStatus } from '../types';
import type { ExecutorSchema } from './schema';

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
  /** The run this one re-runs (POST /v1/runs/:id/rerun), or null. */
  rerunOf: string | null;
}

export interface StoredRun {
  init: RunInit;
  state: RunState;
  frames: Map<string, FrameState>;
  steps: Map<string, StepState>;
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
  rerun_of: string | null;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  wake_at: number;
  cancel_requested: number;
  output_bytes: number;
}

interface FrameRow extends Record<string, SqlStorageValue> {
  loop_id: string;
  items: string;
  cursor: string | null;
  status: string;
  item: string | null;
  last: string | null;
  error: string | null;
}

interface StepRow extends Record<string, SqlStorageValue> {
  block_id: string;
  items: string;
  status: string;
  attempts: number;
  executions: number;
  started_at: string | null;
  finished_at: string | null;
  output: string | null;
  error: string | null;
  wake_at: number | null;
  wait: string | null;
  loop: string | null;
  reused: number;
}

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
const parsed = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export class RunStore {
  constructor(private readonly schema: ExecutorSchema) {}

  private get sql(): SqlStorage {
    return this.schema.sql;
  }

  insertRun(init: RunInit, state: RunState): void {
    this.schema.writable();
    this.sql.exec(
      `INSERT INTO runs (id, tenant_id, flow_version, definition_ref, variables_ref, env_ref, trigger_type, payload, actor, created_at,
         rerun_of, status, started_at, finished_at, error, wake_at, cancel_requested, output_bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      init.rerunOf,
      ...stateColumns(state),
    );
  }

  /**
   * Persists a transition: the run's row (when more than its event count
   * changed since `previous`), the frames and steps it changed, its events.
   * Returns the events as stored JSON (the frames viewers get).
   */
  saveTransition(runId: string, transition: Transition, previous: RunState): string[] {
    if (!sameStoredState(previous, transition.state)) {
      this.sql.exec(
        'UPDATE runs SET status = ?, started_at = ?, finished_at = ?, error = ?, wake_at = ?, cancel_requested = ?, output_bytes = ? WHERE id = ?',
        ...stateColumns(transition.state),
        runId,
      );
    }
    for (const frame of transition.frames.values()) this.saveFrame(runId, frame);
    for (const step of transition.steps.values()) this.saveStep(runId, step);
    return transition.events.map((event) => {
      const body = JSON.stringify(event);
      this.sql.exec('INSERT INTO events (run_id, seq, body) VALUES (?, ?, ?)', runId, event.seq, body);
      return body;
    });
  }

  /** Writes a new run's frames and the steps it starts with (carried over by a re-run), before its first transition. */
  saveStart(runId: string, frames: Iterable<FrameState>, steps: Iterable<StepState>): void {
    for (const frame of frames) this.saveFrame(runId, frame);
    for (const step of steps) this.saveStep(runId, step);
  }

  private saveFrame(runId: string, frame: FrameState): void {
    this.sql.exec(
      'INSERT OR REPLACE INTO frames (run_id, loop_id, items, cursor, status, item, last, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      runId,
      frame.at.loopId ?? '',
      JSON.stringify(frame.at.items),
      frame.cursor,
      frame.status,
      json(frame.item),
      json(frame.last),
      json(frame.error),
    );
  }

  private saveStep(runId: string, step: StepState): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO steps (run_id, block_id, items, status, attempts, executions, started_at, finished_at, output, error,
         wake_at, wait, loop, reused) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      runId,
      step.at.blockId,
      JSON.stringify(step.at.items),
      step.status,
      step.attempts,
      step.executions,
      step.startedAt,
      step.finishedAt,
      json(step.output),
      step.error,
      step.wakeAt,
      json(step.wait),
      json(step.loop),
      step.reused ? 1 : 0,
    );
  }

  /** The run, or null when this executor holds no run of that id in that tenant. */
  load(runId: string, tenantId: string): StoredRun | null {
    if (!this.schema.readable()) return null;
    const row = this.sql.exec<RunRow>('SELECT * FROM runs WHERE id = ?', runId).toArray()[0];
    if (!row || row.tenant_id !== tenantId) return null;
    const frames = new Map<string, FrameState>();
    for (const frame of this.sql.exec<FrameRow>('SELECT * FROM frames WHERE run_id = ?', runId)) {
      const state = toFrame(frame);
      frames.set(frameKey(state.at), state);
    }
    const steps = new Map<string, StepState>();
    for (const step of this.sql.exec<StepRow>('SELECT * FROM steps WHERE run_id = ?', runId)) {
      const state = toStep(step);
      steps.set(stepKey(state.at), state);
    }
    const lastSeq = this.sql.exec<{ seq: number | null }>('SELECT max(seq) AS seq FROM events WHERE run_id = ?', runId).one().seq ?? 0;
    return { init: toInit(row), state: toState(row, lastSeq), frames, steps };
  }

  /** The tenant a stored run belongs to, or null. */
  tenantOf(runId: string): string | null {
    if (!this.schema.readable()) return null;
    return this.sql.exec<{ tenant_id: string }>('SELECT tenant_id FROM runs WHERE id = ?', runId).toArray()[0]?.tenant_id ?? null;
  }

  /** The runs the alarm must look at: due ones (a wait ended, retention passed) and those that should be running. */
  runsToLookAt(now: number): Array<{ id: string; tenantId: string; status: RunStatus; wakeAt: number }> {
    if (!this.schema.readable()) return [];
    return this.sql
      .exec<{ id: string; tenant_id: string; status: string; wake_at: number }>(
        `SELECT id, tenant_id, status, wake_at FROM runs WHERE status IN ('queued', 'running') OR wake_at <= ?`,
        now,
      )
      .toArray()
      .map((row) => ({ id: row.id, tenantId: row.tenant_id, status: row.status as RunStatus, wakeAt: row.wake_at }));
  }

  /** The earliest wake time of any run, or null. */
  nextWake(): number | null {
    if (!this.schema.readable()) return null;
    return this.sql.exec<{ t: number | null }>('SELECT min(wake_at) AS t FROM runs').one().t;
  }

  /** Forgets finished runs whose retention has passed, with everything of theirs; returns their ids. */
  forgetExpired(now: number): string[] {
    if (!this.schema.readable()) return [];
    return this.schema.transaction(() => {
      const ids = this.sql
        .exec<{ id: string }>(`SELECT id FROM runs WHERE wake_at <= ? AND status IN ('succeeded', 'failed', 'cancelled')`, now)
        .toArray()
        .map((row) => row.id);
      for (const id of ids) {
        for (const table of ['steps', 'frames', 'events', 'index_outbox']) this.sql.exec(`DELETE FROM ${table} WHERE run_id = ?`, id);
        this.sql.exec('DELETE FROM runs WHERE id = ?', id);
      }
      return ids;
    });
  }

  /** The snapshot ids the stored runs pin. */
  pinnedSnapshots(): Set<number> {
    if (!this.schema.readable()) return new Set();
    const rows = this.sql.exec<{ id: number }>(
      'SELECT definition_ref AS id FROM runs UNION SELECT variables_ref FROM runs UNION SELECT env_ref FROM runs WHERE env_ref IS NOT NULL',
    );
    return new Set([...rows].map((row) => row.id));
  }

  /** Events after `after`, as stored JSON text, in `seq` order. */
  eventTexts(runId: string, after: number, limit: number): string[] {
    if (!this.schema.readable()) return [];
    return this.sql
      .exec<{ body: string }>('SELECT body FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?', runId, after, limit)
      .toArray()
      .map((row) => row.body);
  }

  events(runId: string, after: number, limit: number): RunEvent[] {
    return this.eventTexts(runId, after, limit).map((body) => JSON.parse(body) as RunEvent);
  }
}

/** Whether two states store the same run row (they may differ in `lastSeq`, which is not stored). */
export function sameStoredState(a: RunState, b: RunState): boolean {
  const x = stateColumns(a);
  return stateColumns(b).every((value, i) => value === x[i]);
}

/** The run's state as stored; `lastSeq` is not among it (it is the run's highest event seq). */
function stateColumns(state: RunState): SqlStorageValue[] {
  return [state.status, state.startedAt, state.finishedAt, state.error, state.wakeAt, state.cancelRequested ? 1 : 0, state.outputBytes];
}

export function toInit(row: RunRow): RunInit {
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
    rerunOf: row.rerun_of,
  };
}

export function toState(row: RunRow, lastSeq = 0): RunState {
  return {
    status: row.status as RunStatus,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error,
    wakeAt: row.wake_at,
    cancelRequested: row.cancel_requested === 1,
    lastSeq,
    outputBytes: row.output_bytes,
  };
}

function toFrame(row: FrameRow): FrameState {
  const at: FrameAt = { loopId: row.loop_id === '' ? null : row.loop_id, items: JSON.parse(row.items) as number[] };
  return {
    at,
    cursor: row.cursor,
    status: row.status as FrameState['status'],
    item: parsed(row.item),
    last: parsed(row.last),
    error: parsed(row.error),
  };
}

function toStep(row: StepRow): StepState {
  const at: StepAt = { blockId: row.block_id, items: JSON.parse(row.items) as number[] };
  return {
    at,
    status: row.status as StepStatus,
    attempts: row.attempts,
    executions: row.executions,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    output: parsed(row.output),
    error: row.error,
    wakeAt: row.wake_at,
    wait: parsed(row.wait),
    loop: parsed(row.loop),
    reused: row.reused === 1,
  };
}

export type { RunRow };
