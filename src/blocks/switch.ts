import { z } from '@hono/zod-openapi';
import { evaluate } from './condition';
import type { BlockSpec } from './types';

const blockIdOrEnd = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'block ids match ^[A-Za-z][A-Za-z0-9_]{0,63}$')
  .nullable();

export const switchParams = z
  .object({
    value: z.unknown().describe('template'),
    cases: z
      .array(z.object({ equals: z.unknown().describe('JSON value or template'), next: blockIdOrEnd }).strict())
      .min(1)
      .max(50),
  })
  .strict();

type Params = z.infer<typeof switchParams>;

/**
 * Equality as a person means it: numbers by value (`"5"` equals `5.0`),
 * text as text, objects and arrays by their JSON.
 */
export function switchEquals(value: unknown, candidate: unknown): boolean {
  const primitive = (v: unknown) => v === null || typeof v !== 'object';
  if (primitive(value) && primitive(candidate)) return evaluate('eq', value, candidate);
  return JSON.stringify(value) === JSON.stringify(candidate);
}

/** "Switch": the first case equal to the value chooses the next block; none: `default`. */
export const switchBlock: BlockSpec<Params> = {
  type: 'switch',
  output: z.object({ matched: z.number().int().nullable().describe('the index of the first equal case, or null') }),
  help: 'Continues at the block of the first case whose `equals` equals the value (numbers by value, text as text, objects by their JSON), or at `default` (absent: the run ends). Blocks on the branches not taken are skipped. Output: { matched }.',
  params: switchParams,
  label: 'Switch',
  category: 'Flow',
  description: 'Continues at the first case whose value equals the input, or at default.',
  exits: [
    { cases: 'cases', field: 'next' },
    { field: 'default', absent: 'end' },
  ],
  async run(params) {
    const index = params.cases.findIndex((c) => switchEquals(params.value, c.equals));
    return { output: { matched: index === -1 ? null : index } };
  },
  edge(output) {
    const { matched } = output as { matched: number | null };
    return matched === null ? 'default' : `cases[${matched}]`;
  },
};
