import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export const DEV_VARS_PATH = '.dev.vars';

/** Parses a `.dev.vars` (dotenv) file: `KEY=value` lines, `#` comments, optional quotes. */
export function parseDevVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith('#')) continue;
    vars[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

const ADMIN_KEY_LINES = () => [
  '# HS256 key that signs operator tokens (`npm run token -- --admin`): the only ones that carry admin:keys.',
  `ADMIN_JWT_SECRET=${randomBytes(32).toString('base64url')}`,
];

/**
 * Creates `.dev.vars` with fresh random keys when it is missing (never
 * overwriting one; an older one without ADMIN_JWT_SECRET gets one added),
 * and returns its variables.
 */
export function ensureDevVars(path = DEV_VARS_PATH): { vars: Record<string, string>; created: boolean } {
  if (existsSync(path)) {
    let vars = parseDevVars(readFileSync(path, 'utf8'));
    if (!vars.ADMIN_JWT_SECRET) {
      appendFileSync(path, `\n${ADMIN_KEY_LINES().join('\n')}\n`);
      vars = parseDevVars(readFileSync(path, 'utf8'));
    }
    return { vars, created: false };
  }
  const text = [
    '# Local secrets for `wrangler dev`, made by `npm start`. Never commit this file.',
    '# HS256 key that signs development tokens (`npm run token`).',
    `JWT_SECRET=${randomBytes(32).toString('base64url')}`,
    ...ADMIN_KEY_LINES(),
    '# Master key (32 random bytes, base64) that wraps every flow key.',
    `MASTER_KEY=${randomBytes(32).toString('base64')}`,
    '',
  ].join('\n');
  writeFileSync(path, text, { mode: 0o600 });
  return { vars: parseDevVars(text), created: true };
}
