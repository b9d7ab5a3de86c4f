import { desc, lt, sql } from 'drizzle-orm';
import { newId } from '../lib/ids';
import { nowIso } from './client';
import { auditEvents } from './schema';
import { owned, type TenantScope } from './scope';
import { page, type Page, type PageQuery } from './pagination';

export type AuditAction =
  | 'flow.create'
  | 'flow.update'
  | 'flow.delete'
  | 'flow.hook_rotate'
  | 'secret.create'
  | 'secret.replace'
  | 'secret.delete'
  | 'variable.create'
  | 'variable.replace'
  | 'variable.delete'
  | 'env.create'
  | 'env.replace'
  | 'env.delete'
  | 'run.trigger'
  | 'run.cancel'
  | 'keys.rewrap';

export interface AuditEvent {
  id: string;
  ts: string;
  actor: string;
  action: string;
  target: string;
}

/** The insert of one audit row, to put in the same batch as the change it records. */
export function auditInsert(scope: TenantScope, action: AuditAction, target: string) {
  return scope.db.insert(auditEvents).values({
    id: newId('aud'),
    tenantId: scope.tenantId,
    ts: nowIso(),
    actor: scope.actor,
    action,
    target,
  });
}

/**
 * Like `auditInsert`, but only when the statement just before it in the
 * batch changed a row (SQLite's `changes()`), so a change that lost a race
 * or found nothing is not recorded.
 */
export function auditInsertIfChanged(scope: TenantScope, action: AuditAction, target: string) {
  return scope.db
    .insert(auditEvents)
    .select(sql`SELECT ${newId('aud')}, ${scope.tenantId}, ${nowIso()}, ${scope.actor}, ${action}, ${target} WHERE changes() > 0`);
}

export async function listAudit(scope: TenantScope, query: PageQuery): Promise<Page<AuditEvent>> {
  const rows = await scope.db
    .select({
      id: auditEvents.id,
      ts: auditEvents.ts,
      actor: auditEvents.actor,
      action: auditEvents.action,
      target: auditEvents.target,
    })
    .from(auditEvents)
    .where(owned(auditEvents, scope, query.cursor ? lt(auditEvents.id, query.cursor) : undefined))
    .orderBy(desc(auditEvents.id))
    .limit(query.limit + 1);
  return page(rows, query.limit, (row) => row.id);
}
