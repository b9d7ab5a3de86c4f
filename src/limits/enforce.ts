import type { Env } from '../env';
import { ApiError } from '../http/errors';
import { parseRateLimit, type RateDecision, type RateLimit } from './rate-limiter';

const DEFAULT_HOOK_LIMIT: RateLimit = { burst: 60, perSecond: 1 };
const DEFAULT_TENANT_RUN_LIMIT: RateLimit = { burst: 600, perSecond: 10 };

export const hookLimit = (env: Env): RateLimit => parseRateLimit(env.HOOK_RATE_LIMIT, DEFAULT_HOOK_LIMIT);
export const tenantRunLimit = (env: Env): RateLimit => parseRateLimit(env.TENANT_RUN_RATE_LIMIT, DEFAULT_TENANT_RUN_LIMIT);

/** Takes `count` tokens from `key`'s bucket (all or none). */
export function takeTokens(env: Env, key: string, limit: RateLimit, count = 1): Promise<RateDecision> {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key)).take(limit, count);
}

/** Takes a token from `key`'s bucket, or throws 429 rate_limited with Retry-After. */
export async function enforceRateLimit(env: Env, key: string, limit: RateLimit, what: string): Promise<void> {
  const decision = await takeTokens(env, key, limit);
  if (!decision.allowed) {
    throw new ApiError('rate_limited', `${what} is rate limited; retry in ${decision.retryAfter} s`, undefined, {
      'Retry-After': String(decision.retryAfter),
    });
  }
}
