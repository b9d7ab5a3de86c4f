import type { z } from '@hono/zod-openapi';
import type { ExitSpec } from '../../web/js/shared/flow-graph.js';
import type { Masker } from '../crypto/redact';
import type { Env } from '../env';
import type { TemplateContext } from '../flows/templates';
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
  /** What the step's templates read (trigger, steps, variables, environment, run, flow), without the secrets: the `code` block's input. */
  data(): Readonly<Omit<TemplateContext, 'secrets'>>;
  /** What is left of the run's budget for regular expressions (see `condition`); shared by all its steps. */
  regexBudget: { left: number };
  /** What only the run engine can do, for the blocks that start other runs. */
  engine: {
    /** trigger_flow: starts a run of another enabled flow of the tenant (or fails the step). */
    startFlow(flowId: string, input: Record<string, unknown>): Promise<{ runId: string; status: string }>;
  };
}

export type StepResult =
  /** Done; `output` is what `{{steps.<id>.…}}` reads. */
  | { output: unknown; failed?: undefined; sleepUntil?: undefined }
  /** Failed with an error, keeping what output there is (e.g. the HTTP response). */
  | { output: unknown; failed: string; sleepUntil?: undefined }
  /** Wake the run at `sleepUntil` (epoch ms), then the step succeeds with `output`. */
  | { output: unknown; sleepUntil: number; failed?: undefined }
  /** Wait (without holding the object) for another run to end, at most until `until`: its end settles the step. */
  | { output: unknown; awaitRun: { runId: string; until: number }; failed?: undefined; sleepUntil?: undefined }
  /** Wait (without holding the object) for an event delivered to this step, at most until `until`. */
  | { output?: undefined; awaitEvent: { until: number; onTimeout: 'fail' | 'continue' }; failed?: undefined; sleepUntil?: undefined }
  /** Run the block's nested chain once per item, `concurrency` at a time (the engine does, durably); the step ends with the results. */
  | { output?: undefined; loop: { items: unknown[]; concurrency: number }; failed?: undefined; sleepUntil?: undefined };

/**
 * A block type: its params schema (templates unrendered) and how it runs
 * (params rendered). A failing step throws `StepError` or returns `failed`.
 */
export interface BlockSpec<P = unknown> {
  type: string;
  /** For people and editors (`GET /v1/blocks`): the name shown, the palette group, one sentence on what it does. */
  label: string;
  category: 'Flow' | 'Data' | 'Actions' | 'Media';
  description: string;
  params: z.ZodType<P>;
  run(params: P, context: StepContext): Promise<StepResult>;
  /** Longer help for editors: when to use the block and what it gives, with an example. */
  help: string;
  /** The shape of its output (what `{{steps.<id>.…}}` reads), for editors and the catalogue. */
  output: z.ZodType;
  /** For branching blocks: the exit to follow given the output (`then`, `else`, `cases[2]`, `default`); default `next`. */
  edge?(output: unknown): string;
  /** Its ways out (default: one `next`, which, absent, means the following block); see web/js/shared/flow-graph.js. */
  exits?: readonly ExitSpec[];
  /** The param that holds a nested chain of blocks (a loop's body), run per item with its own templates. */
  chain?: string;
  /** Whether its step waits for an event delivered to it (and so has a callback URL, `{{callbacks.<id>}}`). */
  acceptsEvents?: boolean;
  /** Params passed on as written, not rendered (the nested chain is never rendered as a whole). */
  unrendered?: readonly string[];
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
