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
  output: z.object({ message: z.string() }),
  help: 'Adds a line to the run log, e.g. "New upload {{trigger.key}} ({{trigger.size}} bytes)". Secrets rendered into it are shown as ***. Its output repeats the rendered message.',
  params: logParams,
  secretParams: ['message'],
  async run(params, context) {
    const message = asText(params.message);
    context.log(params.level ?? 'info', message);
    return { output: { message } };
  },
};
