import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { Block, FlowNotify, Trigger, TriggerType } from '../flows/definition';
import type { RunStatus } from '../runs/types';

/**
 * The D1 schema: the single source of truth for `drizzle/` migrations
 * (`npm run db:generate`). Every tenant-owned table carries `tenant_id`, and
 * every query goes through `src/db/tenant.ts`, which adds it.
 * Times are RFC 3339 strings in UTC, as the API shows them.
 */

export const tenants = sqliteTable('tenants', {
  id: text('id').primaryKey(),
  createdAt: text('created_at').notNull(),
});

export const flows = sqliteTable(
  'flows',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull(),
    version: integer('version').notNull(),
    /** Denormalised from `trigger` so triggers can find their flows with an index. */
    triggerType: text('trigger_type').$type<TriggerType>().notNull(),
    trigger: text('trigger', { mode: 'json' }).$type<Trigger>().notNull(),
    blocks: text('blocks', { mode: 'json' }).$type<Block[]>().notNull(),
    /** Where and when to notify about finished runs (contract 1.1, "Flow notifications"). */
    notify: text('notify', { mode: 'json' }).$type<FlowNotify>(),
    hookId: text('hook_id'),
    /**
     * An enabled schedule flow's next due minute (null for every other flow):
     * the minute tick reads the flows due, through its index, instead of
     * evaluating every schedule. Written with the flow, and by the tick.
     */
    nextDueAt: text('next_due_at'),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [
    index('flows_tenant_idx').on(t.tenantId, t.id),
    index('flows_trigger_idx').on(t.triggerType, t.tenantId),
    uniqueIndex('flows_hook_idx').on(t.hookId),
    index('flows_next_due_idx').on(t.nextDueAt),
  ],
);

/** Every saved definition of a flow; a run pins one. */
export const flowVersions = sqliteTable(
  'flow_versions',
  {
    flowId: text('flow_id').notNull(),
    version: integer('version').notNull(),
    tenantId: text('tenant_id').notNull(),
    name: text('name').notNull(),
    trigger: text('trigger', { mode: 'json' }).$type<Trigger>().notNull(),
    blocks: text('blocks', { mode: 'json' }).$type<Block[]>().notNull(),
    notify: text('notify', { mode: 'json' }).$type<FlowNotify>(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.flowId, t.version] })],
);

/** A flow's data key, wrapped by the master key whose id is `kekId`. */
export const flowKeys = sqliteTable(
  'flow_keys',
  {
    flowId: text('flow_id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    kekId: text('kek_id').notNull(),
    wrappedKey: text('wrapped_key').notNull(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [index('flow_keys_kek_idx').on(t.kekId)],
);

export const secrets = sqliteTable(
  'secrets',
  {
    flowId: text('flow_id').notNull(),
    name: text('name').notNull(),
    tenantId: text('tenant_id').notNull(),
    /** base64 of IV || AES-GCM ciphertext+tag. */
    sealed: text('sealed').notNull(),
    allowedHosts: text('allowed_hosts', { mode: 'json' }).$type<string[] | null>(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.flowId, t.name] })],
);

export const variables = sqliteTable(
  'variables',
  {
    flowId: text('flow_id').notNull(),
    name: text('name').notNull(),
    tenantId: text('tenant_id').notNull(),
    value: text('value').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.flowId, t.name] })],
);

/** Plain configuration shared by all flows of a tenant: `{{ENV.<name>}}`. */
export const tenantEnv = sqliteTable(
  'tenant_env',
  {
    tenantId: text('tenant_id').notNull(),
    name: text('name').notNull(),
    value: text('value').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.name] })],
);

/** A flow notification about one finished run, and how its delivery is going. */
export const notificationDeliveries = sqliteTable(
  'notification_deliveries',
  {
    /** `ntf_<ulid>`: also the `webhook-id` of every attempt. */
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    flowId: text('flow_id').notNull(),
    runId: text('run_id').notNull(),
    status: text('status').$type<'pending' | 'delivered' | 'failed'>().notNull(),
    attempts: integer('attempts').notNull(),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    /** Where it goes: the `notify.url` of the version the run ran. */
    url: text('url').notNull().default(''),
    /** The name of the flow secret that signs it (`notify.signingSecret`), if any. */
    signingSecret: text('signing_secret'),
    /** The JSON body, fixed when the run ended: every attempt sends the same bytes. */
    body: text('body').notNull().default(''),
    /** When the next attempt is due (RFC 3339); while an attempt is in flight, when its claim lapses. */
    nextAttemptAt: text('next_attempt_at').notNull().default(''),
  },
  (t) => [
    index('notification_deliveries_flow_idx').on(t.tenantId, t.flowId, t.id),
    uniqueIndex('notification_deliveries_run_idx').on(t.runId),
    index('notification_deliveries_due_idx').on(t.status, t.nextAttemptAt),
  ],
);

/**
 * The run index, for lists by flow, tenant and status: one row per run,
 * written in batches by the run's executor (which holds its steps and events).
 */
export const runs = sqliteTable(
  'runs',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    flowId: text('flow_id').notNull(),
    flowVersion: integer('flow_version').notNull(),
    status: text('status').$type<RunStatus>().notNull(),
    triggerType: text('trigger_type').$type<TriggerType>().notNull(),
    /** The trigger's payload (without `type`, which is its own column). */
    trigger: text('trigger', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    error: text('error'),
    createdAt: text('created_at').notNull(),
    startedAt: text('started_at'),
    finishedAt: text('finished_at'),
  },
  (t) => [
    index('runs_flow_idx').on(t.tenantId, t.flowId, t.id),
    index('runs_tenant_idx').on(t.tenantId, t.id),
    index('runs_status_idx').on(t.status, t.createdAt),
  ],
);

export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    ts: text('ts').notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    target: text('target').notNull(),
  },
  (t) => [index('audit_tenant_idx').on(t.tenantId, t.id)],
);

/** Single-use WebSocket tickets; only a hash of the ticket is stored. */
export const liveTickets = sqliteTable('live_tickets', {
  ticketHash: text('ticket_hash').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  sub: text('sub').notNull(),
  targetType: text('target_type').notNull(),
  targetId: text('target_id').notNull(),
  expiresAt: text('expires_at').notNull(),
});
