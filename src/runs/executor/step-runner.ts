/**
 * Runs one step's block: renders its params against what the step may read
 * (the trigger, the outputs of the steps before it in its frame and the
 * frames around it, variables, environment, secrets, the loop item), calls
 * the block with a context holding only what it may touch, masks what comes
 * out, and answers with the outcome the machine takes. Never throws: a
 * failure is an outcome.
 */
import { BLOCKS } from '../../blocks/registry';
import { StepError, type BlockSpec, type StepContext, type StepResult } from '../../blocks/types';
import { settings } from '../../config';
import { callbackPath } from '../../crypto/callbacks';
import type { Masker } from '../../crypto/redact';
import type { OpenedSecrets } from '../../crypto/vault';
import type { Env } from '../../env';
import type { Block } from '../../flows/definition';
import { literalHosts } from '../../flows/secret-destinations';
import { referencedNames, referencedSecrets, render, type TemplateContext } from '../../flows/templates';
import type { FlowConfigCache } from '../flow-config';
import { frameKey, type StepAt, type StepOutcome } from '../machine';
import { depthOf, frameOfStep, placeOf } from '../machine/flow-index';
import type { LogLevel } from '../types';
import type { LiveRun } from './live-run';

const MAX_MESSAGE_CHARS = 16 * 1024;
const MAX_ERROR_CHARS = 4 * 1024;
/** How often a step waiting for another run looks at it, should the news of its end be lost. */
export const CHILD_POLL_MS = 60_000;

/** What a step can ask of the executor while it runs. */
export interface StepHost {
  log(live: LiveRun, at: StepAt, level: LogLevel, message: string): void;
  retrying(live: LiveRun, at: StepAt, attempt: number, message: string): void;
  startFlow(live: LiveRun, at: StepAt, flowId: string, input: Record<string, unknown>): Promise<{ runId: string; status: string }>;
}

export class StepRunner {
  constructor(
    private readonly env: Env,
    private readonly flowId: () => string,
    private readonly config: FlowConfigCache,
    private readonly host: StepHost,
  ) {}

  async run(live: LiveRun, at: StepAt): Promise<StepOutcome> {
    let secrets: OpenedSecrets;
    try {
      const opening = this.secretsOf(live);
      secrets = await opening;
      // Dropped while they were being opened: the flow was deleted, its key shredded.
      if (live.secrets !== opening) throw new Error('the flow no longer exists');
    } catch (err) {
      return { kind: 'failed', error: `cannot open the flow's secrets: ${errorMessage(err)}`, output: null };
    }
    if (live.run.state.cancelRequested) return { kind: 'failed', error: 'cancelled', output: null };
    const block = placeOf(live.definition.blocks, at.blockId).block;
    const spec: BlockSpec = BLOCKS[block.type];
    const { masker } = secrets;
    try {
      const used = new Set<string>();
      const context = { ...this.templateContext(live, at, secrets), callbacks: await this.callbacksOf(live, at, block) };
      const params = renderParams(block, spec, context, used);
      const result = await spec.run(params as never, this.stepContext(live, at, block, secrets, used, context));
      return toOutcome(result, masker, spec, Date.now());
    } catch (err) {
      const output = masker.maskValue(err instanceof StepError ? err.output : null);
      return { kind: 'failed', error: truncate(masker, masker.mask(errorMessage(err)), MAX_ERROR_CHARS), output };
    }
  }

  /** The secrets the run's definition references: from the configuration it started with, or the current one after a restart. */
  private secretsOf(live: LiveRun): Promise<OpenedSecrets> {
    live.secrets ??= (async () => {
      const config = live.config ?? (await this.config.get(live.init.tenantId, Date.now()));
      if (!config) throw new Error('the flow no longer exists');
      return config.keyring.open(referencedSecrets(live.definition.blocks.map((b) => b.params)));
    })();
    live.secrets.catch(() => (live.secrets = undefined)); // the next step tries again
    return live.secrets;
  }

  /** The callback URLs the block's params name (`{{callbacks.<id>}}`), for the loop items the step is in. */
  private async callbacksOf(live: LiveRun, at: StepAt, block: Block): Promise<Record<string, string>> {
    const ids = referencedNames(block.params, 'callbacks');
    if (ids.size === 0) return {};
    const origin = settings(this.env).PUBLIC_URL;
    if (!origin) throw new StepError('callback URLs need PUBLIC_URL, the origin this API is reached at (see Configuration in the README)');
    const urls: Record<string, string> = {};
    for (const blockId of ids) {
      const items = at.items.slice(0, depthOf(live.definition.blocks, blockId));
      urls[blockId] = `${origin.replace(/\/+$/, '')}${await callbackPath(this.env, { runId: live.init.runId, blockId, items })}`;
    }
    return urls;
  }

