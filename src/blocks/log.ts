import { z } from '@hono/zod-openapi';

export const logParams = z
  .object({
    message: z.string().max(10_000).describe('template'),
    level: z.enum(['info', 'warn', 'error']).optional(),
  })
  .strict();
