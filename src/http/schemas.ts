import { z } from '@hono/zod-openapi';

/** The contract's error shape, for the OpenAPI document. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'validation_failed' }),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi('Error');

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorSchema } },
});

/** The error responses every authenticated route can give. */
export const standardErrors = {
  400: errorResponse('Body is not valid JSON (`invalid_json`)'),
  401: errorResponse('Missing or invalid token (`unauthorized`)'),
  403: errorResponse('Token lacks the scope (`forbidden`)'),
  404: errorResponse("No such resource in the caller's tenant (`not_found`)"),
  413: errorResponse('Body over 1 MiB (`payload_too_large`)'),
  415: errorResponse('Body not sent as JSON (`unsupported_media_type`)'),
  422: errorResponse('Body or query breaks the schema (`validation_failed`)'),
  429: errorResponse('Rate limited (`rate_limited`)'),
} as const;

export const conflictError = { 409: errorResponse('Version mismatch or duplicate (`conflict`)') } as const;

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({
  body: { content: { 'application/json': { schema } }, required },
});

/** `?limit=&cursor=` of the contract's lists; the cursor is the last id of the previous page (matching `idShape`). */
export const pageQuery = (idShape: RegExp) =>
  z.object({
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(100)
      .default(20)
      .openapi({ param: { in: 'query' } }),
    cursor: z
      .string()
      .regex(idShape, 'not a cursor of this list')
      .optional()
      .openapi({ param: { in: 'query' } }),
  });

export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const FlowIdParam = z.object({
  flowId: z
    .string()
    .max(64)
    .openapi({ param: { in: 'path' }, example: 'flw_01JD3Q2V7X0000000000000000' }),
});

export const bearerSecurity = [{ bearerAuth: [] }];

/** `:flowId/…/:name` of secrets and variables; names are identifiers usable in templates. */
export const FlowNameParams = FlowIdParam.extend({
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'names match ^[A-Za-z_][A-Za-z0-9_]{0,63}$')
    .openapi({ param: { in: 'path' }, example: 'postmark_api_key' }),
});

export const RunIdParam = z.object({
  runId: z
    .string()
    .max(64)
    .openapi({ param: { in: 'path' }, example: 'run_01JD3Q2V7X0000000000000000…' }),
});
