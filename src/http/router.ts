import { OpenAPIHono } from '@hono/zod-openapi';
import type { Env } from '../env';
import type { AuthVariables } from './auth';
import { fromZodError } from './errors';

export type AppEnv = { Bindings: Env; Variables: AuthVariables };

/**
 * A router whose zod validation failures become the contract's 422 with a
 * detail per bad path. Every route module builds on this, since the hook is
 * per router and not inherited from the app.
 */
export const newRouter = (): OpenAPIHono<AppEnv> =>
  new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw fromZodError(result.error);
    },
  });
