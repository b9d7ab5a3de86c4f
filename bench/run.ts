/**
 * `npm run bench`: figures, not pass/fail. Prints tables and writes
 * bench/results/<date>.json. Every figure is compared with a baseline
 * measured in the same run on the same machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { printCryptoBench, runCryptoBench } from './crypto';

const results: Record<string, unknown> = { startedAt: new Date().toISOString(), node: process.version };

const crypto = await runCryptoBench();
printCryptoBench(crypto);
results.secrets = crypto;

const dir = path.join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nWrote ${path.relative(process.cwd(), file)}`);
