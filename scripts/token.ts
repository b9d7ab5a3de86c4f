/**
 * `npm run token -- --tenant <tid> [--sub <id>] [--scope "<scopes>"] [--ttl <s>]`
 * prints a development token signed with JWT_SECRET from .dev.vars (and only
 * the token, so `TOKEN=$(npm run -s token -- --tenant acme)` works).
 * `npm run token -- --admin` prints an operator token instead: signed with
 * ADMIN_JWT_SECRET, scope `admin:keys` (tenant `platform` unless given).
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
    admin: { type: 'boolean', default: false },
  },
});

const fail = (message: string): never => {
  console.error(`token: ${message}`);
  console.error('usage: npm run token -- --tenant <tid> [--sub <id>] [--scope "<scopes>"] [--ttl <seconds>]');
  console.error('       npm run token -- --admin [--tenant <tid>] [--sub <id>] [--ttl <seconds>]');
  process.exit(2);
};

if (values.admin) values.tenant ??= 'platform';
if (!values.tenant) fail('--tenant is required');
if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(values.tenant!)) fail('--tenant must match ^[a-z0-9][a-z0-9-]{1,62}$');
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) fail('--ttl must be a positive number of seconds');

const { vars } = ensureDevVars();
const secret = values.admin ? vars.ADMIN_JWT_SECRET : vars.JWT_SECRET;
if (!secret) fail(`.dev.vars has no ${values.admin ? 'ADMIN_JWT_SECRET' : 'JWT_SECRET'}`);
const scope = values.admin ? 'admin:keys' : values.scope!;
console.log(await mintToken({ secret: secret!, tenant: values.tenant!, sub: values.sub!, scope, ttlSeconds: ttl }));
