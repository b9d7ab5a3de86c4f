/**
 * Where each block of a pinned definition sits: its chain, its index there
 * and the loop whose chain that is. Built once per definition (definitions
 * are pinned, so never change under a run) and shared by its runs.
 */
import type { Block } from '../../flows/definition';
import { chainOf } from '../../flows/graph';
import type { FrameAt, StepAt } from './state';

export interface Placed {
  block: Block;
  chain: readonly Block[];
  index: number;
  /** The loop block whose chain this is; null on the main chain. */
  loopId: string | null;
}

const indexes = new WeakMap<readonly Block[], Map<string, Placed>>();

export function placesOf(blocks: readonly Block[]): Map<string, Placed> {
  let places = indexes.get(blocks);
  if (!places) {
    places = new Map();
    const walk = (chain: readonly Block[], loopId: string | null) => {
      chain.forEach((block, index) => {
        places!.set(block.id, { block, chain, index, loopId });
        const nested = chainOf(block);
        if (nested) walk(nested, block.id);
      });
    };
    walk(blocks, null);
    indexes.set(blocks, places);
  }
  return places;
}

export function placeOf(blocks: readonly Block[], blockId: string): Placed {
  const place = placesOf(blocks).get(blockId);
  if (!place) throw new Error(`no block "${blockId}" in the run's definition`);
  return place;
}

/** The frame a step runs in. */
export function frameOfStep(blocks: readonly Block[], at: StepAt): FrameAt {
  return { loopId: placeOf(blocks, at.blockId).loopId, items: at.items };
}

/** The loop step whose item a frame is (null for the main frame). */
export function loopStepOf(frame: FrameAt): StepAt | null {
  return frame.loopId === null ? null : { blockId: frame.loopId, items: frame.items.slice(0, -1) };
}

/** The chain a frame runs. */
export function chainOfFrame(blocks: readonly Block[], frame: FrameAt): readonly Block[] {
  return frame.loopId === null ? blocks : (chainOf(placeOf(blocks, frame.loopId).block) ?? []);
}

/** How many loops a block sits in (0 on the main chain). */
export function depthOf(blocks: readonly Block[], blockId: string): number {
  let depth = 0;
  for (let loopId = placeOf(blocks, blockId).loopId; loopId !== null; loopId = placeOf(blocks, loopId).loopId) depth++;
  return depth;
}
