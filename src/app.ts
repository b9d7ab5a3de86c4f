import type { OpenAPIHono } from '@hono/zod-openapi';
import { authenticate } from './http/auth';
import { ApiError, errorResponse, handleError } from './http/errors';
import { newRouter, type AppEnv } from './http/router';
import { mountMcp } from './mcp/server';
import { devRoutes } from './routes/dev';
import { uploadRouteDoc } from './routes/uploads';
import { V1_ROUTERS } from './routes/v1';

/** Routes under /v1 that authenticate themselves: webhooks and event callbacks carry no JWT, live sockets may carry a ticket. */
const SELF_AUTHENTICATED = /^\/v1\/(hooks\/|callbacks\/|(runs|flows)\/[^/]+\/live$)/;

const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'PowerFlows API',
    version: '1',
    description: 'Media workflow automation with flow secrets. Errors: `{ error: { code, message, details? } }`.',
  },
};

export function createApp(): OpenAPIHono<AppEnv> {
  const app = newRouter();
  app.onError(handleError);
  app.notFound((c) => errorResponse(c, new ApiError('not_found', 'route not found')));

  // API answers are tenant data: never cached, never sniffed as something else.
  app.use('*', async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    if (c.req.path.startsWith('/v1/')) c.header('Cache-Control', 'no-store');
  });
  app.get('/healthz', (c) => c.json({ ok: true }));

  app.route('/dev', devRoutes);
  app.use('/v1/*', (c, next) => (SELF_AUTHENTICATED.test(c.req.path) ? next() : authenticate(c, next)));
  for (const router of V1_ROUTERS) app.route('/v1', router);
  mountMcp(app); // POST /mcp: the MCP server for agents, outside /v1 and authenticated there

  app.openAPIRegistry.registerPath(uploadRouteDoc);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A JWT with `sub`, `tid` (tenant) and `scope` claims.',
  });
  // Built once per isolate; a failure goes through onError like any other (no internals in the answer).
  let document: unknown;
  app.get('/openapi.json', (c) => {
    document ??= app.getOpenAPI31Document(OPENAPI_INFO);
    return c.json(document);
  });
  return app;
}
