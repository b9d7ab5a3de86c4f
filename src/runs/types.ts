import type { TriggerType } from '../flows/definition';

export const RUN_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const STEP_STATUSES = ['pending', 'running', 'waiting', 'succeeded', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
export type LogLevel = 'info' | 'warn' | 'error';

export const isFinal = (status: RunStatus): boolean => status === 'succeeded' || status === 'failed' || status === 'cancelled';

/** The events of the contract ("Live logs over WebSocket"); `seq` rises by one per event within a run. */
export type RunEvent =
  | { type: 'log'; seq: number; ts: string; runId: string; blockId: string | null; level: LogLevel; message: string; iteration?: number }
  | {
      type: 'step';
      seq: number;
      ts: string;
      runId: string;
      blockId: string;
      status: StepStatus;
      attempt: number;
      error?: string;
      /** A step of a for_each chain: the item's 0-based index. */
      iteration?: number;
    }
  | { type: 'run'; seq: number; ts: string; runId: string; status: RunStatus; error?: string };

/** An event before the run object numbers and stamps it. */
export type NewEvent = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'seq' | 'ts' | 'runId'> : never) : never;

export interface Step {
  blockId: string;
  type: string;
  /** A step of a for_each chain: the item's 0-based index (the inner loop's, in a loop inside a loop). */
  iteration?: number;
  /** A loop inside a loop: the indexes from the outer loop in. */
  iterationPath?: number[];
  status: StepStatus;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  output: unknown;
  error: string | null;
  /** A waiting step: when it is looked at again. */
  waitingUntil?: string;
  /** Carried over from the run this one re-runs: not executed in this run. */
  reused?: boolean;
}

/** The Run of the API contract. */
export interface Run {
  id: string;
  flowId: string;
  flowVersion: number;
  status: RunStatus;
  trigger: { type: TriggerType } & Record<string, unknown>;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  /** A run started by another flow (trigger_flow): the run that started it. */
  parentRunId?: string;
  /** A re-run: the run it re-runs. */
  rerunOf?: string;
  steps?: Step[];
}

/** What a trigger hands to `startRun`. */
export interface TriggerInput {
  type: TriggerType;
  /** What templates read as `{{trigger.…}}`. */
  payload: Record<string, unknown>;
  /** For at-least-once sources: a second start with the same key starts nothing. */
  dedupeKey?: string;
}
