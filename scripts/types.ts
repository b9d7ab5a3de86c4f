/**
 * `npm run types`: writes worker-configuration.d.ts (the `Cloudflare.Env`
 * of wrangler.toml's bindings and vars) with `wrangler types`.
 * `npm run types -- --check` (run by `npm test`) fails when the file is not
 * what wrangler.toml gives today, and leaves it as it was.
 *
 * `--env-file=/dev/null` keeps `.dev.vars` out: secrets are declared in
 * src/config.ts, and the file must not depend on whether `.dev.vars` exists.
 * (`wrangler types --check` cannot be used: it reads `.dev.vars` again.)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const FILE = 'worker-configuration.d.ts';
const check = process.argv.includes('--check');

const before = readOrEmpty();
execFileSync('npx', ['wrangler', 'types', FILE, '--include-runtime=false', '--strict-vars=false', '--env-file=/dev/null'], {
  stdio: check ? 'ignore' : 'inherit',
});
if (check) {
  const after = readFileSync(FILE, 'utf8');
  if (after !== before) {
    writeFileSync(FILE, before);
    console.error(`${FILE} is out of date with wrangler.toml: run \`npm run types\` and commit it.`);
    process.exit(1);
  }
  console.log(`${FILE} is current.`);
}

function readOrEmpty(): string {
  try {
    return readFileSync(FILE, 'utf8');
  } catch {
    return '';
  }
}
