import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { ConflictError, NotFoundError, UnauthorizedError } from '../lib/errors';

/** The contract's error codes, by status. */
export type ErrorCode =
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'length_required'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'validation_failed'
  | 'rate_limited'
  | 'upgrade_required'
  | 'internal';

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: ErrorDetail[] };
}

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  length_required: 411,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  upgrade_required: 426,
  internal: 500,
};

/**
 * The one error type routes throw. `onError` turns it into the contract's shape.
 *
 * @example throw new ApiError('not_found', 'flow not found')
 */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = STATUS[code];
  }
}

export const notFound = (what: string): ApiError => new ApiError('not_found', `${what} not found`);

/** `a.b[2].c` from a zod issue path, the way the contract names paths. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

export function validationFailed(details: ErrorDetail[], message = 'request failed validation'): ApiError {
  return new ApiError('validation_failed', message, details);
}

/** Every zod issue as a detail; an unknown key is reported at its own path. */
export function fromZodError(error: ZodError): ApiError {
  return validationFailed(
    error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: `unknown field "${key}"` }))
        : [{ path: formatPath(issue.path), message: issue.message }],
    ),
  );
}

export function errorResponse(c: Context, error: ApiError): Response {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  if (error.details?.length) body.error.details = error.details;
  return c.json(body, error.status, error.headers);
}

/** Maps anything thrown in a request to the contract's error shape; never leaks internals. */
export function handleError(err: unknown, c: Context): Response {
  if (err instanceof ApiError) return errorResponse(c, err);
  if (err instanceof NotFoundError) return errorResponse(c, new ApiError('not_found', err.message));
  if (err instanceof UnauthorizedError) return errorResponse(c, new ApiError('unauthorized', err.message));
  if (err instanceof ConflictError) return errorResponse(c, new ApiError('conflict', err.message));
  if (err instanceof HTTPException) {
    const code = codeForStatus(err.status);
    if (code !== 'internal') return errorResponse(c, new ApiError(code, err.message || code));
  }
  console.error('unhandled error', c.req.method, new URL(c.req.url).pathname, err);
  return errorResponse(c, new ApiError('internal', 'internal error'));
}

function codeForStatus(status: number): ErrorCode {
  const entry = Object.entries(STATUS).find(([, s]) => s === status);
  return (entry?.[0] as ErrorCode | undefined) ?? 'internal';
}
