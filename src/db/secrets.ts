import { and, asc, eq, inArray } from 'drizzle-orm';
import { auditInsert, auditInsertIfChanged } from './audit';
import { nowIso } from './client';
import { flowKeys, secrets } from './schema';
import { owned, type TenantScope } from './scope';

export const MAX_SECRETS_PER_FLOW = 100;

/** What the API shows of a secret: never its value. */
export interface SecretInfo {
  name: string;
  allowedHosts: string[];
  createdAt: string;
  updatedAt: string;
}

export interface SealedSecret {
  name: string;
  sealed: string;
  allowedHosts: string[];
}

const secretTarget = (flowId: string, name: string) => `flows/${flowId}/secrets/${name}`;

export async function listSecrets(scope: TenantScope, flowId: string): Promise<SecretInfo[]> {
  const rows = await scope.db
    .select({
      name: secrets.name,
      allowedHosts: secrets.allowedHosts,
      createdAt: secrets.createdAt,
      updatedAt: secrets.updatedAt,
    })
    .from(secrets)
    .where(owned(secrets, scope, eq(secrets.flowId, flowId)))
    .orderBy(asc(secrets.name));
  return rows.map((row) => ({ ...row, allowedHosts: row.allowedHosts ?? [] }));
}

/** Inserts or replaces a sealed secret and records it in the audit log, in one batch. */
export async function putSecret(scope: TenantScope, flowId: string, secret: SealedSecret, replacing: boolean): Promise<SecretInfo> {
  const now = nowIso();
  const [rows] = await scope.db.batch([
    scope.db
      .insert(secrets)
      .values({ flowId, tenantId: scope.tenantId, ...secret, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: [secrets.flowId, secrets.name],
        set: { sealed: secret.sealed, allowedHosts: secret.allowedHosts, updatedAt: now },
        setWhere: eq(secrets.tenantId, scope.tenantId),
      })
      .returning({ createdAt: secrets.createdAt, updatedAt: secrets.updatedAt }),
    auditInsert(scope, replacing ? 'secret.replace' : 'secret.create', secretTarget(flowId, secret.name)),
  ]);
  const row = rows[0]!;
  return { name: secret.name, allowedHosts: secret.allowedHosts, createdAt: row.createdAt, updatedAt: row.updatedAt };
}

export async function deleteSecret(scope: TenantScope, flowId: string, name: string): Promise<boolean> {
  const [deleted] = await scope.db.batch([
    scope.db
      .delete(secrets)
      .where(owned(secrets, scope, and(eq(secrets.flowId, flowId), eq(secrets.name, name))))
      .returning({ name: secrets.name }),
    auditInsertIfChanged(scope, 'secret.delete', secretTarget(flowId, name)),
  ]);
  return deleted.length > 0;
}

/** The query for a flow's sealed secrets, all of them or exactly `names` (for the vault only). */
export function secretsQuery(scope: TenantScope, flowId: string, names?: ReadonlySet<string>) {
  return scope.db
    .select({ name: secrets.name, sealed: secrets.sealed, allowedHosts: secrets.allowedHosts })
    .from(secrets)
    .where(owned(secrets, scope, eq(secrets.flowId, flowId), names ? inArray(secrets.name, [...names]) : undefined));
}

/** The query for a flow's wrapped key (for the vault only). */
export function wrappedKeyQuery(scope: TenantScope, flowId: string) {
  return scope.db
    .select({ kekId: flowKeys.kekId, wrappedKey: flowKeys.wrappedKey })
    .from(flowKeys)
    .where(owned(flowKeys, scope, eq(flowKeys.flowId, flowId)));
}

export function wrappedKeyInsert(scope: TenantScope, flowId: string, key: { kekId: string; wrappedKey: string }) {
  const now = nowIso();
  return scope.db.insert(flowKeys).values({ flowId, tenantId: scope.tenantId, ...key, createdAt: now, updatedAt: now });
}
