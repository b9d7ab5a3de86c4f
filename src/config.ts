/**
 * The Worker's settings (`[vars]`, `--var`, `.dev.vars`, `wrangler secret
 * put`), parsed once per `env` with zod into one typed object. A value that
 * does not parse is reported once and its default used, so one typo in a
 * limit does not take every route down; a missing secret is reported where
 * it is needed (MASTER_KEY by the vault, the JWT keys by auth).
 */
import { z } from 'zod';
import type { RateLimit } from './limits/rate-limiter';
import { MAX_UNACKED } from './live/viewers';
import { MAX_SHARDS } from './runs/run-ids';

const optionalText = z
  .string()
  .optional()
  .transform((value) => value || undefined);

/** A setting that falls back to `fallback`, with a warning, when it is set but does not parse. */
function withDefault<T>(name: string, schema: z.ZodType<T>, fallback: T) {
  return z
    .string()
    .optional()
    .transform((value) => {
      if (value === undefined || value === '') return fallback;
      const parsed = schema.safeParse(value);
      if (parsed.success) return parsed.data;
      console.warn(`setting ${name}=${JSON.stringify(value)} is not valid (${parsed.error.issues[0]?.message}); using the default`);
      return fallback;
    });
}

const count = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

/** `<burst>/<seconds>`: "60/60" is 60 at once, then one a second. */
const rateLimit = z
  .string()
  .regex(/^\s*\d+\s*\/\s*\d+\s*$/, 'write <burst>/<seconds>')
  .transform((text): RateLimit => {
    const [burst, seconds] = text.split('/').map(Number) as [number, number];
    return { burst, perSecond: burst / seconds };
  })
  .refine((limit) => limit.burst > 0 && Number.isFinite(limit.perSecond) && limit.perSecond > 0, 'burst and seconds must be above 0');

export const SettingsSchema = z.object({
  /** `development` enables the demo-token route and local upload events. */
  ENVIRONMENT: z.string().default('production'),
  /** Largest upload, bytes (default 100 MiB). */
  MAX_UPLOAD_BYTES: withDefault('MAX_UPLOAD_BYTES', count(1), 100 * 1024 * 1024),
  /** "true" lets http_request reach loopback and private addresses (local development and tests only). */
  ALLOW_PRIVATE_EGRESS: z
    .string()
    .optional()
    .transform((value) => value === 'true'),
  /** Webhook rate limit per hook (default 60/60). */
  HOOK_RATE_LIMIT: withDefault('HOOK_RATE_LIMIT', rateLimit, { burst: 60, perSecond: 1 }),
  /** Run starts per tenant: test runs, webhooks, uploads (default 600/60). */
  TENANT_RUN_RATE_LIMIT: withDefault('TENANT_RUN_RATE_LIMIT', rateLimit, { burst: 600, perSecond: 10 }),
  /** Frames a flow viewer may fall behind its acknowledgements before it is dropped (default 5000). */
  LIVE_MAX_UNACKED: withDefault('LIVE_MAX_UNACKED', count(1), MAX_UNACKED),
  /** Days a finished run keeps its steps and events, and its index row (default 30). */
  RUN_RETENTION_DAYS: withDefault('RUN_RETENTION_DAYS', z.coerce.number().positive(), 30),
  /** The origin this API is reached at (e.g. https://flows.example.com): callback URLs of wait_for_event steps start with it. */
  PUBLIC_URL: z
    .string()
    .url()
    .refine((url) => /^https?:\/\//.test(url), 'an http(s) origin')
    .optional(),
  /** Executors (Durable Objects) per flow, 1–32 (default 1): more for flows that start more runs than one object serves. */
  EXECUTOR_SHARDS: withDefault('EXECUTOR_SHARDS', count(1, MAX_SHARDS), 1),
  JWT_SECRET: optionalText,
  /** When set, the only key whose HS256 tokens carry `admin:keys` (operator tokens). */
  ADMIN_JWT_SECRET: optionalText,
  JWT_JWKS_URL: optionalText,
  JWT_ISSUER: optionalText,
  JWT_AUDIENCE: optionalText,
  /** 32 random bytes, base64: wraps every flow key. */
  MASTER_KEY: optionalText,
  /** The master key before the current one, accepted for unwrapping during a rotation. */
  MASTER_KEY_PREVIOUS: optionalText,
});

export type SettingName = keyof z.input<typeof SettingsSchema>;
export type Settings = z.output<typeof SettingsSchema>;

const parsed = new WeakMap<object, Settings>();

/** The settings of `env`, parsed on first use. */
export function settings(env: Partial<Record<SettingName, string>>): Settings {
  let result = parsed.get(env);
  if (!result) {
    result = SettingsSchema.parse(env);
    parsed.set(env, result);
  }
  return result;
}

export const isDevelopment = (env: Partial<Record<SettingName, string>>): boolean => settings(env).ENVIRONMENT === 'development';
