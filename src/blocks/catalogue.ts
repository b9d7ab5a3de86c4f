import { z } from 'zod';
import { BLOCKS, type BlockType } from './registry';
import type { BlockSpec } from './types';

export interface BlockTypeInfo {
  type: BlockType;
  label: string;
  category: BlockSpec['category'];
  description: string;
  /** JSON Schema of the params, generated from the zod schema that validates them. */
  params: unknown;
  /** The block fields that hold block ids. */
  branches: string[];
}

let catalogue: BlockTypeInfo[] | undefined;

/** Every block type, for clients and editors (`GET /v1/blocks`): built once per isolate. */
export function blockCatalogue(): BlockTypeInfo[] {
  catalogue ??= (Object.keys(BLOCKS) as BlockType[]).map((type) => {
    const spec = BLOCKS[type] as BlockSpec;
    return {
      type,
      label: spec.label,
      category: spec.category,
      description: spec.description,
      params: z.toJSONSchema(spec.params, { io: 'input', unrepresentable: 'any' }),
      branches: [...(spec.exitFields ?? ['next']), ...(type === 'switch' ? ['params.cases[].next'] : []), 'onError'],
    };
  });
  return catalogue;
}
