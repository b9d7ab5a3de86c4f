/** Fixed keys for the workerd tests (never used outside them). */
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef0123456789abcdef';
/** Signs operator tokens (the `admin:keys` scope is honoured only on those). */
export const TEST_ADMIN_JWT_SECRET = 'test-admin-jwt-secret-fedcba9876543210fedcba98765432';
/** 32 bytes, base64. */
export const TEST_MASTER_KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

export const TEST_BINDINGS = {
  ENVIRONMENT: 'test',
  // The fake outside API listens on 127.0.0.1.
  ALLOW_PRIVATE_EGRESS: 'true',
  // Small limits, so the tests reach them quickly.
  MAX_UPLOAD_BYTES: String(1024 * 1024),
  HOOK_RATE_LIMIT: '5/60',
  TENANT_RUN_RATE_LIMIT: '300/3600',
  JWT_SECRET: TEST_JWT_SECRET,
  ADMIN_JWT_SECRET: TEST_ADMIN_JWT_SECRET,
  MASTER_KEY: TEST_MASTER_KEY,
  // Where callback URLs point (the tests post to them through SELF).
  PUBLIC_URL: 'https://powerflows.test',
  // Two executors per flow, so the tests cross shards (forwarding to shard 0, invalidating every shard).
  EXECUTOR_SHARDS: '2',
} as const;
