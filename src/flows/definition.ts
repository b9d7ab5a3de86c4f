import { z } from '@hono/zod-openapi';
import { BLOCKS, type BlockType, exitFields } from '../blocks/registry';
import { cronError, isTimeZone } from '../triggers/cron';
import type { RetryPolicy } from '../runs/machine/retry';
import { chainOf, checkGraph } from './graph';

export const BLOCK_ID = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
export const MAX_BLOCKS = 100;

const blockId = z.string().regex(BLOCK_ID, 'block ids match ^[A-Za-z][A-Za-z0-9_]{0,63}$');
const successor = blockId.nullable().optional();
const secretName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'names a secret of this flow');
/** `type/subtype` or `type/*` (a wildcard only after the slash), as in an r2_upload trigger's contentTypes. */
export const CONTENT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}\/(\*|[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,127})$/;

export const TriggerSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('manual') }).strict(),
    z
      .object({ type: z.literal('flow') })
      .strict()
      .openapi({ description: 'Runs only when another flow starts it (trigger_flow), or from the Test button' }),
    z
      .object({
        type: z.literal('webhook'),
        verify: z
          .discriminatedUnion('scheme', [
            z.object({ scheme: z.literal('standard-webhooks'), secret: secretName }).strict(),
            z
              .object({
                scheme: z.literal('hmac-sha256'),
                secret: secretName,
                header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'not a header name'),
              })
              .strict(),
          ])
          .optional()
          .openapi({ description: 'Refuse (401) requests not signed with this secret of the flow' }),
      })
      .strict(),
    z
      .object({
        type: z.literal('r2_upload'),
        prefix: z.string().max(1024).optional(),
        suffix: z.string().max(1024).optional(),
        contentTypes: z
          .array(z.string().regex(CONTENT_TYPE_PATTERN, 'a content type such as image/png or image/*'))
          .min(1)
          .max(50)
          .optional()
          .openapi({ description: "The object's Content-Type must match one (`image/*`: any image); case and parameters are ignored" }),
        minSize: z.number().int().nonnegative().optional().openapi({ description: 'bytes, inclusive' }),
        maxSize: z.number().int().nonnegative().optional().openapi({ description: 'bytes, inclusive' }),
      })
      .strict()
      .refine((t) => t.minSize === undefined || t.maxSize === undefined || t.minSize <= t.maxSize, {
        path: ['maxSize'],
        message: 'maxSize is smaller than minSize',
      }),
    z
      .object({
        type: z.literal('schedule'),
        cron: z.string(),
        timezone: z.string().max(64).optional().openapi({ description: 'IANA time zone the expression is read in (default UTC)' }),
      })
      .strict()
      .superRefine((trigger, ctx) => {
        if (trigger.timezone !== undefined && !isTimeZone(trigger.timezone)) {
          ctx.addIssue({
            code: 'custom',
            path: ['timezone'],
            message: `unknown time zone '${trigger.timezone}' (an IANA name such as Europe/Berlin)`,
          });
          return;
        }
        const error = cronError(trigger.cron, trigger.timezone);
        if (error) ctx.addIssue({ code: 'custom', path: ['cron'], message: error });
      }),
  ])
  .openapi('Trigger');

export type Trigger = z.infer<typeof TriggerSchema>;
export type TriggerType = Trigger['type'];

const MAX_UI_BYTES = 2048;

/** Editor state (`{ x, y, … }`): stored and returned as given, ignored by the engine. */
const ui = z
  .record(z.string(), z.unknown())
  .refine((value) => new TextEncoder().encode(JSON.stringify(value)).length <= MAX_UI_BYTES, `at most ${MAX_UI_BYTES} bytes`)
  .optional()
  .openapi({ description: 'Editor state such as { x, y }: stored as given, ignored by the engine' });

/** Contract 1.2, "Retry policy on any block". */
const RetryPolicySchema = z
  .object({
    attempts: z.number().int().min(0).max(10),
    backoffSeconds: z.number().min(1).max(3600).optional(),
    factor: z.number().min(1).max(10).optional(),
    maxBackoffSeconds: z.number().min(1).max(86_400).optional(),
  })
  .strict()
  .openapi('RetryPolicy', {
    description:
      'A failed step is tried again `attempts` times, after backoffSeconds × factor^(n−1) seconds (at most maxBackoffSeconds); the run waits durably meanwhile, and onError applies after the last attempt. On a for_each it does not retry the loop: put it on the blocks inside.',
  });

