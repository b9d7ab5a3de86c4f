/** Fixed keys for the workerd tests (never used outside them). */
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef0123456789abcdef';
/** 32 bytes, base64. */
export const TEST_MASTER_KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

export const TEST_BINDINGS = {
  ENVIRONMENT: 'test',
  JWT_SECRET: TEST_JWT_SECRET,
  MASTER_KEY: TEST_MASTER_KEY,
} as const;
