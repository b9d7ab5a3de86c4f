import { z } from '@hono/zod-openapi';
import { BLOCKS, BRANCHING_TYPES, type BlockType } from '../blocks/registry';
import { cronError } from '../triggers/cron';
import { checkGraph } from './graph';

export const BLOCK_ID = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
export const MAX_BLOCKS = 100;

const blockId = z.string().regex(BLOCK_ID, 'block ids match ^[A-Za-z][A-Za-z0-9_]{0,63}$');
const successor = blockId.nullable().optional();
const secretName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'names a secret of this flow');

export const TriggerSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('manual') }).strict(),
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
      })
      .strict(),
    z
      .object({
        type: z.literal('schedule'),
        cron: z.string().superRefine((cron, ctx) => {
          const error = cronError(cron);
          if (error) ctx.addIssue({ code: 'custom', message: error });
        }),
      })
      .strict(),
  ])
  .openapi('Trigger');

export type Trigger = z.infer<typeof TriggerSchema>;
export type TriggerType = Trigger['type'];

function blockSchema<T extends BlockType>(type: T) {
  const base = {
    id: blockId,
    type: z.literal(type),
    name: z.string().max(120).optional(),
    params: BLOCKS[type].params as (typeof BLOCKS)[T]['params'],
  };
  return BRANCHING_TYPES.has(type)
    ? z.object({ ...base, then: successor, else: successor }).strict()
    : z.object({ ...base, next: successor }).strict();
}

type AnyBlockSchema = ReturnType<typeof blockSchema>;
const blockSchemas = (Object.keys(BLOCKS) as BlockType[]).map(blockSchema);

export const BlockSchema = z.discriminatedUnion('type', blockSchemas as [AnyBlockSchema, ...AnyBlockSchema[]]).openapi('Block');

export type BlockParams = z.infer<(typeof BLOCKS)[BlockType]['params']>;

/** A block as stored: params as written (templates unrendered). */
export interface Block {
  id: string;
  type: BlockType;
  name?: string | undefined;
  params: BlockParams;
  next?: string | null;
  then?: string | null;
  else?: string | null;
}

export const FlowInputSchema = z
  .object({
    name: z.string().trim().min(1).max(120),
    description: z.string().max(2000).nullable().optional(),
    enabled: z.boolean().optional(),
    trigger: TriggerSchema,
    blocks: z.array(BlockSchema).max(MAX_BLOCKS, `at most ${MAX_BLOCKS} blocks`),
  })
  // Graph rules (ids resolve, no cycle, known template roots) once the shape is right.
  .superRefine((flow, ctx) => {
    for (const issue of checkGraph(flow.blocks)) ctx.addIssue({ code: 'custom', ...issue });
  })
  .openapi('FlowInput');

export type FlowInput = z.infer<typeof FlowInputSchema>;

/** Where and when a flow's finished runs are announced (contract 1.1, "Flow notifications"). */
export interface FlowNotify {
  url: string;
  on: Array<'succeeded' | 'failed' | 'cancelled'>;
  signingSecret?: string | undefined;
}

/** What a run executes: one pinned version of a flow. */
export interface FlowDefinition {
  name: string;
  trigger: Trigger;
  blocks: Block[];
}
