import { conditionBlock } from './condition';
import { delayBlock } from './delay';
import { httpRequestBlock } from './http-request';
import { logBlock } from './log';
import { r2ObjectBlock } from './r2-object';
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
} as const satisfies Record<string, BlockSpec>;

export type BlockType = keyof typeof BLOCKS;

/** Block types that choose their successor with `then`/`else` instead of `next`. */
export const BRANCHING_TYPES: ReadonlySet<BlockType> = new Set(
  (Object.keys(BLOCKS) as BlockType[]).filter((type) => 'edge' in BLOCKS[type]),
);
