/**
 * A run as the API shows it (`Run` with its `Step`s): the main chain's
 * blocks in order, each for_each followed by the steps of its chain, item by
 * item (those that ran), a loop inside a loop nested the same way.
 */
import type { Block } from '../../flows/definition';
import { allBlocks, chainOf } from '../../flows/graph';
import { pendingStep, type RunSnapshot, type StepState, stepKey } from '../machine';
import { shownAsRunning } from '../machine/draft';
import type { Run, Step } from '../types';
import type { RunInit } from './run-store';

export function runView(init: RunInit, flowId: string, run: RunSnapshot): Run {
  const { state } = run;
  return {
    id: init.runId,
    flowId,
    flowVersion: init.flowVersion,
    status: state.status,
    trigger: { ...init.payload, type: init.triggerType },
    ...(init.triggerType === 'flow' ? { parentRunId: String(init.payload.parentRunId) } : {}),
    ...(init.rerunOf ? { rerunOf: init.rerunOf } : {}),
    createdAt: init.createdAt,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    error: state.error,
    steps: stepList(run),
  };
}

function stepList(run: RunSnapshot): Step[] {
  // A loop's nested steps, by loop id and the items of the frame around the loop.
  const nested = new Map<string, StepState[]>();
  const loopOf = new Map<string, string>();
  for (const { block } of allBlocks(run.blocks)) for (const inner of chainOf(block) ?? []) loopOf.set(inner.id, block.id);
  const order = new Map(allBlocks(run.blocks).map(({ block }, i) => [block.id, i]));
  for (const step of run.steps.values()) {
    const loopId = loopOf.get(step.at.blockId);
    if (!loopId || step.at.items.length === 0) continue;
    const key = stepKey({ blockId: loopId, items: step.at.items.slice(0, -1) });
    nested.set(key, [...(nested.get(key) ?? []), step]);
  }
  const byItemThenOrder = (a: StepState, b: StepState) =>
    a.at.items.at(-1)! - b.at.items.at(-1)! || order.get(a.at.blockId)! - order.get(b.at.blockId)!;
  const blockOf = new Map(allBlocks(run.blocks).map(({ block }) => [block.id, block]));
  const withNested = (step: StepState): Step[] => [
    toStep(blockOf.get(step.at.blockId)!, step),
    ...(nested.get(stepKey(step.at)) ?? []).sort(byItemThenOrder).flatMap(withNested),
  ];
  return run.blocks.flatMap((block) => withNested(run.steps.get(block.id) ?? pendingStep({ blockId: block.id, items: [] })));
}

function toStep(block: Block, step: StepState): Step {
  const { items } = step.at;
  return {
    blockId: block.id,
    type: block.type,
    ...(items.length ? { iteration: items.at(-1)! } : {}),
    ...(items.length > 1 ? { iterationPath: [...items] } : {}),
    status: step.status === 'waiting' && shownAsRunning(step.wait) ? 'running' : step.status,
    attempts: step.attempts,
    startedAt: step.startedAt,
    finishedAt: step.finishedAt,
    output: step.output,
    error: step.error,
    ...(step.status === 'waiting' ? { waitingUntil: new Date(waitingUntil(step)).toISOString() } : {}),
    ...(step.reused ? { reused: true } : {}),
  };
}

/** When a waiting step is next looked at: a delay's or backoff's end; for a child run or an event, its timeout. */
function waitingUntil(step: StepState): number {
  const wait = step.wait;
  return wait && (wait.kind === 'child' || wait.kind === 'event') ? wait.until : (step.wakeAt ?? 0);
}
