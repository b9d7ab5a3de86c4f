/**
 * The service under test: `npm start` (scripts/start.ts through
 * startDevServer) on a free port with a fresh state directory, plus the fake
 * outside API (test/helpers/fake-api.ts), which records every request it gets.
 *
 * Where the state lives is the one option:
 * - `disk`: a fresh directory under os.tmpdir(), with `npm start`'s defaults
 *   (wrangler's default log level too). This is PowerFlows as `npm start`
 *   runs it: every run's Durable Object is a SQLite file on disk.
 * - `shm`: a fresh directory in /dev/shm (memory), so the disk's fsync drops
 *   out of the figures. A benchmark-only setting; falls back to os.tmpdir()
 *   where there is no /dev/shm (see `hasDevShm`).
 * Both raise the tenant run rate limit, since a benchmark starts far more
 * runs than a tenant's default limit allows.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { callApi, startDevServer, type DevServer } from '../scripts/dev-server';
import { startFakeApi, type FakeApi } from '../test/helpers/fake-api';

export type StateLocation = 'disk' | 'shm';

export interface ServiceOptions {
  state: StateLocation;
  /** wrangler's log level; unset keeps `npm start`'s default (a line per request). */
  logLevel?: string;
}

export interface Service {
  server: DevServer;
  outside: FakeApi;
  /** One line saying how this service runs (state directory, log level, overridden variables). */
  setting: string;
  call<T = any>(method: string, route: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/** The only Worker variable the benchmark changes from `npm start`'s defaults. */
const BENCH_VARS = { TENANT_RUN_RATE_LIMIT: '1000000/1' };

export const hasDevShm = (): boolean => existsSync('/dev/shm');

export async function startService(options: ServiceOptions): Promise<Service> {
  const stateDir = freshStateDir(options.state);
  const [server, outside] = await Promise.all([startDevServer({ vars: BENCH_VARS, stateDir, logLevel: options.logLevel }), startFakeApi()]);
  const vars = Object.entries(BENCH_VARS).map(([key, value]) => `${key}=${value}`);
  return {
    server,
    outside,
    setting: `state in ${stateDir}, wrangler log level ${options.logLevel ?? 'default (as npm start)'}, ${vars.join(', ')}`,
    call: (method, route, body, token) => callApi(server, method, route, body, token),
    async stop() {
      await Promise.all([server.stop(), outside.close()]);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Starts a service, runs `use` against it and stops it, also when `use` throws. */
export async function withService<T>(options: ServiceOptions, use: (service: Service) => Promise<T>): Promise<T> {
  const service = await startService(options);
  try {
    return await use(service);
  } finally {
    await service.stop();
  }
}

function freshStateDir(state: StateLocation): string {
  const parent = state === 'shm' && hasDevShm() ? '/dev/shm' : tmpdir();
  return mkdtempSync(path.join(parent, 'powerflows-bench-'));
}
