import type { z } from '@hono/zod-openapi';
import type { Masker } from '../crypto/redact';
import type { Env } from '../env';
import type { LogLevel } from '../runs/types';

/** What a step's block sees of its run. */
export interface StepContext {
  env: Env;
  tenantId: string;
  runId: string;
  flowId: string;
  /** Emits a log event; the message is masked on the way. */
  log(level: LogLevel, message: string): void;
  /** Records another attempt (an HTTP retry): a step event and the step's attempt count. */
  retrying(attempt: number, reason: string, delayMs: number): void;
  /** Aborted when the run is cancelled. */
  signal: AbortSignal;
  /** The run's secrets: which ones this step's params used, where each may go, and the masker. */
  secrets: {
    used: ReadonlySet<string>;
    allowedHosts: Readonly<Record<string, string[]>>;
    /** Where a secret without allowedHosts may go: the hosts the run's flow version writes literally. */
    literalHosts: ReadonlySet<string>;
    masker: Masker;
  };
  /** Development only: outbound requests may reach loopback and private addresses. */
  allowPrivateNetwork: boolean;
  /**
   * The block's params as written (templates unrendered), for messages that
   * must not show a rendered value: a secret rendered into a URL's host can
   * end up in it only in part, where masking cannot find it.
   */
  template: Readonly<Record<string, unknown>>;
  /** What is left of the run's budget for regular expressions (see `condition`); shared by all its steps. */
  regexBudget: { left: number };
}

export type StepResult =
  /** Done; `output` is what `{{steps.<id>.…}}` reads. */
  | { output: unknown; failed?: undefined; sleepUntil?: undefined }
  /** Failed with an error, keeping what output there is (e.g. the HTTP response). */
  | { output: unknown; failed: string; sleepUntil?: undefined }
  /** Wake the run at `sleepUntil` (epoch ms), then the step succeeds with `output`. */
  | { output: unknown; sleepUntil: number; failed?: undefined };

/**
 * A block type: its params schema (templates unrendered) and how it runs
 * (params rendered). A failing step throws `StepError` or returns `failed`.
 */
export interface BlockSpec<P = unknown> {
  type: string;
  params: z.ZodType<P>;
  run(params: P, context: StepContext): Promise<StepResult>;
  /** For branching blocks: which edge to follow given the output (default `next`). */
  edge?(output: unknown): 'then' | 'else';
  /**
   * The params in which `{{SECRETS.…}}` may appear (default: none). Only
   * where a secret is sent out (and bound by allowedHosts) or logged
   * (masked): a secret anywhere else, say a condition, would let whoever edits
   * the flow learn it bit by bit from which branch ran.
   */
  secretParams?: readonly string[];
}

/** A step failure whose message is meant for the user (it is masked before it is stored). */
export class StepError extends Error {
  override readonly name = 'StepError';
  constructor(
    message: string,
    readonly output: unknown = null,
  ) {
    super(message);
  }
}
