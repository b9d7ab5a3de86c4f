import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import { requireScope, type Scope } from './auth';
import { readJsonBody } from './json-body';
import { bearerSecurity, standardErrors } from './schemas';

type SecuredRouteConfig = Omit<RouteConfig, 'security' | 'middleware'> & {
  /** The scope the caller's token must carry (403 otherwise). */
  scope: Scope;
  /** Whether the route reads a JSON body, required or optional (the contract's 400/413/415 apply). */
  body?: 'json' | 'optional json';
};

/**
 * A route of the tenant API: bearer-authenticated (documented as such),
 * scope-checked, the JSON body read by `readJsonBody` when it has one, and
 * the standard error responses in its OpenAPI description.
 */
export function securedRoute<const R extends SecuredRouteConfig>({ scope, body, ...route }: R) {
  const middleware = body ? [requireScope(scope), readJsonBody({ required: body === 'json' })] : [requireScope(scope)];
  return createRoute({
    ...route,
    security: bearerSecurity,
    middleware,
    responses: { ...route.responses, ...standardErrors },
  });
}
