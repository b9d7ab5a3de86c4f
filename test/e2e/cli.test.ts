import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient, type OpenSocket, type RunEvent } from '../../src/client';
import { startFakeApi, type FakeApi } from '../helpers/fake-api';
import { api, startDevServer, type DevServer } from './harness';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET = 'cli-e2e-eccbc87e4b5ce2fe28308fd9f2a7baf3';

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
  /** Each stdout chunk with the time it arrived (ms since the start). */
  chunks: Array<{ at: number; text: string }>;
}

/** Runs `npm run pf -- …` as a user would (tsx scripts/pf.ts), against the test's dev server. */
function pf(
  server: DevServer,
  args: string[],
  options: { stdin?: (child: ReturnType<typeof spawn>) => Promise<void>; env?: Record<string, string> } = {},
): Promise<Cli> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/pf.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, PF_URL: server.url, PF_TOKEN: server.token, NO_COLOR: '', FORCE_COLOR: '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const result: Cli = { code: -1, stdout: '', stderr: '', chunks: [] };
  child.stdout.on('data', (chunk: Buffer) => {
    result.stdout += chunk.toString();
    result.chunks.push({ at: Date.now() - started, text: chunk.toString() });
  });
  child.stderr.on('data', (chunk: Buffer) => (result.stderr += chunk.toString()));
  const exited = new Promise<Cli>((resolve) =>
    child.once('exit', (code) => {
      result.code = code ?? -1;
      resolve(result);
    }),
  );
  if (options.stdin) void options.stdin(child);
  else child.stdin.end();
  return exited;
}

const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

/** Every process's command line on this machine (Linux). */
function allCommandLines(): string {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        return '';
      }
    })
    .join('\n');
}

