/**
 * A run this executor instance is driving, as it keeps it in memory: what
 * it was started with, its machine snapshot (the stored state, applied in
 * place after each write) and what only lives while it is driven.
 */
import { MAX_RUN_MATCH_COST } from '../../blocks/condition';
import type { OpenedSecrets } from '../../crypto/vault';
import type { FlowDefinition } from '../../flows/definition';
import type { FlowConfig } from '../flow-config';
import type { RunSnapshot } from '../machine';
import type { RunInit } from './run-store';

export interface LiveRun {
  init: RunInit;
  run: RunSnapshot;
  definition: FlowDefinition;
  variables: Record<string, string>;
  /** The tenant's environment variables, pinned at trigger time like the variables. */
  env: Record<string, string>;
  /** The configuration it was started with (its secrets as they were then); unset after a restart. */
  config: FlowConfig | undefined;
  secrets: Promise<OpenedSecrets> | undefined;
  /** Aborted when the run is cancelled: every step in flight stops. */
  abort: AbortController;
  /** Steps being executed (or waits being looked at) by this instance, by step key. */
  inFlight: Set<string>;
  /** Callers waiting for the run's end (`?wait=`). */
  waiters: Set<() => void>;
  /** Regular-expression work left to this run (in memory: a restarted run gets a fresh budget). */
  regexBudget: { left: number };
}

export function liveRun(
  init: RunInit,
  run: RunSnapshot,
  pinned: { definition: FlowDefinition; variables: Record<string, string>; env: Record<string, string> },
  config: FlowConfig | undefined,
): LiveRun {
  return {
    init,
    run,
    ...pinned,
    config,
    secrets: undefined,
    abort: new AbortController(),
    inFlight: new Set(),
    waiters: new Set(),
    regexBudget: { left: MAX_RUN_MATCH_COST },
  };
}
