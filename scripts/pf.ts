/**
 * `npm run pf -- <command>`: the PowerFlows command line, on the typed client (src/client.ts).
 *
 *   flows list [--json]                          the tenant's flows
 *   flows apply <file.json>                      create the flow, or update the one of that name
 *   run <flowId> [--input '{…}'] [--follow]      start a test run; --follow streams its log live
 *                                                and exits 0 only when it succeeded
 *   runs list [--status failed] [--flow <id>] [--limit n] [--json]
 *   runs follow <runId>                          stream a run's log (from the start) until it ends
 *   secrets set <flowId> <name> [--allowed-hosts a.com,b.com]
 *                                                the value is read from stdin, never from argv
 *   env set <name> <value>                       a tenant environment variable
 *
 * PF_URL (default http://127.0.0.1:8787) and PF_TOKEN (default: a token for
 * tenant demo signed with JWT_SECRET from .dev.vars, as `npm run token` mints).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { createClient, type FlowInput, type OpenSocket, PowerFlowsError, type RunEvent, type RunStatus } from '../src/client';
import { mintToken, TENANT_SCOPES } from '../src/lib/dev-token';
import { parseDevVars } from './dev-vars';

const USAGE = `usage: npm run pf -- <command>
  flows list [--json]
  flows apply <file.json>
  run <flowId> [--input '{…}'] [--follow]
  runs list [--status <status>] [--flow <flowId>] [--limit <n>] [--json]
  runs follow <runId>
  secrets set <flowId> <name> [--allowed-hosts <host,host>]   (value from stdin)
  env set <name> <value>
PF_URL and PF_TOKEN choose the service and the token (default: the dev server, tenant demo).`;

class UsageError extends Error {}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    input: { type: 'string' },
    follow: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    status: { type: 'string' },
    flow: { type: 'string' },
    limit: { type: 'string' },
    'allowed-hosts': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const useColour = process.env.FORCE_COLOR ? process.env.FORCE_COLOR !== '0' : process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string) => (text: string) => (useColour ? `\x1b[${code}m${text}\x1b[0m` : text);
const colour = { dim: paint('2'), bold: paint('1'), red: paint('31'), green: paint('32'), yellow: paint('33'), cyan: paint('36') };

/** The ws package where there is no global WebSocket (Node 20). */
const wsSocket: OpenSocket = (url, on) => {
  const socket = new WebSocket(url);
  socket.on('message', (data) => on.message(data.toString()));
  socket.on('close', (code) => on.close(code));
  socket.on('error', () => {}); // 'close' follows
  return { close: () => socket.terminate() };
};

async function defaultToken(): Promise<string> {
  const file = path.resolve(import.meta.dirname, '..', '.dev.vars');
  let secret: string | undefined;
  try {
    secret = parseDevVars(readFileSync(file, 'utf8')).JWT_SECRET;
  } catch {
    // no .dev.vars
  }
  if (!secret) throw new UsageError('set PF_TOKEN, or run `npm start` once so that .dev.vars has a JWT_SECRET');
  return mintToken({ secret, tenant: 'demo', sub: 'pf-cli', scope: TENANT_SCOPES, ttlSeconds: 3600 });
}

const client = createClient({
  url: process.env.PF_URL || 'http://127.0.0.1:8787',
  token: process.env.PF_TOKEN || lazy(defaultToken),
  ...('WebSocket' in globalThis ? {} : { openSocket: wsSocket }),
});

/** A token function that mints once, on first use (so `help` needs no .dev.vars). */
function lazy(make: () => Promise<string>): () => Promise<string> {
  let token: Promise<string> | undefined;
  return () => {
    token ??= make();
    return token;
  };
}

const time = (ts: string) => colour.dim(ts.slice(11, 23));

const STEP_MARK: Record<string, (text: string) => string> = {
  running: (text) => colour.dim(`… ${text}`),
  succeeded: (text) => colour.green(`✓ ${text}`),
  failed: (text) => colour.red(`✗ ${text}`),
  skipped: (text) => colour.dim(`- ${text}`),
  pending: (text) => colour.dim(text),
};

function statusText(status: string): string {
  if (status === 'succeeded') return colour.green(status);
  if (status === 'failed' || status === 'cancelled') return colour.red(status);
  return colour.yellow(status);
}

/** One line per event: time, block, then the log message or the status change. */
function printEvent(event: RunEvent): void {
  const block = (event.blockId ?? '').padEnd(12);
  if (event.type === 'log') {
    const level = event.level ?? 'info';
    const paintLevel = level === 'error' ? colour.red : level === 'warn' ? colour.yellow : colour.cyan;
    console.log(`${time(event.ts)} ${block} ${paintLevel(level.padEnd(5))} ${event.message ?? ''}`);
  } else if (event.type === 'step') {
    const status = event.status ?? '';
    const label = status === 'running' && (event.attempt ?? 1) > 1 ? `running (attempt ${event.attempt})` : status;
    const mark = (STEP_MARK[status] ?? colour.dim)(label);
    console.log(`${time(event.ts)} ${block} ${mark}${event.error ? colour.red(`: ${event.error}`) : ''}`);
  } else {
    console.log(
      `${time(event.ts)} ${colour.bold('run'.padEnd(12))} ${statusText(event.status ?? '')}${event.error ? colour.red(`: ${event.error}`) : ''}`,
    );
  }
}

