import { OpenAPIHono } from '@hono/zod-openapi';
import type { Env } from './env';
import type { AuthVariables } from './http/auth';
import { ApiError, errorResponse, handleError } from './http/errors';

export type AppEnv = { Bindings: Env; Variables: AuthVariables };

export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.onError(handleError);
  app.notFound((c) => errorResponse(c, new ApiError('not_found', 'route not found')));
  app.get('/healthz', (c) => c.json({ ok: true }));
  return app;
}
