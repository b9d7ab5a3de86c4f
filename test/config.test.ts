import { describe, expect, it } from 'vitest';
import { settings } from '../src/config';

describe('settings', () => {
  it('parses every setting once into its type, with defaults for the absent ones', () => {
    const env = {
      ENVIRONMENT: 'development',
      EXECUTOR_SHARDS: '4',
      HOOK_RATE_LIMIT: '10/20',
      ALLOW_PRIVATE_EGRESS: 'true',
      JWT_SECRET: '',
    };
    const parsed = settings(env);
    expect(parsed).toMatchObject({
      ENVIRONMENT: 'development',
      EXECUTOR_SHARDS: 4,
      HOOK_RATE_LIMIT: { burst: 10, perSecond: 0.5 },
      TENANT_RUN_RATE_LIMIT: { burst: 600, perSecond: 10 },
      ALLOW_PRIVATE_EGRESS: true,
      MAX_UPLOAD_BYTES: 100 * 1024 * 1024,
      RUN_RETENTION_DAYS: 30,
    });
    expect(parsed.JWT_SECRET).toBeUndefined(); // empty is unset
    expect(settings(env)).toBe(parsed); // parsed once per env
  });

  it('falls back to the default for a value that does not parse, instead of failing every request', () => {
    const parsed = settings({ EXECUTOR_SHARDS: '3O', HOOK_RATE_LIMIT: '60 per minute', LIVE_MAX_UNACKED: '-1', RUN_RETENTION_DAYS: '0' });
    expect(parsed.EXECUTOR_SHARDS).toBe(1);
    expect(parsed.HOOK_RATE_LIMIT).toEqual({ burst: 60, perSecond: 1 });
    expect(parsed.LIVE_MAX_UNACKED).toBe(5000);
    expect(parsed.RUN_RETENTION_DAYS).toBe(30);
    expect(parsed.ENVIRONMENT).toBe('production');
    expect(parsed.ALLOW_PRIVATE_EGRESS).toBe(false);
  });

  it('refuses more executor shards than run ids can name', () => {
    expect(settings({ EXECUTOR_SHARDS: '33' }).EXECUTOR_SHARDS).toBe(1);
    expect(settings({ EXECUTOR_SHARDS: '32' }).EXECUTOR_SHARDS).toBe(32);
  });
});