function blockSchema<T extends BlockType>(type: T) {
  const exits = Object.fromEntries(exitFields(type).map((field) => [field, successor]));
  return z
    .object({
      id: blockId,
      type: z.literal(type),
      name: z.string().max(120).optional(),
      params: BLOCKS[type].params as (typeof BLOCKS)[T]['params'],
      ...exits,
      onError: blockId.optional().openapi({ description: 'The block to continue at when this one fails; `{{error.…}}` holds the failure' }),
      retry: RetryPolicySchema.optional(),
      ui,
    })
    .strict();
}

type AnyBlockSchema = ReturnType<typeof blockSchema>;
const blockSchemas = (Object.keys(BLOCKS) as BlockType[]).map(blockSchema);

export const BlockSchema = z.discriminatedUnion('type', blockSchemas as [AnyBlockSchema, ...AnyBlockSchema[]]).openapi('Block');

export type BlockParams = z.infer<(typeof BLOCKS)[BlockType]['params']>;

/** A block as stored: params as written (templates unrendered). A type, not an interface: the shared graph module reads it as a record. */
export type Block = {
  id: string;
  type: BlockType;
  name?: string | undefined;
  params: BlockParams;
  next?: string | null;
  then?: string | null;
  else?: string | null;
  /** A switch's block when no case matches (absent: the run ends). */
  default?: string | null;
  onError?: string | undefined;
  /** Tries a failed step again after a backoff (contract 1.2). */
  retry?: RetryPolicy | undefined;
  ui?: Record<string, unknown> | undefined;
};

/** The final run statuses a flow can be notified of. */
export const NOTIFY_STATUSES = ['succeeded', 'failed', 'cancelled'] as const;

const isHttpUrl = (text: string): boolean => {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
};

export const NotifySchema = z
  .object({
    url: z.string().max(2048).refine(isHttpUrl, 'an http(s) URL'),
    on: z
      .array(z.enum(NOTIFY_STATUSES))
      .min(1, 'at least one status')
      .refine((on) => new Set(on).size === on.length, 'each status at most once'),
    signingSecret: secretName.optional().openapi({ description: 'A secret of this flow that signs each delivery; it is never sent' }),
  })
  .strict()
  .openapi('FlowNotify', { description: 'POST `run.finished` to `url` when a run ends with a status in `on` (Standard Webhooks)' });

export const FlowInputSchema = z
  .object({
    name: z.string().trim().min(1).max(120),
    description: z.string().max(2000).nullable().optional(),
    enabled: z.boolean().optional(),
    trigger: TriggerSchema,
    blocks: z.array(BlockSchema).max(MAX_BLOCKS, `at most ${MAX_BLOCKS} blocks`),
    notify: NotifySchema.nullable().optional(),
  })
  // Nested chains block by block, then the graph rules (ids resolve, no cycle, known template roots).
  .superRefine((flow, ctx) => {
    const nestedIssues = checkNestedShapes(flow.blocks as Block[], ['blocks']);
    for (const issue of nestedIssues) ctx.addIssue({ code: 'custom', ...issue });
    if (nestedIssues.length > 0) return;
    for (const issue of checkGraph(flow.blocks as Block[])) ctx.addIssue({ code: 'custom', ...issue });
  })
  .openapi('FlowInput');

export type FlowInput = z.infer<typeof FlowInputSchema>;

/** A for_each chain's blocks, parsed with the block schema (the params schema cannot refer to it). */
function checkNestedShapes(
  chain: readonly Block[],
  path: Array<string | number>,
): Array<{ path: Array<string | number>; message: string }> {
  return chain.flatMap((block, i) => {
    const nested = chainOf(block);
    if (!nested) return [];
    const at = [...path, i, 'params', 'blocks'];
    return nested.flatMap((raw, j) => {
      const parsed = BlockSchema.safeParse(raw);
      if (!parsed.success)
        return parsed.error.issues.map((issue) => ({
          path: [...at, j, ...(issue.path as Array<string | number>)],
          message: issue.message,
        }));
      return checkNestedShapes([parsed.data as Block], [...at]).map((issue) => ({
        ...issue,
        path: issue.path.map((p, k) => (k === at.length ? j : p)),
      }));
    });
  });
}

/** Where and when a flow's finished runs are announced (contract 1.1, "Flow notifications"). */
export interface FlowNotify {
  url: string;
  on: Array<(typeof NOTIFY_STATUSES)[number]>;
  signingSecret?: string | undefined;
}

/** What a run executes: one pinned version of a flow. */
export interface FlowDefinition {
  name: string;
  trigger: Trigger;
  blocks: Block[];
  /** Where the run's end is announced (absent in definitions pinned before notifications existed). */
  notify?: FlowNotify | null;
}
