import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { isDevelopment } from '../env';
import { ApiError } from '../http/errors';
import type { AppEnv } from '../http/router';

const DEMO_SCOPES = 'flows:read flows:write secrets:write runs:read runs:write';
const DEMO_TOKEN_TTL_SECONDS = 12 * 3600;

/**
 * Development helpers for the web page. Every route here answers 404 unless
 * `ENVIRONMENT=development` (wrangler.toml's local vars), so production never
 * mints tokens.
 */
export const devRoutes = new Hono<AppEnv>()
  .use(async (c, next) => {
    if (!isDevelopment(c.env) || !c.env.JWT_SECRET) throw new ApiError('not_found', 'route not found');
    await next();
  })
  /** A token for tenant `demo`, like the one `npm start` prints. */
  .post('/token', async (c) => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ tid: 'demo', scope: DEMO_SCOPES })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('demo-user')
      .setIssuedAt(now)
      .setExpirationTime(now + DEMO_TOKEN_TTL_SECONDS)
      .sign(new TextEncoder().encode(c.env.JWT_SECRET));
    return c.json({ token, tenant: 'demo', expiresAt: new Date((now + DEMO_TOKEN_TTL_SECONDS) * 1000).toISOString() });
  });
