import { asc, count, eq } from 'drizzle-orm';
import { auditInsert, auditInsertIfChanged } from './audit';
import { nowIso } from './client';
import { flows, tenantEnv } from './schema';
import { owned, type TenantScope } from './scope';

/** At most this many environment variables per tenant. */
export const MAX_ENV_PER_TENANT = 100;

export interface EnvVar {
  name: string;
  value: string;
  updatedAt: string;
}

const envTarget = (name: string) => `env/${name}`;

export async function listEnv(scope: TenantScope): Promise<EnvVar[]> {
  return scope.db
    .select({ name: tenantEnv.name, value: tenantEnv.value, updatedAt: tenantEnv.updatedAt })
    .from(tenantEnv)
    .where(owned(tenantEnv, scope))
    .orderBy(asc(tenantEnv.name));
}

/** The query for the tenant's environment as name/value rows, for a run (to batch). */
export function envValuesQuery(scope: TenantScope) {
  return scope.db.select({ name: tenantEnv.name, value: tenantEnv.value }).from(tenantEnv).where(owned(tenantEnv, scope));
}

/** How many environment variables the tenant has, and whether `name` is one of them: for the limit and for 201 vs 200. */
export async function envSlotOf(scope: TenantScope, name: string) {
  const [total, existing] = await scope.db.batch([
    scope.db.select({ n: count() }).from(tenantEnv).where(owned(tenantEnv, scope)),
    scope.db
      .select({ name: tenantEnv.name })
      .from(tenantEnv)
      .where(owned(tenantEnv, scope, eq(tenantEnv.name, name))),
  ]);
  return { count: total[0]?.n ?? 0, exists: existing.length > 0 };
}

/** The query for the ids of all the tenant's flows (whose executors must learn of a change). */
const flowIdsQuery = (scope: TenantScope) => scope.db.select({ id: flows.id }).from(flows).where(owned(flows, scope));

/**
 * Creates or replaces an environment variable, with its audit entry, in one
 * batch that also reads the ids of the tenant's flows (to invalidate).
 */
export async function putEnv(
  scope: TenantScope,
  name: string,
  value: string,
  replacing: boolean,
): Promise<{ envVar: EnvVar; flowIds: string[] }> {
  const now = nowIso();
  const [, , flowRows] = await scope.db.batch([
    scope.db
      .insert(tenantEnv)
      .values({ tenantId: scope.tenantId, name, value, updatedAt: now })
      .onConflictDoUpdate({ target: [tenantEnv.tenantId, tenantEnv.name], set: { value, updatedAt: now } }),
    auditInsert(scope, replacing ? 'env.replace' : 'env.create', envTarget(name)),
    flowIdsQuery(scope),
  ]);
  return { envVar: { name, value, updatedAt: now }, flowIds: flowRows.map((row) => row.id) };
}

/** Deletes an environment variable (with its audit entry when there was one); null when there was none. */
export async function deleteEnv(scope: TenantScope, name: string): Promise<{ flowIds: string[] } | null> {
  const [deleted, , flowRows] = await scope.db.batch([
    scope.db
      .delete(tenantEnv)
      .where(owned(tenantEnv, scope, eq(tenantEnv.name, name)))
      .returning({ name: tenantEnv.name }),
    auditInsertIfChanged(scope, 'env.delete', envTarget(name)),
    flowIdsQuery(scope),
  ]);
  return deleted.length > 0 ? { flowIds: flowRows.map((row) => row.id) } : null;
}

export const toEnvValues = (rows: Array<{ name: string; value: string }>): Record<string, string> =>
  Object.fromEntries(rows.map((row) => [row.name, row.value]));
