import { and, eq, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Env } from '../env';
import { database, type Db } from './client';

/**
 * A tenant's view of the database. Every store function takes one, and
 * every query built from it is filtered by `owned()`, so a query without a
 * tenant cannot be written by accident.
 */
export interface TenantScope {
  readonly db: Db;
  readonly tenantId: string;
  /** The `sub` of the caller, recorded in the audit log. */
  readonly actor: string;
}

export function tenantScope(env: Pick<Env, 'DB'>, caller: { tenantId: string; sub: string }): TenantScope {
  return { db: database(env.DB), tenantId: caller.tenantId, actor: caller.sub };
}

/** `tenant_id = <scope's tenant> AND …conditions`. */
export function owned(table: { tenantId: SQLiteColumn }, scope: TenantScope, ...conditions: Array<SQL | undefined>): SQL {
  return and(eq(table.tenantId, scope.tenantId), ...conditions)!;
}
