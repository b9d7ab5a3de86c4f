import { z } from '@hono/zod-openapi';

export const delayParams = z
  .object({
    seconds: z.number().int().min(1).max(86_400),
  })
  .strict();
