import { conditionParams } from './condition';
import { delayParams } from './delay';
import { httpRequestParams } from './http-request';
import { logParams } from './log';
import { r2ObjectParams } from './r2-object';

/**
 * Every block type, by `type`. A new block type is one new module in this
 * folder and one line here.
 */
export const BLOCK_PARAMS = {
  log: logParams,
  http_request: httpRequestParams,
  condition: conditionParams,
  delay: delayParams,
  r2_object: r2ObjectParams,
} as const;

export type BlockType = keyof typeof BLOCK_PARAMS;

/** Block types that choose their successor with `then`/`else` instead of `next`. */
export const BRANCHING_TYPES: ReadonlySet<BlockType> = new Set(['condition']);
