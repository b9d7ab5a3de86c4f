import { z } from '@hono/zod-openapi';

export const CONDITION_OPS = [
  'eq',
  'ne',
  'gt',
  'gte',
  'lt',
  'lte',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'exists',
] as const;

/** `matches` patterns are capped so a hostile regular expression stays cheap to compile. */
export const MAX_PATTERN_LENGTH = 512;

export const conditionParams = z
  .object({
    left: z.string().max(10_000).describe('template'),
    op: z.enum(CONDITION_OPS),
    right: z.string().max(10_000).optional().describe('template'),
  })
  .strict()
  .superRefine((params, ctx) => {
    if (params.op !== 'matches' || params.right === undefined || params.right.includes('{{')) return;
    if (params.right.length > MAX_PATTERN_LENGTH) {
      ctx.addIssue({ code: 'custom', path: ['right'], message: `pattern longer than ${MAX_PATTERN_LENGTH}` });
      return;
    }
    try {
      new RegExp(params.right);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['right'], message: 'not a valid regular expression' });
    }
  });
