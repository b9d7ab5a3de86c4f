/**
 * How a run begins: the flow's warm configuration checked (the hook still
 * the flow's, the flow enabled when it must be, a signed webhook's
 * signature), its dedupe key looked up, or for a re-run what the earlier
 * run gives; then the run, its frames, its carried-over steps, its dedupe
 * key and its index entry in one write, and the driver takes it.
 */
import type { Env } from '../../env';
import { newId } from '../../lib/ids';
import { verifyWebhook } from '../../triggers/webhook-signature';
import { runExecutor } from '../executors';
import type { FlowConfig, FlowConfigCache } from '../flow-config';
import * as machine from '../machine';
import { outputBytes } from '../machine/output-bounds';
import type { Run, TriggerInput } from '../types';
import type { DedupeKeys } from './dedupe';
import type { RunDriver } from './driver';
import type { IndexOutbox } from './index-outbox';
import { liveRun } from './live-run';
import { planRerun, type RerunRequest, type RerunSeed } from './rerun';
import type { RunInit, RunStore } from './run-store';
import type { ExecutorSchema } from './schema';
import type { Snapshots } from './snapshots';

interface StartCommon {
  runId: string;
  tenantId: string;
  /** Who triggered the run, for the audit log. */
  actor: string;
  waitMs: number;
  /** For a webhook: the hook it came through, which must still be the flow's, and the flow enabled. */
  hookId?: string;
  /** For a webhook: the raw body and headers, checked against the trigger's `verify` rule when it has one. */
  signed?: { body: string; headers: Record<string, string>; replayKey?: string };
  /** Start nothing unless the flow is enabled (a run started by another flow). */
  requireEnabled?: boolean;
}

/** A new run of a trigger, or a re-run of an earlier run (with its trigger input). */
export type StartRequest = StartCommon & ({ trigger: TriggerInput; rerun?: undefined } | { rerun: RerunRequest; trigger?: undefined });

export type StartResult =
  | { outcome: 'started'; run: Run }
  | { outcome: 'duplicate'; runId: string }
  | { outcome: 'flow_not_found' }
  | { outcome: 'unauthorized' }
  | { outcome: 'conflict'; message: string };

export interface StarterParts {
  env: Env;
  schema: ExecutorSchema;
  runs: RunStore;
  snapshots: Snapshots;
  dedupe: DedupeKeys;
  outbox: IndexOutbox;
  driver: RunDriver;
  config: FlowConfigCache;
  counters: { runsStarted: number };
  view(init: RunInit, run: machine.RunSnapshot): Run;
  /** A run of this executor, as a re-run seed (no RPC to itself). */
  localSeed(tenantId: string, runId: string): RerunSeed | null | undefined;
}

/** What the new run runs: a definition and version, a trigger, the steps it starts with. */
interface Start {
  definition: FlowConfig['definition'];
  definitionRef: number;
  flowVersion: number;
  trigger: TriggerInput;
  carried: machine.StepState[];
  rerunOf: string | null;
}

export class RunStarter {
  constructor(private readonly parts: StarterParts) {}

  async start(request: StartRequest): Promise<StartResult> {
    const { config: cache, dedupe } = this.parts;
    const now = Date.now();
    const config = await cache.get(request.tenantId, now);
    if (!config) return { outcome: 'flow_not_found' };
    if (request.hookId !== undefined && !(config.enabled && config.hookId === request.hookId)) return { outcome: 'flow_not_found' };
    if (request.requireEnabled && !config.enabled) return { outcome: 'flow_not_found' };

    const start = request.rerun ? await this.rerun(request.tenantId, request.rerun, config) : await this.fresh(request, config);
    if ('outcome' in start) return start;
    const duplicate = start.trigger.dedupeKey === undefined ? null : dedupe.runOf(start.trigger.dedupeKey);
    if (duplicate) return { outcome: 'duplicate', runId: duplicate };
    return this.insert(request, config, start, now);
  }

  /** A new run of a trigger: the current version, after a signed webhook's check. */
  private async fresh(request: StartRequest & { trigger: TriggerInput }, config: FlowConfig): Promise<Start | StartResult> {
    let { trigger } = request;
    const rule = config.definition.trigger.type === 'webhook' ? config.definition.trigger.verify : undefined;
    if (rule) {
      const secrets = await config.keyring.open(new Set([rule.secret]));
      const secret = secrets.values[rule.secret];
      const { body, headers, replayKey } = request.signed ?? { body: '', headers: {} };
      const verdict = secret === undefined ? { ok: false } : await verifyWebhook(rule, secret, body, headers, Date.now());
      if (!verdict.ok) return { outcome: 'unauthorized' };
      // A Standard Webhooks message id seen before starts nothing: the first run answers for it.
      if ('webhookId' in verdict && verdict.webhookId && replayKey) trigger = { ...trigger, dedupeKey: replayKey };
    }
    const refs = this.parts.snapshots.refsOf(config);
    return {
      definition: config.definition,
      definitionRef: refs.definition,
      flowVersion: config.version,
      trigger,
      carried: [],
      rerunOf: null,
    };
  }

  /** A re-run: the earlier run's trigger input, its pinned version or the current one, its succeeded steps when from the failed step. */
  private async rerun(tenantId: string, request: RerunRequest, config: FlowConfig): Promise<Start | StartResult> {
    const seed =
      this.parts.localSeed(tenantId, request.runId) ??
      (await runExecutor(this.parts.env, request.runId)?.rerunSeed(tenantId, request.runId));
    if (!seed) return { outcome: 'flow_not_found' };
    const plan = planRerun(seed, request, config);
    if ('conflict' in plan) return { outcome: 'conflict', message: plan.conflict };
    const definitionRef =
      plan.definition === config.definition ? this.parts.snapshots.refsOf(config).definition : this.parts.snapshots.store(plan.definition);
    return { ...plan, definitionRef, rerunOf: request.runId };
  }

  /** The run, its frames and carried steps, its dedupe key and its index entry in one write; the driver takes it from there. */
  private async insert(request: StartRequest, config: FlowConfig, start: Start, now: number): Promise<StartResult> {
    const { schema, runs, snapshots, dedupe, outbox, driver } = this.parts;
    const refs = snapshots.refsOf(config);
    const init: RunInit = {
      runId: request.runId,
      tenantId: config.tenantId,
      flowVersion: start.flowVersion,
      definitionRef: start.definitionRef,
      variablesRef: refs.variables,
      envRef: refs.env,
      triggerType: start.trigger.type,
      payload: start.trigger.payload,
      actor: request.actor,
      createdAt: new Date(now).toISOString(),
      rerunOf: start.rerunOf,
    };
    const run = machine.newRun(init.runId, start.definition.blocks, now);
    for (const step of start.carried) {
      run.steps.set(machine.stepKey(step.at), step);
      run.state.outputBytes += outputBytes(step.output);
    }
    const live = liveRun(init, run, { definition: start.definition, variables: config.variables, env: config.env }, config);
    schema.transaction(() => {
      runs.insertRun(init, run.state);
      runs.saveStart(init.runId, run.frames.values(), start.carried);
      if (start.trigger.dedupeKey !== undefined) dedupe.add(start.trigger.dedupeKey, init.runId, now);
      outbox.mark(init.runId, newId('aud'));
    });
    outbox.schedule();
    this.parts.counters.runsStarted++;
    driver.adopt(live);
    await driver.untilEnd(live, request.waitMs);
    return { outcome: 'started', run: this.parts.view(live.init, live.run) };
  }
}
