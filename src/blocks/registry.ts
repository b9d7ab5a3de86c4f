import { codeBlock } from './code';
import { conditionBlock } from './condition';
import { delayBlock } from './delay';
import { forEachBlock } from './for-each';
import { httpRequestBlock } from './http-request';
import { imageInfoBlock, imageTransformBlock } from './images';
import { logBlock } from './log';
import { r2ObjectBlock } from './r2-object';
import { setBlock } from './set';
import { switchBlock } from './switch';
import { triggerFlowBlock } from './trigger-flow';
import { waitForEventBlock } from './wait-for-event';
import type { BlockShape, ExitSpec } from '../../web/js/shared/flow-graph.js';
import type { BlockSpec } from './types';

/**
 * Every block type, by `type`. A new block type is one new module in this
 * folder and one line here.
 */
export const BLOCKS = {
  log: logBlock,
  http_request: httpRequestBlock,
  condition: conditionBlock,
  delay: delayBlock,
  r2_object: r2ObjectBlock,
  set: setBlock,
  switch: switchBlock,
  for_each: forEachBlock,
  trigger_flow: triggerFlowBlock,
  wait_for_event: waitForEventBlock,
  code: codeBlock,
  image_info: imageInfoBlock,
  image_transform: imageTransformBlock,
} as const satisfies Record<string, BlockSpec>;

export type BlockType = keyof typeof BLOCKS;

const NEXT: readonly ExitSpec[] = [{ field: 'next', absent: 'following' }];

/** What the flow graph needs of a block type: its exits and the param holding a nested chain. */
export function shapeOf(type: string): BlockShape | undefined {
  const spec = (BLOCKS as Record<string, BlockSpec>)[type];
  return spec && { exits: [...(spec.exits ?? NEXT)], chain: spec.chain ?? null };
}

/** The block fields that name the block after it, by type (every block may also carry `onError`). */
export const exitFields = (type: BlockType): string[] =>
  (shapeOf(type)?.exits ?? []).flatMap((exit) => ('cases' in exit ? [] : [exit.field]));

/** The exit a block's step takes given its output (`then`, `cases[2]`…; undefined: `next`). */
export const edgeOf = (block: { type: string }, output: unknown): string | undefined =>
  (BLOCKS as Record<string, BlockSpec>)[block.type]?.edge?.(output);
