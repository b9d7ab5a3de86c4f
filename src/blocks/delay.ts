import { z } from '@hono/zod-openapi';
import type { BlockSpec } from './types';

export const delayParams = z
  .object({
    seconds: z.number().int().min(1).max(86_400),
  })
  .strict();

/** Waits with a Durable Object alarm: the run is `waiting`, holds nothing in memory, and survives restarts. */
export const delayBlock: BlockSpec<z.infer<typeof delayParams>> = {
  type: 'delay',
  label: 'Wait',
  category: 'Flow',
  description: 'Pauses the run for some seconds; the run holds nothing while it waits and survives restarts.',
  output: z.object({ sleptSeconds: z.number().int() }),
  help: 'Waits `seconds` (1 to 86,400) before the next block. The run is waiting meanwhile, holds nothing in memory and resumes after a restart. Output: { sleptSeconds }.',
  params: delayParams,
  async run({ seconds }) {
    return { output: { sleptSeconds: seconds }, sleepUntil: Date.now() + seconds * 1000 };
  },
};
