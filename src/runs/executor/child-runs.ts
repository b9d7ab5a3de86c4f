/**
 * Runs started by runs (`trigger_flow`): starting a child one level deeper
 * (at most MAX_FLOW_DEPTH), under the tenant's run limit, deduped by the
 * starting step so a step run again after a restart finds the child it
 * started; looking at a child a waiting step waits for; and telling a
 * parent's executor when a child ends (the parent also looks by itself).
 */
import { MAX_FLOW_DEPTH } from '../../blocks/trigger-flow';
import { StepError } from '../../blocks/types';
import { tenantScope } from '../../db/scope';
import type { Env } from '../../env';
import { takeTokens, tenantRunLimit } from '../../limits/enforce';
import { NotFoundError } from '../../lib/errors';
import { runExecutor } from '../executors';
import type { StepAt, StepOutcome, StepState } from '../machine';
import { startRun } from '../start';
import { isFinal, type Run } from '../types';
import type { LiveRun } from './live-run';
import { CHILD_POLL_MS } from './step-runner';

/** What looking at a child run says: its end as the step's outcome, or when to look again. */
export type ChildNews = { ended: StepOutcome } | { lookAgainAt: number };

export class ChildRuns {
  constructor(
    private readonly env: Env,
    private readonly flowId: () => string,
  ) {}

  async start(live: LiveRun, at: StepAt, flowId: string, input: Record<string, unknown>): Promise<{ runId: string; status: string }> {
    const depth = flowDepth(live.init.payload) + 1;
    if (depth > MAX_FLOW_DEPTH)
      throw new StepError(`a chain of flows starting flows may be at most ${MAX_FLOW_DEPTH} deep: this step would start the ${depth}th`);
    const { tenantId } = live.init;
    const limit = await takeTokens(this.env, `tenant:${tenantId}`, tenantRunLimit(this.env));
    if (!limit.allowed) throw new StepError(`this tenant is starting runs too fast; retry in ${limit.retryAfter} s`);
    const payload = { input, parentRunId: live.init.runId, parentFlowId: this.flowId(), depth };
    const scope = tenantScope(this.env, { tenantId, sub: live.init.actor });
    // The step's place names the child, so a step run again after a restart finds it (the form v2 wrote, kept for runs in flight).
    const dedupeKey = `flow:${live.init.runId}:${at.blockId}${at.items.length ? `@${at.items.join('.')}` : ''}`;
    let started: Awaited<ReturnType<typeof startRun>>;
    try {
      started = await startRun(this.env, scope, flowId, { type: 'flow', payload, dedupeKey }, { requireEnabled: true });
    } catch (err) {
      if (err instanceof NotFoundError) throw new StepError(`flow ${flowId} was not found, or is not enabled`);
      throw err;
    }
    if ('duplicateOf' in started) {
      const child = await runExecutor(this.env, started.duplicateOf)?.getRun(tenantId, started.duplicateOf);
      return { runId: started.duplicateOf, status: child?.status ?? 'queued' };
    }
    return { runId: started.id, status: started.status };
  }

  /** Looks at the child a waiting step waits for: ended (succeeded or failed), past its timeout (failed), or still going. */
  async look(live: LiveRun, step: StepState, now: number): Promise<ChildNews> {
    const wait = step.wait;
    if (wait?.kind !== 'child') throw new Error(`step ${step.at.blockId} waits for no child run`);
    const child = await runExecutor(this.env, wait.runId)?.getRun(live.init.tenantId, wait.runId);
    if (!child) return { ended: { kind: 'failed', error: `child run ${wait.runId} was not found`, output: step.output } };
    if (isFinal(child.status)) {
      const output = { runId: wait.runId, status: child.status, output: lastOutput(child) };
      if (child.status === 'succeeded') return { ended: { kind: 'succeeded', output } };
      const why = `child run ${wait.runId} ${child.status}${child.error ? `: ${child.error}` : ''}`;
      return { ended: { kind: 'failed', error: why, output } };
    }
    if (now >= wait.until)
      return { ended: { kind: 'failed', error: `child run ${wait.runId} did not end within the timeout`, output: step.output } };
    return { lookAgainAt: Math.min(wait.until, now + CHILD_POLL_MS) };
  }

  /** A run started by another flow tells its parent's executor that it has ended. */
  tellParent(live: LiveRun): void {
    const parentRunId = live.init.payload.parentRunId;
    if (live.init.triggerType !== 'flow' || typeof parentRunId !== 'string') return;
    runExecutor(this.env, parentRunId)
      ?.childEnded(live.init.tenantId, parentRunId, live.init.runId)
      .catch((err: unknown) => {
        // The parent looks again within CHILD_POLL_MS.
        console.warn('could not tell the parent run', parentRunId, err instanceof Error ? err.message : String(err));
      });
  }
}

/** How deep in a chain of flows starting flows a run is (1: not started by a flow). */
const flowDepth = (payload: Record<string, unknown>): number => (typeof payload.depth === 'number' ? payload.depth : 1);

/** The output of a run's last succeeded step (what a parent waiting on it gets). */
function lastOutput(run: Run): unknown {
  const done = (run.steps ?? []).filter((step) => step.status === 'succeeded');
  done.sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? ''));
  return done.at(-1)?.output ?? null;
}
