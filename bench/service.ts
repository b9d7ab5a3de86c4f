/** The service under test: `npm start` on a free port with fresh state, plus the fake outside API. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { callApi, startDevServer, type DevServer } from '../scripts/dev-server';
import { startFakeApi, type FakeApi } from '../test/helpers/fake-api';

export interface Service {
  server: DevServer;
  outside: FakeApi;
  call<T = any>(method: string, route: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function startService(): Promise<Service> {
  const [server, outside] = await Promise.all([
    // Benchmarks start far more runs than a tenant's default limit allows.
    startDevServer({
      vars: { TENANT_RUN_RATE_LIMIT: '1000000/1' },
      logLevel: 'warn',
      stateDir: freshStateDir(),
    }),
    startFakeApi(),
  ]);
  return {
    server,
    outside,
    call: (method, route, body, token) => callApi(server, method, route, body, token),
    async stop() {
      await Promise.all([server.stop(), outside.close()]);
      rmSync(server.stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh state directory in memory (/dev/shm) where there is one: every run
 * creates a Durable Object, and locally each is a SQLite file, so on disk the
 * figures would measure the disk's fsync more than PowerFlows.
 */
function freshStateDir(): string {
  const parent = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return mkdtempSync(path.join(parent, 'powerflows-bench-'));
}
