/**
 * One Durable Object per rate-limited key (a webhook, a tenant): a token
 * bucket in memory. Exact and cheap: one call per request. If the object is
 * evicted the bucket starts full again, which only ever errs towards
 * letting a request through.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';

export interface RateLimit {
  /** Requests allowed in a burst. */
  burst: number;
  /** Tokens added back per second. */
  perSecond: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until a request would be allowed (0 when allowed). */
  retryAfter: number;
}

export class RateLimiter extends DurableObject<Env> {
  private tokens: number | undefined;
  private updatedAt = 0;

  /** Takes `count` tokens if there are that many (all or none). */
  async take(limit: RateLimit, count = 1): Promise<RateDecision> {
    const now = Date.now();
    const refilled = this.tokens === undefined ? limit.burst : this.tokens + ((now - this.updatedAt) / 1000) * limit.perSecond;
    this.tokens = Math.min(limit.burst, refilled);
    this.updatedAt = now;
    if (this.tokens >= count) {
      this.tokens -= count;
      return { allowed: true, retryAfter: 0 };
    }
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((count - this.tokens) / limit.perSecond)) };
  }
}
