import { settings } from '../config';
import type { Env } from '../env';
import { ApiError } from '../http/errors';
import type { RateDecision, RateLimit } from './rate-limiter';

export const hookLimit = (env: Env): RateLimit => settings(env).HOOK_RATE_LIMIT;
export const tenantRunLimit = (env: Env): RateLimit => settings(env).TENANT_RUN_RATE_LIMIT;

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
