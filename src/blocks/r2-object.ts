import { z } from '@hono/zod-openapi';

export const R2_ACTIONS = ['head', 'copy', 'delete', 'set_metadata'] as const;

export const r2ObjectParams = z
  .object({
    action: z.enum(R2_ACTIONS),
    key: z.string().min(1).max(1024).describe('template, relative to the tenant namespace'),
    destinationKey: z.string().min(1).max(1024).optional().describe('template; required for copy'),
    metadata: z.record(z.string().max(256), z.string().max(2048)).optional().describe('required for set_metadata'),
  })
  .strict()
  .superRefine((params, ctx) => {
    if (params.action === 'copy' && params.destinationKey === undefined) {
      ctx.addIssue({ code: 'custom', path: ['destinationKey'], message: 'copy needs a destinationKey' });
    }
    if (params.action === 'set_metadata' && params.metadata === undefined) {
      ctx.addIssue({ code: 'custom', path: ['metadata'], message: 'set_metadata needs metadata' });
    }
  });
