import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { TEST_BINDINGS } from './test/bindings.ts';

/**
 * Two projects: `workers` runs inside workerd against the simulated D1, R2,
 * Durable Objects and Queues of wrangler.toml; `e2e` runs in Node against a
 * real `wrangler dev` (and Chromium for the browser test).
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, 'drizzle'));
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: { bindings: { ...TEST_BINDINGS, TEST_MIGRATIONS: migrations } },
            }),
          ],
          test: {
            name: 'workers',
            include: ['test/*.test.ts'],
            testTimeout: 30_000,
            setupFiles: ['test/helpers/apply-migrations.ts'],
            globalSetup: ['test/helpers/fake-api.global.ts', 'test/helpers/images.global.ts'],
          },
        },
        {
          test: {
            name: 'e2e',
            include: ['test/e2e/**/*.test.ts', 'test/browser/**/*.test.ts'],
            environment: 'node',
            testTimeout: 120_000,
            hookTimeout: 180_000,
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
