import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDevVars } from './dev-vars';
import { workerSnapshot } from './snapshot';
import { mintToken } from '../src/lib/dev-token';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface DevServer {
  url: string;
  port: number;
  /** The development token `npm start` printed (tenant `demo`). */
  token: string;
  stateDir: string;
  /** Output so far, for diagnosing a failure. */
  output(): string;
  /** A token for another tenant, signed with the same `.dev.vars` secret. */
  tokenFor(tenant: string, options?: { sub?: string; scope?: string; ttlSeconds?: number }): Promise<string>;
  /** SIGKILL the whole process group (wrangler, workerd): a crash, not a shutdown. */
  kill(): Promise<void>;
  /** Graceful stop and removal of the state directory (unless `keepState`). */
  stop(options?: { keepState?: boolean }): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts PowerFlows exactly as `npm start` does (scripts/start.ts), in a
 * frozen copy of the Worker (see snapshot.ts), on a free port with a fresh
 * state directory (or `stateDir` to restart on old state),
 * and resolves once it has printed its URL and token. `vars` override
 * Worker variables (e.g. a rate limit) for this server only.
 * For the e2e tests and the benchmark.
 */
export async function startDevServer(
  options: { stateDir?: string; vars?: Record<string, string>; logLevel?: string } = {},
): Promise<DevServer> {
  const port = await freePort();
  const stateDir = options.stateDir ?? mkdtempSync(path.join(tmpdir(), 'powerflows-e2e-'));
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/start.ts')],
    {
      // `npm start`'s script, run in a frozen copy of the Worker: edits to the checkout never reload it mid-test.
      cwd: workerSnapshot(),
      env: {
        ...process.env,
        PORT: String(port),
        POWERFLOWS_STATE_DIR: stateDir,
        POWERFLOWS_LOG_LEVEL: options.logLevel ?? '',
        POWERFLOWS_VARS: Object.entries(options.vars ?? {})
          .map(([key, value]) => `${key}=${value}`)
          .join(','),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const token = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dev server did not start in 150 s:\n${output}`)), 150_000);
    const check = () => {
      const match = /running at (http:\/\/\S+)\n[^\n]*\n(\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[2]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dev server exited with ${code}:\n${output}`));
    });
  });

  const secret = parseDevVars(readFileSync(path.join(workerSnapshot(), '.dev.vars'), 'utf8')).JWT_SECRET!;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    stateDir,
    output: () => output,
    tokenFor: (tenant, o = {}) => mintToken({ secret, tenant, ...o }),
    async kill() {
      killGroup('SIGKILL');
      await exited;
    },
    async stop({ keepState = false } = {}) {
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      if (!keepState && !options.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** JSON over HTTP against the dev server, with its token unless another is given (e2e tests, bench). */
export async function callApi<T = any>(
  server: Pick<DevServer, 'url' | 'token'>,
  method: string,
  route: string,
  body?: unknown,
  token: string = server.token,
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** Every run of a flow, page after page of `GET /v1/flows/:flowId/runs` (e2e tests, bench). */
export async function allRunsOf<T = any>(server: Pick<DevServer, 'url' | 'token'>, flowId: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { items: T[]; nextCursor: string | null } } = await callApi(
      server,
      'GET',
      `/v1/flows/${flowId}/runs?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    );
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return items;
}
