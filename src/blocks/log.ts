import { z } from '@hono/zod-openapi';
import { asText } from './text';
import type { BlockSpec } from './types';

export const logParams = z
  .object({
    message: z.string().max(10_000).describe('template'),
    level: z.enum(['info', 'warn', 'error']).optional(),
  })
  .strict();

/** "Add to Logs": renders the message into the run's log. */
export const logBlock: BlockSpec<z.infer<typeof logParams>> = {
  type: 'log',
  label: 'Add to Logs',
  category: 'Data',
  description: 'Writes a message (templates rendered, secrets masked) to the run log.',
  params: logParams,
  secretParams: ['message'],
  async run(params, context) {
    const message = asText(params.message);
    context.log(params.level ?? 'info', message);
    return { output: { message } };
  },
};
