import { z } from 'zod';
import type { ExitSpec } from '../../web/js/shared/flow-graph.js';
import { BLOCKS, type BlockType, shapeOf } from './registry';
import type { BlockSpec } from './types';

export interface BlockTypeInfo {
  type: BlockType;
  label: string;
  category: BlockSpec['category'];
  description: string;
  help: string;
  /** JSON Schema of the params, generated from the zod schema that validates them. */
  params: unknown;
  /** JSON Schema of the output (what `{{steps.<id>.…}}` reads). */
  output: unknown;
  /** The block fields that hold block ids (contract 1.1). */
  branches: string[];
  /** Its ways out, as the shared graph rules read them (web/js/shared/flow-graph.js). */
  exits: ExitSpec[];
  /** The param holding a nested chain of blocks, or null. */
  chain: string | null;
  /** The params in which `{{SECRETS.…}}` may appear. */
  secretParams: string[];
}

let catalogue: BlockTypeInfo[] | undefined;

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { io, unrepresentable: 'any' });

/** Every block type, for clients and editors (`GET /v1/blocks`): built once per isolate. */
export function blockCatalogue(): BlockTypeInfo[] {
  catalogue ??= (Object.keys(BLOCKS) as BlockType[]).map((type) => {
    const spec = BLOCKS[type] as BlockSpec;
    const shape = shapeOf(type)!;
    return {
      type,
      label: spec.label,
      category: spec.category,
      description: spec.description,
      help: spec.help,
      params: jsonSchema(spec.params, 'input'),
      output: jsonSchema(spec.output, 'output'),
      branches: [
        ...shape.exits.flatMap((exit) => ('cases' in exit ? [] : [exit.field])),
        ...shape.exits.flatMap((exit) => ('cases' in exit ? [`params.${exit.cases}[].${exit.field}`] : [])),
        'onError',
      ],
      exits: shape.exits,
      chain: shape.chain ?? null,
      secretParams: [...(spec.secretParams ?? [])],
    };
  });
  return catalogue;
}
