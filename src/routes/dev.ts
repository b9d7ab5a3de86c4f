import { Hono } from 'hono';
import { isDevelopment, settings } from '../config';
import { ApiError } from '../http/errors';
import type { AppEnv } from '../http/router';
import { mintToken } from '../lib/dev-token';
import { executorStats, isFlowId } from '../runs/executors';

const DEMO_TOKEN_TTL_SECONDS = 12 * 3600;

/**
 * Development helpers for the web page. Every route here answers 404 unless
 * `ENVIRONMENT=development` (wrangler.toml's local vars), so production never
 * mints tokens.
 */
export const devRoutes = new Hono<AppEnv>()
  .use(async (c, next) => {
    if (!isDevelopment(c.env) || !settings(c.env).JWT_SECRET) throw new ApiError('not_found', 'route not found');
    await next();
  })
  /** A token for tenant `demo`, like the one `npm start` prints. */
  .post('/token', async (c) => {
    const expiresAt = new Date(Date.now() + DEMO_TOKEN_TTL_SECONDS * 1000).toISOString();
    const token = await mintToken({
      secret: settings(c.env).JWT_SECRET!,
      tenant: 'demo',
      sub: 'demo-user',
      ttlSeconds: DEMO_TOKEN_TTL_SECONDS,
    });
    return c.json({ token, tenant: 'demo', expiresAt });
  })
  /** What a flow's executors did since they started (the benchmark reads D1 round trips per run here). */
  .get('/flows/:flowId/executor-stats', async (c) => {
    const flowId = c.req.param('flowId');
    if (!isFlowId(flowId)) throw new ApiError('not_found', 'flow not found');
    return c.json(await executorStats(c.env, flowId));
  });
