/**
 * Re-running a run (contract 1.2, "Re-running and replaying runs"): what
 * the new run starts from. From the start, it is a new run of the same
 * trigger input. From the failed step, every step that succeeded is carried
 * over (same output, `reused`, never executed again: the machine passes
 * it) and execution starts where the run failed, in a loop at the failed
 * item. The pinned version is the one the run ran; `current`, the flow's
 * current one, which must still hold the failed block.
 */
import type { FlowDefinition } from '../../flows/definition';
import type { StepState } from '../machine';
import { placesOf } from '../machine/flow-index';
import type { RunStatus, TriggerInput } from '../types';
import type { LiveRun } from './live-run';

export interface RerunRequest {
  /** The run to re-run. */
  runId: string;
  from: 'start' | 'failed';
  version: 'pinned' | 'current';
}

/** What a run gives a re-run of it. */
export interface RerunSeed {
  status: RunStatus;
  trigger: TriggerInput;
  flowVersion: number;
  definition: FlowDefinition;
  /** Its steps that succeeded. */
  succeeded: StepState[];
  /** The block ids of its steps that failed (the failed step, and the loops it failed). */
  failedBlocks: string[];
}

export type RerunPlan =
  | { definition: FlowDefinition; flowVersion: number; trigger: TriggerInput; carried: StepState[] }
  | { conflict: string };

export function planRerun(seed: RerunSeed, request: RerunRequest, current: { definition: FlowDefinition; version: number }): RerunPlan {
  if (request.from === 'failed' && seed.status !== 'failed' && seed.status !== 'cancelled') {
    return { conflict: `only a failed or cancelled run re-runs from its failed step; ${request.runId} is ${seed.status}` };
  }
  const [definition, flowVersion] =
    request.version === 'current' ? [current.definition, current.version] : [seed.definition, seed.flowVersion];
  const places = placesOf(definition.blocks);
  if (request.from === 'failed' && request.version === 'current') {
    const gone = seed.failedBlocks.filter((id) => !places.has(id));
    if (gone.length) return { conflict: `the current version has no block "${gone[0]}", where ${request.runId} failed` };
  }
  const carried =
    request.from === 'failed'
      ? seed.succeeded.filter((step) => places.has(step.at.blockId)).map((step) => ({ ...step, reused: true }))
      : [];
  return { definition, flowVersion, trigger: seed.trigger, carried };
}

/** What a run gives a re-run of it. */
export function seedOf(live: LiveRun): RerunSeed {
  const steps = [...live.run.steps.values()];
  return {
    status: live.run.state.status,
    trigger: { type: live.init.triggerType, payload: live.init.payload },
    flowVersion: live.init.flowVersion,
    definition: live.definition,
    succeeded: steps.filter((step) => step.status === 'succeeded'),
    failedBlocks: [...new Set(steps.filter((step) => step.status === 'failed').map((step) => step.at.blockId))],
  };
}
