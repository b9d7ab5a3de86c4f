import { z } from '@hono/zod-openapi';
import type { BlockSpec } from './types';

export const setParams = z
  .object({
    values: z
      .record(z.string().regex(/^[A-Za-z_][\w-]{0,63}$/, 'names match ^[A-Za-z_][\\w-]{0,63}$'), z.unknown())
      .refine((values) => Object.keys(values).length <= 100, 'at most 100 values')
      .describe('name → any JSON; strings are templates, and a lone placeholder keeps its type'),
  })
  .strict();

/** "Set Values": named values from templates, read later as `{{steps.<id>.<name>}}`. */
export const setBlock: BlockSpec<z.infer<typeof setParams>> = {
  type: 'set',
  output: z.record(z.string(), z.unknown()).describe('the values, by name'),
  help: 'Names values for later blocks: { "thumbKey": "thumbs/{{trigger.key}}", "size": "{{trigger.size}}" } is read as {{steps.<id>.thumbKey}}. A string that is one placeholder keeps its type (a number stays a number).',
  params: setParams,
  label: 'Set Values',
  category: 'Data',
  description: 'Computes named values from templates (types kept) for later blocks to read.',
  async run(params) {
    return { output: params.values };
  },
};
