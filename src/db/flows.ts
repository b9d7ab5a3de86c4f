import { and, desc, eq, lt } from 'drizzle-orm';
import type { Block, FlowDefinition, FlowInput, FlowNotify, Trigger } from '../flows/definition';
import { NotFoundError } from '../lib/errors';
import { newId, randomToken } from '../lib/ids';
import type { WrappedFlowKey } from '../crypto/envelope';
import { nextDueAt } from '../triggers/cron';
import { auditInsert, auditInsertIfChanged } from './audit';
import { nowIso, type Db } from './client';
import { page, type Page, type PageQuery } from './pagination';
import { flowKeys, flows, flowVersions, secrets, tenants, variables } from './schema';
import { wrappedKeyInsert } from './secrets';
import { owned, type TenantScope } from './scope';

export type FlowRow = typeof flows.$inferSelect;

/** The Flow of the API contract. */
export interface Flow {
  id: string;
  name: string;
  description: string | null;
  enabled: boolean;
  version: number;
  trigger: Trigger;
  blocks: Block[];
  /** Where and when finished runs are announced; null when they are not. */
  notify: FlowNotify | null;
  hookUrl?: string;
  createdAt: string;
  updatedAt: string;
}

export const hookPath = (hookId: string): string => `/v1/hooks/${hookId}`;