describe('the pf command line and the typed client against wrangler dev', () => {
  let server: DevServer;
  let fake: FakeApi;
  let dir: string;
  beforeAll(async () => {
    [server, fake] = await Promise.all([startDevServer(), startFakeApi()]);
    dir = mkdtempSync(path.join(tmpdir(), 'powerflows-cli-'));
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), fake?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('flows apply creates, then updates the flow of that name; flows list shows it (dev defaults without PF_TOKEN)', async () => {
    const file = path.join(dir, 'hello.json');
    const flow = { name: 'CLI hello', trigger: { type: 'manual' }, blocks: [{ id: 'hello', type: 'log', params: { message: 'hello' } }] };
    writeFileSync(file, JSON.stringify(flow));
    const created = await pf(server, ['flows', 'apply', file]);
    expect(created.code, created.stderr).toBe(0);
    const id = /created (flw_\S+)/.exec(created.stdout)![1]!;

    writeFileSync(file, JSON.stringify({ ...flow, description: 'second version' }));
    const updated = await pf(server, ['flows', 'apply', file]);
    expect(updated.stdout).toContain(`updated ${id} "CLI hello" (version 2)`);
    expect((await api(server, 'GET', `/v1/flows/${id}`)).body).toMatchObject({ version: 2, description: 'second version' });

    writeFileSync(file, JSON.stringify({ ...flow, blocks: [{ id: 'hello', type: 'no_such_block', params: {} }] }));
    const invalid = await pf(server, ['flows', 'apply', file]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('validation_failed');
    expect(invalid.stderr).toContain('blocks[0]');

    const listed = await pf(server, ['flows', 'list'], { env: { PF_TOKEN: '' } });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+CLI hello\\s+yes\\s+2\\s+manual`));
  });

  it('run --follow prints the log live, in colour, and exits 0 on success', async () => {
    const flow = await api(server, 'POST', '/v1/flows', {
      name: 'CLI live',
      trigger: { type: 'manual' },
      blocks: [
        { id: 'first', type: 'log', params: { message: 'first line for {{trigger.name}}' } },
        { id: 'pause', type: 'delay', params: { seconds: 2 } },
        { id: 'last', type: 'log', params: { message: 'last line' } },
      ],
    });
    const out = await pf(server, ['run', flow.body.id, '--input', '{"name":"Ada"}', '--follow'], { env: { FORCE_COLOR: '1' } });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('\x1b[32m'); // green
    const text = plain(out.stdout);
    const runId = /(run_\S+) started/.exec(text)![1]!;
    // Live: the first line arrived well before the last one, which waited for the delay.
    const firstAt = out.chunks.find((c) => plain(c.text).includes('first line for Ada'))!.at;
    const lastAt = out.chunks.find((c) => plain(c.text).includes('last line'))!.at;
    expect(lastAt - firstAt).toBeGreaterThan(1500);
    // One line per event of the run, then the final status.
    const events = (await api(server, 'GET', `/v1/runs/${runId}/logs`)).body.items;
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(1 + events.length + 1);
    expect(lines.at(-1)).toBe(`${runId} succeeded`);
    expect(lines.filter((l) => / pause +✓ succeeded$/.test(l))).toHaveLength(1);
  });

  it('a failing run exits non-zero and shows in runs list --status failed', async () => {
    const flow = await api(server, 'POST', '/v1/flows', {
      name: 'CLI failing',
      trigger: { type: 'manual' },
      blocks: [{ id: 'broken', type: 'log', params: { message: 'needs {{VARIABLES.missing}}' } }],
    });
    const out = await pf(server, ['run', flow.body.id, '--follow']);
    expect(out.code).toBe(1);
    const runId = /(run_\S+) started/.exec(out.stdout)![1]!;
    expect(out.stdout).toMatch(/broken +✗ failed: .*missing/);
    expect(out.stdout.trim().split('\n').at(-1)).toBe(`${runId} failed`);

    const listed = await pf(server, ['runs', 'list', '--status', 'failed']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${runId}\\s+${flow.body.id}\\s+failed`));
    expect(listed.stdout).not.toContain('succeeded');
  });

  it('secrets set reads the value from stdin: never in any argv, nor in the audit log; env set', async () => {
    const flow = await api(server, 'POST', '/v1/flows', {
      name: 'CLI secret',
      trigger: { type: 'manual' },
      blocks: [
        { id: 'show', type: 'log', params: { message: 'key={{SECRETS.api_key}}' } },
        {
          id: 'send',
          type: 'http_request',
          params: { method: 'GET', url: `${fake.url}/status/200`, headers: { 'x-key': '{{SECRETS.api_key}}' } },
        },
      ],
    });
    const refused = await pf(server, ['secrets', 'set', flow.body.id, 'api_key', SECRET]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('stdin');
    expect((await api(server, 'GET', `/v1/flows/${flow.body.id}/secrets`)).body.items).toEqual([]);

    let seenWhileRunning = '';
    const out = await pf(server, ['secrets', 'set', flow.body.id, 'api_key'], {
      stdin: async (child) => {
        await new Promise((resolve) => setTimeout(resolve, 1500)); // the CLI is up and waiting on stdin
        seenWhileRunning = allCommandLines();
        child.stdin!.end(`${SECRET}\n`);
      },
    });
    expect(out.code, out.stderr).toBe(0);
    expect(seenWhileRunning).toContain('scripts/pf.ts secrets set');
    expect(seenWhileRunning).not.toContain(SECRET);
    expect(out.stdout + out.stderr).not.toContain(SECRET);

    const audit = await api(server, 'GET', '/v1/audit?limit=100');
    expect(JSON.stringify(audit.body.items)).toContain(`flows/${flow.body.id}/secrets/api_key`);
    expect(JSON.stringify(audit.body)).not.toContain(SECRET);
    // Stored exactly, without the newline that ended stdin: the API it is meant for gets exactly the value.
    const run = await api(server, 'POST', `/v1/flows/${flow.body.id}/runs?wait=20`, {});
    expect(run.body.status).toBe('succeeded');
    expect(fake.requests.filter((r) => r.path === '/status/200').map((r) => r.headers['x-key'])).toEqual([SECRET]);
    const logs = await api(server, 'GET', `/v1/runs/${run.body.id}/logs`);
    expect(logs.body.items.find((e: RunEvent) => e.type === 'log').message).toBe('key=***');

    const env = await pf(server, ['env', 'set', 'region', 'eu-west']);
    expect(env.code, env.stderr).toBe(0);
    expect((await api(server, 'GET', '/v1/env')).body.items).toEqual([expect.objectContaining({ name: 'region', value: 'eu-west' })]);
  });

  it('client.follow reconnects after a drop with after=<last seq>: every event once, in order', async () => {
    const flow = await api(server, 'POST', '/v1/flows', {
      name: 'Client follow',
      trigger: { type: 'manual' },
      blocks: [
        { id: 'a', type: 'log', params: { message: 'a' } },
        { id: 'pause', type: 'delay', params: { seconds: 1 } },
        { id: 'b', type: 'log', params: { message: 'b' } },
      ],
    });
    const urls: string[] = [];
    // A socket that drops the first connection after its second frame.
    const openSocket: OpenSocket = (url, on) => {
      urls.push(url);
      const socket = new WebSocket(url);
      let frames = 0;
      socket.on('message', (data) => {
        if (urls.length === 1 && ++frames > 2) return void socket.terminate();
        on.message(data.toString());
      });
      socket.on('close', (code) => on.close(code));
      socket.on('error', () => {});
      return { close: () => socket.terminate() };
    };
    const client = createClient({ url: server.url, token: server.token, openSocket });
    const run = await client.runs.start(flow.body.id, {});
    const events: RunEvent[] = [];
    expect(await client.follow(run.id, (event) => events.push(event))).toBe('succeeded');

    expect(urls.length).toBeGreaterThanOrEqual(2);
    expect(urls[1]).toContain('after=2');
    expect(new Set(urls.map((url) => new URL(url).searchParams.get('ticket'))).size).toBe(urls.length);
    expect(events).toEqual((await client.runs.logs(run.id, { limit: 1000 })).items);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));

    // A refusal is not retried: another tenant's run is not found.
    const stranger = createClient({ url: server.url, token: await server.tokenFor('someone-else'), openSocket });
    await expect(stranger.follow(run.id, () => {})).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });
});
