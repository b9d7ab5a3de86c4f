/**
 * A frozen copy of the Worker's sources for the servers that tests and the
 * benchmark start. `wrangler dev` rebuilds and reloads the Worker, which
 * restarts every Durable Object, whenever a file under `src/` or `web/`
 * changes, so a server running from the checkout while someone edits it
 * crashes runs in the middle: a durability test then sees a crash it did not
 * cause. The copy holds what `wrangler dev` reads (sources, page,
 * migrations, configuration, `.dev.vars`) and links `node_modules`, so it
 * builds exactly as the checkout does, and nothing in it changes while it runs.
 */
import { cpSync, existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEV_VARS_PATH, ensureDevVars } from './dev-vars';

const ROOT = path.resolve(import.meta.dirname, '..');
const COPIED = ['src', 'web', 'drizzle', 'wrangler.toml', 'tsconfig.json', 'package.json', DEV_VARS_PATH];
let snapshot: string | undefined;

/** The snapshot's directory: made once per process, from the checkout as it is at the first call. */
export function workerSnapshot(): string {
  snapshot ??= makeSnapshot();
  return snapshot;
}

function makeSnapshot(): string {
  ensureDevVars(path.join(ROOT, DEV_VARS_PATH));
  const dir = mkdtempSync(path.join(tmpdir(), 'powerflows-snapshot-'));
  for (const entry of COPIED) {
    if (existsSync(path.join(ROOT, entry))) cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}
