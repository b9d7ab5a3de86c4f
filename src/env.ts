import type { RateLimiter } from './limits/rate-limiter';
import type { FlowExecutor } from './runs/executor';

/** The Worker's bindings, as declared in wrangler.toml and `.dev.vars` / `wrangler secret put`. */
export interface Env {
  DB: D1Database;
  UPLOADS: R2Bucket;
  EXECUTORS: DurableObjectNamespace<FlowExecutor>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  UPLOAD_EVENTS: Queue<unknown>;
  ASSETS: Fetcher;

  /** `development` enables the demo-token route, local upload events and loopback egress. */
  ENVIRONMENT: string;
  MAX_UPLOAD_BYTES?: string;
  /** "true" lets http_request reach loopback and private addresses (local development and tests only). */
  ALLOW_PRIVATE_EGRESS?: string;
  /** Webhook rate limit per hook, `<burst>/<seconds>` (default 60/60). */
  HOOK_RATE_LIMIT?: string;
  /** Run starts per tenant (test runs, webhooks, uploads), `<burst>/<seconds>` (default 600/60). */
  TENANT_RUN_RATE_LIMIT?: string;
  /** Frames a flow viewer may fall behind its acknowledgements before it is dropped (default 5000). */
  LIVE_MAX_UNACKED?: string;
  /** Days a finished run keeps its steps and events, and its index row (default 30). */
  RUN_RETENTION_DAYS?: string;
  /** Executors (Durable Objects) per flow, 1–32 (default 1): more for flows that start more runs than one object serves. */
  EXECUTOR_SHARDS?: string;

  JWT_SECRET?: string;
  /** When set, the only key whose HS256 tokens carry `admin:keys` (operator tokens); tenant tokens never do. */
  ADMIN_JWT_SECRET?: string;
  JWT_JWKS_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;

  /** 32 random bytes, base64: wraps every flow key. */
  MASTER_KEY?: string;
  /** The master key before the current one, accepted for unwrapping during a rotation. */
  MASTER_KEY_PREVIOUS?: string;
}

export const isDevelopment = (env: Pick<Env, 'ENVIRONMENT'>): boolean => env.ENVIRONMENT === 'development';