async function follow(runId: string): Promise<number> {
  const status: RunStatus = await client.follow(runId, printEvent);
  console.log(`${colour.bold(runId)} ${status === 'succeeded' ? colour.bold(statusText(status)) : statusText(status)}`);
  return status === 'succeeded' ? 0 : 1;
}

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} is not valid JSON`);
  }
}

/** The secret from stdin: piped (one trailing newline dropped), or typed at a hidden prompt. */
async function readSecret(name: string): Promise<string> {
  if (process.stdin.isTTY) return promptHidden(`value of ${name} (not shown): `);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function promptHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (text: string) => {
      for (const char of text) {
        if (char === '\r' || char === '\n' || char === '\u0004') return done();
        if (char === '\u0003') return done(new UsageError('cancelled'));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}

async function main(): Promise<number> {
  const [group, action, ...rest] = positionals;
  const need = (count: number, usage: string) => {
    if (rest.length !== count) throw new UsageError(`usage: npm run pf -- ${usage}`);
  };
  if (flags.help || !group || group === 'help') {
    console.log(USAGE);
    return 0;
  }

  if (group === 'flows' && action === 'list') {
    need(0, 'flows list [--json]');
    const flows = await client.flows.all();
    if (flags.json) console.log(JSON.stringify(flows, null, 2));
    else if (flows.length === 0) console.log('no flows');
    else
      table([
        ['ID', 'NAME', 'ENABLED', 'VERSION', 'TRIGGER'],
        ...flows.map((f) => [f.id, f.name, f.enabled ? 'yes' : 'no', String(f.version), f.trigger.type]),
      ]);
    return 0;
  }

  if (group === 'flows' && action === 'apply') {
    need(1, 'flows apply <file.json>');
    const file = rest[0]!;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new UsageError(`cannot read ${file}`);
    }
    const { flow, created } = await client.flows.apply(parseJson(text, file) as FlowInput);
    console.log(
      `${created ? 'created' : 'updated'} ${flow.id} "${flow.name}" (version ${flow.version}${flow.enabled ? '' : ', disabled'})`,
    );
    return 0;
  }

  if (group === 'run') {
    if (!action || rest.length > 0) throw new UsageError("usage: npm run pf -- run <flowId> [--input '{…}'] [--follow]");
    const input = flags.input === undefined ? undefined : parseJson(flags.input, '--input');
    if (input !== undefined && (input === null || typeof input !== 'object' || Array.isArray(input))) {
      throw new UsageError('--input must be a JSON object');
    }
    const run = await client.runs.start(action, input as Record<string, unknown> | undefined);
    console.log(`${colour.bold(run.id)} started (flow ${run.flowId}, version ${run.flowVersion})`);
    return flags.follow ? follow(run.id) : 0;
  }

  if (group === 'runs' && action === 'list') {
    need(0, 'runs list [--status <status>] [--flow <flowId>] [--limit <n>] [--json]');
    const page = await client.runs.list({
      ...(flags.status ? { status: flags.status as RunStatus } : {}),
      ...(flags.flow ? { flowId: flags.flow } : {}),
      limit: flags.limit ? Number(flags.limit) : 20,
    });
    if (flags.json) console.log(JSON.stringify(page, null, 2));
    else if (page.items.length === 0) console.log('no runs');
    else
      table([
        ['ID', 'FLOW', 'STATUS', 'CREATED', 'ERROR'],
        ...page.items.map((r) => [r.id, r.flowId, r.status, r.createdAt, (r.error ?? '').slice(0, 80)]),
      ]);
    return 0;
  }

  if (group === 'runs' && action === 'follow') {
    need(1, 'runs follow <runId>');
    return follow(rest[0]!);
  }

  if (group === 'secrets' && action === 'set') {
    if (rest.length > 2)
      throw new UsageError('the value is read from stdin, never from the command line (where ps and shell history see it)');
    need(2, 'secrets set <flowId> <name> [--allowed-hosts <host,host>]   (value from stdin)');
    const [flowId, name] = rest as [string, string];
    const value = await readSecret(name);
    if (!value) throw new UsageError('no value on stdin');
    const hosts = flags['allowed-hosts']?.split(',').map((host) => host.trim());
    const secret = await client.secrets.set(flowId, name, value, hosts);
    console.log(
      `set secret ${secret.name} of ${flowId}${secret.allowedHosts.length ? ` (only to ${secret.allowedHosts.join(', ')})` : ''}`,
    );
    return 0;
  }

  if (group === 'env' && action === 'set') {
    need(2, 'env set <name> <value>');
    const variable = await client.env.set(rest[0]!, rest[1]!);
    console.log(`set ${variable.name}`);
    return 0;
  }

  throw new UsageError(USAGE);
}

try {
  process.exitCode = await main();
} catch (err) {
  if (err instanceof UsageError) {
    console.error(err.message);
    process.exitCode = 2;
  } else if (err instanceof PowerFlowsError) {
    console.error(colour.red(`pf: ${err.code}: ${err.message}`));
    for (const detail of err.details) console.error(`  ${detail.path}: ${detail.message}`);
    process.exitCode = 1;
  } else {
    console.error(colour.red(`pf: ${err instanceof Error ? err.message : String(err)}`));
    process.exitCode = 1;
  }
}