  /**
   * What a step's templates read. `steps`: the outputs of the steps that
   * succeeded in its frame and the frames around it (their item indexes are
   * a prefix of its own); `error`: the failure its frame is handling.
   */
  private templateContext(live: LiveRun, at: StepAt, secrets: OpenedSecrets): TemplateContext {
    const steps: Record<string, unknown> = {};
    for (const step of live.run.steps.values()) {
      if (step.status !== 'succeeded' || step.at.items.length > at.items.length) continue;
      if (step.at.items.every((index, i) => at.items[i] === index)) steps[step.at.blockId] = step.output;
    }
    const frame = live.run.frames.get(frameKey(frameOfStep(live.definition.blocks, at)));
    return {
      trigger: live.init.payload,
      steps,
      variables: live.variables,
      env: live.env,
      secrets: secrets.values,
      run: { id: live.init.runId },
      flow: { id: this.flowId(), name: live.definition.name },
      error: frame?.error ?? undefined,
      ...(at.items.length ? { item: frame?.item, index: at.items.at(-1) } : {}),
    };
  }

  private stepContext(
    live: LiveRun,
    at: StepAt,
    block: Block,
    secrets: OpenedSecrets,
    used: ReadonlySet<string>,
    data: TemplateContext,
  ): StepContext {
    const { masker } = secrets;
    return {
      engine: { startFlow: (flowId, input) => this.host.startFlow(live, at, flowId, input) },
      template: block.params as Record<string, unknown>,
      data: () => {
        const { secrets: _secrets, ...rest } = data;
        return rest;
      },
      regexBudget: live.regexBudget,
      env: this.env,
      tenantId: live.init.tenantId,
      runId: live.init.runId,
      flowId: this.flowId(),
      signal: live.abort.signal,
      allowPrivateNetwork: settings(this.env).ALLOW_PRIVATE_EGRESS,
      secrets: { used, allowedHosts: secrets.allowedHosts, literalHosts: literalHosts(live.definition.blocks), masker },
      log: (level, message) => this.host.log(live, at, level, truncate(masker, masker.mask(message), MAX_MESSAGE_CHARS)),
      retrying: (attempt, reason, delayMs) =>
        this.host.retrying(live, at, attempt, masker.mask(`${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt})`)),
    };
  }
}

/** A block's result as the machine takes it, its output masked. */
function toOutcome(result: StepResult, masker: Masker, spec: BlockSpec, now: number): StepOutcome {
  if ('loop' in result && result.loop) return { kind: 'loop', items: result.loop.items, concurrency: result.loop.concurrency };
  const output = masker.maskValue(result.output ?? null);
  if (result.failed !== undefined) return { kind: 'failed', error: truncate(masker, masker.mask(result.failed), MAX_ERROR_CHARS), output };
  if (result.sleepUntil !== undefined) return { kind: 'waiting', output, wait: { kind: 'delay' }, wakeAt: result.sleepUntil };
  if ('awaitEvent' in result && result.awaitEvent) {
    const { until, onTimeout } = result.awaitEvent;
    return { kind: 'waiting', output: null, wait: { kind: 'event', until, onTimeout }, wakeAt: until };
  }
  if ('awaitRun' in result && result.awaitRun) {
    const { runId, until } = result.awaitRun;
    return { kind: 'waiting', output, wait: { kind: 'child', runId, until }, wakeAt: Math.min(until, now + CHILD_POLL_MS) };
  }
  return { kind: 'succeeded', output, edge: spec.edge?.(output) };
}

/** A block's params rendered for its step, except those it takes as written (a nested chain, code). */
function renderParams(block: Block, spec: BlockSpec, context: TemplateContext, used: Set<string>): unknown {
  const params = block.params as Record<string, unknown>;
  if (!spec.unrendered?.length) return render(params, context, used);
  const kept = Object.fromEntries(spec.unrendered.filter((name) => name in params).map((name) => [name, params[name]]));
  const rest = Object.fromEntries(Object.entries(params).filter(([name]) => !(name in kept)));
  return { ...(render(rest, context, used) as Record<string, unknown>), ...kept };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Masked text cut at `max` characters, leaving no start of a secret at the cut. */
const truncate = (masker: Masker, text: string, max: number): string =>
  text.length > max ? `${masker.trimPartial(text.slice(0, max))}…` : text;
