import { z } from '@hono/zod-openapi';
import { MAX_STEP_OUTPUT_BYTES, outputBytes } from '../runs/machine/output-bounds';
import { StepError, type BlockSpec } from './types';

export const MAX_ITEMS = 1000;
export const MAX_CHAIN_BLOCKS = 50;

export const forEachParams = z
  .object({
    items: z.unknown().describe('template that renders to an array of at most 1,000 items'),
    concurrency: z.number().int().min(1).max(10).optional(),
    // The chain's blocks are checked one by one with the block schema (src/flows/definition.ts).
    blocks: z
      .array(z.record(z.string(), z.unknown()))
      .min(1)
      .max(MAX_CHAIN_BLOCKS)
      .describe('a nested chain of blocks, run once per item with {{item}} and {{index}}'),
  })
  .strict();

type Params = z.infer<typeof forEachParams>;

/** "Apply on Each": the nested chain once per item, results in item order. */
export const forEachBlock: BlockSpec<Params> = {
  type: 'for_each',
  output: z.object({
    count: z.number().int(),
    results: z.array(z.unknown()).describe('per item, the output of the last block that ran in its chain'),
  }),
  help: 'Runs its own chain of blocks once per item of `items` (a template that renders to an array of at most 1,000), with {{item}} and {{index}}; up to `concurrency` (1 to 10) items at a time. The run survives a restart mid-loop without running a finished item again. Output: { count, results }.',
  params: forEachParams,
  label: 'Apply on Each',
  category: 'Flow',
  description: 'Runs a nested chain of blocks once per item of a list, up to 10 at a time, and collects the results in order.',
  chain: 'blocks',
  unrendered: ['blocks'],
  async run(params) {
    const { items } = params;
    if (!Array.isArray(items)) throw new StepError(`items must render to an array, not ${items === null ? 'null' : typeof items}`);
    if (items.length > MAX_ITEMS) throw new StepError(`items has ${items.length} entries; at most ${MAX_ITEMS}`);
    const bytes = outputBytes(items);
    if (bytes > MAX_STEP_OUTPUT_BYTES)
      throw new StepError(`items takes ${bytes} bytes as JSON; at most ${MAX_STEP_OUTPUT_BYTES} (pass keys, not contents)`);
    return { loop: { items, concurrency: params.concurrency ?? 1 } };
  },
};