export function toFlow(row: FlowRow): Flow {
  const flow: Flow = {
    id: row.id,
    name: row.name,
    description: row.description,
    enabled: row.enabled,
    version: row.version,
    trigger: row.trigger,
    blocks: row.blocks,
    notify: row.notify,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
  if (row.triggerType === 'webhook' && row.hookId) flow.hookUrl = hookPath(row.hookId);
  return flow;
}

export const definitionOf = (row: FlowRow): FlowDefinition => ({
  name: row.name,
  trigger: row.trigger,
  blocks: row.blocks,
  notify: row.notify,
});

/** The flow, or a NotFoundError: for routes under /flows/:flowId. */
export async function requireFlow(scope: TenantScope, flowId: string): Promise<FlowRow> {
  const row = await getFlow(scope, flowId);
  if (!row) throw new NotFoundError('flow');
  return row;
}

/** The query for one flow of the tenant (to await, or to put in a batch). */
export const flowQuery = (scope: TenantScope, flowId: string) =>
  scope.db
    .select()
    .from(flows)
    .where(owned(flows, scope, eq(flows.id, flowId)));

export async function getFlow(scope: TenantScope, flowId: string): Promise<FlowRow | undefined> {
  return (await flowQuery(scope, flowId))[0];
}

export async function listFlows(scope: TenantScope, query: PageQuery): Promise<Page<FlowRow>> {
  const rows = await scope.db
    .select()
    .from(flows)
    .where(owned(flows, scope, query.cursor ? lt(flows.id, query.cursor) : undefined))
    .orderBy(desc(flows.id))
    .limit(query.limit + 1);
  return page(rows, query.limit, (row) => row.id);
}

export const newFlowId = (): string => newId('flw');

/**
 * Creates a flow at version 1 with its wrapped key, its first archived
 * version, the tenant row when new, and the audit entry, in one batch.
 */
export async function createFlow(scope: TenantScope, flowId: string, input: FlowInput, key: WrappedFlowKey): Promise<FlowRow> {
  const now = nowIso();
  const row: FlowRow = {
    id: flowId,
    tenantId: scope.tenantId,
    name: input.name,
    description: input.description ?? null,
    enabled: input.enabled ?? true,
    version: 1,
    triggerType: input.trigger.type,
    trigger: input.trigger,
    blocks: input.blocks,
    notify: input.notify ?? null,
    hookId: input.trigger.type === 'webhook' ? newHookId() : null,
    nextDueAt: nextDueAt(input.trigger, input.enabled ?? true, new Date(now)),
    createdAt: now,
    updatedAt: now,
  };
  await scope.db.batch([
    scope.db.insert(tenants).values({ id: scope.tenantId, createdAt: now }).onConflictDoNothing(),
    scope.db.insert(flows).values(row),
    scope.db.insert(flowVersions).values(versionRow(row)),
    wrappedKeyInsert(scope, flowId, key),
    auditInsert(scope, 'flow.create', flowTarget(row.id)),
  ]);
  return row;
}

export type UpdateResult = { ok: true; row: FlowRow } | { ok: false; reason: 'not_found' | 'conflict' };

/**
 * Replaces a flow's definition as version + 1. `expectedVersion` (from
 * `If-Match`) must match; a concurrent update between our read and our write
 * also answers `conflict`, since the write is conditional on the version read.
 */
export async function updateFlow(
  scope: TenantScope,
  flowId: string,
  input: FlowInput,
  expectedVersion?: number,
  /** Throws to refuse the change, given the version it would replace. */
  allowChange?: (current: FlowRow) => void,
): Promise<UpdateResult> {
  const current = await getFlow(scope, flowId);
  if (!current) return { ok: false, reason: 'not_found' };
  if (expectedVersion !== undefined && expectedVersion !== current.version) return { ok: false, reason: 'conflict' };
  allowChange?.(current);

  const next: FlowRow = {
    ...current,
    name: input.name,
    description: input.description ?? null,
    enabled: input.enabled ?? true,
    version: current.version + 1,
    triggerType: input.trigger.type,
    trigger: input.trigger,
    blocks: input.blocks,
    notify: input.notify ?? null,
    hookId: current.hookId ?? (input.trigger.type === 'webhook' ? newHookId() : null),
    updatedAt: nowIso(),
  };
  next.nextDueAt = nextDueAt(next.trigger, next.enabled, new Date(next.updatedAt));
  const [updated] = await scope.db.batch([
    scope.db
      .update(flows)
      .set(next)
      .where(owned(flows, scope, and(eq(flows.id, flowId), eq(flows.version, current.version))))
      .returning(),
    scope.db.insert(flowVersions).values(versionRow(next)).onConflictDoNothing(),
    auditInsertIfChanged(scope, 'flow.update', flowTarget(flowId)),
  ]);
  const row = updated[0];
  return row ? { ok: true, row } : { ok: false, reason: 'conflict' };
}

/**
 * Deletes a flow with its versions, variables, secrets and wrapped key in one
 * batch: without the key its secrets can never be decrypted again
 * (crypto-shredding). Run history stays. Returns false when there was no such flow.
 */
export async function deleteFlow(scope: TenantScope, flowId: string): Promise<boolean> {
  const [deleted] = await scope.db.batch([
    scope.db
      .delete(flows)
      .where(owned(flows, scope, eq(flows.id, flowId)))
      .returning({ id: flows.id }),
    auditInsertIfChanged(scope, 'flow.delete', flowTarget(flowId)),
    scope.db.delete(flowKeys).where(owned(flowKeys, scope, eq(flowKeys.flowId, flowId))),
    scope.db.delete(secrets).where(owned(secrets, scope, eq(secrets.flowId, flowId))),
    scope.db.delete(variables).where(owned(variables, scope, eq(variables.flowId, flowId))),
    scope.db.delete(flowVersions).where(owned(flowVersions, scope, eq(flowVersions.flowId, flowId))),
  ]);
  return deleted.length > 0;
}

export const flowTarget = (flowId: string): string => `flows/${flowId}`;

/** Hook ids are 192 random bits: unguessable, unlike the time-ordered resource ids. */
const newHookId = (): string => `hook_${randomToken(24)}`;

function versionRow(row: FlowRow) {
  return {
    flowId: row.id,
    version: row.version,
    tenantId: row.tenantId,
    name: row.name,
    trigger: row.trigger,
    blocks: row.blocks,
    notify: row.notify,
    createdAt: row.updatedAt,
  };
}

/**
 * The enabled webhook flow a hook id belongs to. The one flow lookup not
 * scoped by a caller's tenant: the unguessable hook id is the credential, and
 * the tenant comes from the row it finds.
 */
export async function findFlowByHook(db: Db, hookId: string): Promise<FlowRow | undefined> {
  return db
    .select()
    .from(flows)
    .where(and(eq(flows.hookId, hookId), eq(flows.triggerType, 'webhook'), eq(flows.enabled, true)))
    .get();
}

/** Gives a webhook flow a new hook id: the old URL stops working at once. */
export async function rotateHook(scope: TenantScope, flowId: string): Promise<FlowRow | undefined> {
  const [rows] = await scope.db.batch([
    scope.db
      .update(flows)
      .set({ hookId: newHookId(), updatedAt: nowIso() })
      .where(owned(flows, scope, and(eq(flows.id, flowId), eq(flows.triggerType, 'webhook'))))
      .returning(),
    auditInsertIfChanged(scope, 'flow.hook_rotate', flowTarget(flowId)),
  ]);
  return rows[0];
}
