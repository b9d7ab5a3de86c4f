/**
 * `npm start`: everything a fresh clone needs to run PowerFlows locally.
 * 1. creates `.dev.vars` with fresh random keys when it is missing;
 * 2. applies the D1 migrations to the local database;
 * 3. runs `wrangler dev` on 127.0.0.1:$PORT (default 8787) with local D1, R2,
 *    Durable Objects and Queues;
 * 4. once it answers, prints the page's URL and a development token for tenant `demo`;
 * 5. fires the cron trigger at the start of every minute, since `wrangler dev`
 *    does not (it calls the `/__scheduled` route that `--test-scheduled` adds).
 *
 * Unattended: no prompts, works with stdin closed. `POWERFLOWS_STATE_DIR`
 * moves the local state (default `.wrangler/state`), e.g. for a fresh e2e run;
 * `POWERFLOWS_VARS="KEY=value,…"` overrides Worker variables for this run;
 * `POWERFLOWS_LOG_LEVEL` sets wrangler's log level (`warn` drops the line per request).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { ensureDevVars } from './dev-vars';
import { mintToken } from '../src/lib/dev-token';

const port = Number(process.env.PORT ?? 8787);
const host = '127.0.0.1';
const stateDir = process.env.POWERFLOWS_STATE_DIR ?? '.wrangler/state';
const origin = `http://${host}:${port}`;
const wranglerBin = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');

const { vars, created } = ensureDevVars();
if (created) console.log('Created .dev.vars with a fresh JWT_SECRET and MASTER_KEY.');

const migrate = spawnSync(process.execPath, [wranglerBin, 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', stateDir], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, CI: 'true' },
});
if (migrate.status !== 0) {
  console.error('Applying the D1 migrations failed.');
  process.exit(migrate.status ?? 1);
}

const dev = spawn(
  process.execPath,
  [
    wranglerBin,
    'dev',
    '--ip',
    host,
    '--port',
    String(port),
    '--persist-to',
    stateDir,
    '--test-scheduled',
    '--show-interactive-dev-session=false',
    // Development only: the demo-token route, local upload events, requests to 127.0.0.1.
    ...['--var', 'ENVIRONMENT:development', '--var', 'ALLOW_PRIVATE_EGRESS:true', '--var', `PUBLIC_URL:${origin}`],
    ...varOverrides(process.env.POWERFLOWS_VARS),
    ...(process.env.POWERFLOWS_LOG_LEVEL ? ['--log-level', process.env.POWERFLOWS_LOG_LEVEL] : []),
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    dev.kill(signal);
  });
}
dev.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

await waitUntilHealthy();
const token = await mintToken({ secret: vars.JWT_SECRET!, tenant: 'demo', sub: 'demo-user', ttlSeconds: 24 * 3600 });
console.log(`
PowerFlows is running at ${origin}/
Development token (tenant demo, all tenant scopes, valid 24 hours):
${token}
`);

fireCronEveryMinute();

/** `KEY=value,…` as wrangler's `--var KEY:value` flags. */
function varOverrides(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .filter((pair) => pair.includes('='))
    .flatMap((pair) => ['--var', pair.replace('=', ':')]);
}

function fireCronEveryMinute(): void {
  const fire = () => {
    fetch(`${origin}/__scheduled?cron=${encodeURIComponent('* * * * *')}`).catch(() => {
      // the server is restarting or stopping; the next minute tries again
    });
  };
  const untilNextMinute = 60_000 - (Date.now() % 60_000);
  setTimeout(() => {
    fire();
    setInterval(fire, 60_000).unref();
  }, untilNextMinute).unref();
}

async function waitUntilHealthy(): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${origin}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  console.error(`wrangler dev did not answer on ${origin} within 120 s`);
  dev.kill('SIGTERM');
  process.exit(1);
}
