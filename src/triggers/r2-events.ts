/**
 * The upload-events queue consumer: R2 event notifications (or, locally,
 * the same messages sent by the uploads route) start one run per matching
 * enabled `r2_upload` flow of the key's tenant.
 *
 * A flow's trigger may filter on the key (prefix, suffix), the object's
 * Content-Type (`image/*`) and its size; all given filters must match.
 * Runs count against the tenant's rate limit (a limited message is retried
 * later), and a flow is never started by an object one of its own runs wrote.
 *
 * At-least-once delivery becomes exactly one run per (flow, object event):
 * each run is started with a dedupe key, which the flow's executor checks and
 * records in the same write that creates the run. A malformed message is
 * logged and acknowledged, and so is a flow deleted meanwhile (nothing to
 * start, ever); a transient failure retries only the message that failed.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { toBase64 } from '../crypto/encoding';
import { database, type Db } from '../db/client';
import type { FlowRow } from '../db/flows';
import { flows } from '../db/schema';
import { tenantScope } from '../db/scope';
import type { Env } from '../env';
import type { Trigger } from '../flows/definition';
import { TENANT_ID } from '../lib/tenant';
import { WRITTEN_BY_FLOW } from '../blocks/r2-object';
import { takeTokens, tenantRunLimit } from '../limits/enforce';
import { NotFoundError } from '../lib/errors';
import { startRun } from '../runs/start';
import { OBJECT_CREATE_ACTIONS, R2EventSchema, type R2Event } from './r2-event';

const RETRY_DELAY_SECONDS = 10;

interface Upload {
  message: Message<unknown>;
  event: R2Event;
  tenantId: string;
  /** The key relative to the tenant's namespace. */
  key: string;
}

export async function handleUploadEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const uploads: Upload[] = [];
  for (const message of batch.messages) {
    const upload = parse(message);
    if (upload) uploads.push(upload);
    else message.ack();
  }
  if (uploads.length === 0) return;

  const db = database(env.DB);
  const candidates = await uploadFlowsOf(db, [...new Set(uploads.map((u) => u.tenantId))]);
  await Promise.all(
    uploads.map(async (upload) => {
      try {
        const matching = await matchingObject(
          env,
          upload,
          candidates.filter((flow) => flow.tenantId === upload.tenantId && keyMatches(flow.trigger, upload.key)),
        );
        if (matching.length > 0) {
          const decision = await takeTokens(env, `tenant:${upload.tenantId}`, tenantRunLimit(env), matching.length);
          if (!decision.allowed) {
            upload.message.retry({ delaySeconds: decision.retryAfter });
            return;
          }
        }
        await Promise.all(matching.map((flow) => startUploadRun(env, flow, upload)));
        upload.message.ack();
      } catch (err) {
        console.error('upload event failed; retrying', upload.event.object.key, err instanceof Error ? err.message : err);
        upload.message.retry({ delaySeconds: RETRY_DELAY_SECONDS });
      }
    }),
  );
}

function parse(message: Message<unknown>): Upload | null {
  let body = message.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // falls through to the schema, which refuses it
    }
  }
  const parsed = R2EventSchema.safeParse(body);
  if (!parsed.success) {
    console.warn('malformed upload event acknowledged', message.id, parsed.error.issues[0]?.message);
    return null;
  }
  const event = parsed.data;
  if (!OBJECT_CREATE_ACTIONS.has(event.action)) return null;
  const slash = event.object.key.indexOf('/');
  const tenantId = event.object.key.slice(0, slash);
  const key = event.object.key.slice(slash + 1);
  if (slash < 0 || !TENANT_ID.test(tenantId) || key === '') {
    console.warn('upload event outside any tenant namespace acknowledged', message.id);
    return null;
  }
  return { message, event, tenantId, key };
}

/** Every enabled upload flow of these tenants, in one query for the whole batch. */
function uploadFlowsOf(db: Db, tenantIds: string[]): Promise<FlowRow[]> {
  return db
    .select()
    .from(flows)
    .where(and(eq(flows.triggerType, 'r2_upload'), eq(flows.enabled, true), inArray(flows.tenantId, tenantIds)));
}

/**
 * The flows whose filters the object itself passes (content type, size),
 * less the one whose run wrote it: no flow triggers itself through its own
 * writes. One HEAD per event, and only when some flow's key filters matched.
 */
async function matchingObject(env: Env, upload: Upload, flows: FlowRow[]): Promise<FlowRow[]> {
  if (flows.length === 0) return flows;
  const object = await env.UPLOADS.head(upload.event.object.key);
  const writer = object?.customMetadata?.[WRITTEN_BY_FLOW];
  const contentType = object?.httpMetadata?.contentType;
  const size = upload.event.object.size ?? object?.size;
  return flows.filter((flow) => flow.id !== writer && objectMatches(flow.trigger, contentType, size));
}

function keyMatches(trigger: Trigger, key: string): boolean {
  if (trigger.type !== 'r2_upload') return false;
  return key.startsWith(trigger.prefix ?? '') && key.endsWith(trigger.suffix ?? '');
}

/** Every filter the trigger gives must match; an unknown content type or size matches no filter on it. */
export function objectMatches(trigger: Trigger, contentType: string | undefined, size: number | undefined): boolean {
  if (trigger.type !== 'r2_upload') return false;
  if (trigger.contentTypes && !contentTypeMatches(trigger.contentTypes, contentType)) return false;
  if (trigger.minSize !== undefined && (size === undefined || size < trigger.minSize)) return false;
  if (trigger.maxSize !== undefined && (size === undefined || size > trigger.maxSize)) return false;
  return true;
}

/** `image/*` matches any image type; otherwise the type must be equal. Case and parameters (`; charset=…`) are ignored. */
export function contentTypeMatches(patterns: readonly string[], contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (!type) return false;
  return patterns.some((pattern) => {
    const wanted = pattern.toLowerCase();
    return wanted.endsWith('/*') ? type.startsWith(wanted.slice(0, -1)) : type === wanted;
  });
}

async function startUploadRun(env: Env, flow: FlowRow, upload: Upload): Promise<void> {
  const { event } = upload;
  const identity = [flow.id, event.bucket, event.object.key, event.object.eTag ?? '', event.eventTime].join('\n');
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(identity)));
  try {
    await startRun(env, tenantScope(env, { tenantId: flow.tenantId, sub: 'r2-upload' }), flow.id, {
      type: 'r2_upload',
      payload: {
        bucket: event.bucket,
        key: upload.key,
        size: event.object.size ?? null,
        eTag: event.object.eTag ?? null,
        action: event.action,
        eventTime: event.eventTime,
      },
      dedupeKey: `r2:${toBase64(digest)}`,
    });
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err; // deleted since it was read: not transient, nothing to retry
  }
}
