/**
 * `npm run token -- --tenant <tid> [--sub <id>] [--scope "<scopes>"] [--ttl <s>]`
 * prints a development token signed with JWT_SECRET from .dev.vars (and only
 * the token, so `TOKEN=$(npm run -s token -- --tenant acme)` works).
 */
import { parseArgs } from 'node:util';
import { ensureDevVars } from './dev-vars';
import { mintToken, TENANT_SCOPES } from '../src/lib/dev-token';

const { values } = parseArgs({
  options: {
    tenant: { type: 'string' },
    sub: { type: 'string', default: 'dev-user' },
    scope: { type: 'string', default: TENANT_SCOPES },
    ttl: { type: 'string', default: '3600' },
  },
});

const fail = (message: string): never => {
  console.error(`token: ${message}`);
  console.error('usage: npm run token -- --tenant <tid> [--sub <id>] [--scope "<scopes>"] [--ttl <seconds>]');
  process.exit(2);
};

if (!values.tenant) fail('--tenant is required');
if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(values.tenant!)) fail('--tenant must match ^[a-z0-9][a-z0-9-]{1,62}$');
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) fail('--ttl must be a positive number of seconds');

const { vars } = ensureDevVars();
if (!vars.JWT_SECRET) fail('.dev.vars has no JWT_SECRET');
console.log(await mintToken({ secret: vars.JWT_SECRET!, tenant: values.tenant!, sub: values.sub!, scope: values.scope!, ttlSeconds: ttl }));
