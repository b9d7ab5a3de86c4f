import { z } from '@hono/zod-openapi';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE_FORBIDDEN = /[\r\n\0]/;

export const httpRequestParams = z
  .object({
    method: z.enum(HTTP_METHODS),
    url: z.string().min(1).max(8192).describe('template'),
    headers: z
      .record(
        z.string().regex(HEADER_NAME, 'not a valid header name'),
        z.string().max(8192).refine((v) => !HEADER_VALUE_FORBIDDEN.test(v), 'header values may not contain CR, LF or NUL'),
      )
      .optional(),
    body: z.unknown().optional().describe('any JSON; strings inside are templates'),
    timeoutMs: z.number().int().min(1).max(30_000).optional(),
    retries: z.number().int().min(0).max(5).optional(),
    failOnHttpError: z.boolean().optional(),
  })
  .strict()
  .superRefine((params, ctx) => {
    if (params.url.includes('{{')) return;
    let url: URL;
    try {
      url = new URL(params.url);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'not a valid URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'only http and https URLs' });
    }
  });
