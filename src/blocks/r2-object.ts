import { z } from '@hono/zod-openapi';
import { KeyError, tenantKey } from '../lib/object-keys';
import { asText } from './text';
import { StepError, type BlockSpec, type StepContext } from './types';

export const R2_ACTIONS = ['head', 'copy', 'delete', 'set_metadata'] as const;

export const r2ObjectParams = z
  .object({
    action: z.enum(R2_ACTIONS),
    key: z.string().min(1).max(1024).describe('template, relative to the tenant namespace'),
    destinationKey: z.string().min(1).max(1024).optional().describe('template; required for copy'),
    metadata: z.record(z.string().max(256), z.string().max(2048)).optional().describe('required for set_metadata'),
  })
  .strict()
  .superRefine((params, ctx) => {
    if (params.action === 'copy' && params.destinationKey === undefined) {
      ctx.addIssue({ code: 'custom', path: ['destinationKey'], message: 'copy needs a destinationKey' });
    }
    if (params.action === 'set_metadata' && params.metadata === undefined) {
      ctx.addIssue({ code: 'custom', path: ['metadata'], message: 'set_metadata needs metadata' });
    }
  });

type Params = z.infer<typeof r2ObjectParams>;

/**
 * Custom metadata on every object a flow writes, naming the flow: the upload
 * trigger skips that flow for events about it, so a flow cannot trigger
 * itself through its own copies (an endless loop in production).
 */
export const WRITTEN_BY_FLOW = 'powerflows-flow';

/** Resolves a rendered key inside the tenant's namespace; any escape attempt fails the step. Every block that names an object uses it. */
export function resolveKey(context: Pick<StepContext, 'tenantId'>, key: unknown): string {
  try {
    return tenantKey(context.tenantId, asText(key));
  } catch (err) {
    if (err instanceof KeyError) throw new StepError(err.message);
    throw err;
  }
}

async function getOrFail(context: StepContext, fullKey: string, key: string): Promise<R2ObjectBody> {
  const object = await context.env.UPLOADS.get(fullKey);
  if (!object) throw new StepError(`no object at "${key}"`);
  return object;
}

/** Acts on an object of the tenant's uploads: head, copy, delete or set_metadata. */
export const r2ObjectBlock: BlockSpec<Params> = {
  type: 'r2_object',
  label: 'Manage Stored Object',
  category: 'Media',
  description: "Reads the head of, copies, deletes or sets metadata on an object in the tenant's storage.",
  output: z.object({
    key: z.string(),
    size: z.number().int().optional().describe('head'),
    eTag: z.string().optional().describe('head'),
    contentType: z.string().nullable().optional().describe('head'),
    customMetadata: z.record(z.string(), z.string()).optional().describe('head'),
    uploaded: z.string().optional().describe('head: RFC 3339'),
  }),
  help: "Works on one object of the tenant's storage (keys are relative to the tenant): head reads its size, type and metadata; copy writes it to destinationKey; delete removes it; set_metadata merges metadata. Objects a flow writes never trigger that flow.",
  params: r2ObjectParams,
  async run(params, context) {
    const key = asText(params.key);
    const fullKey = resolveKey(context, key);
    const bucket = context.env.UPLOADS;
    switch (params.action) {
      case 'head': {
        const object = await bucket.head(fullKey);
        if (!object) throw new StepError(`no object at "${key}"`);
        return {
          output: {
            key,
            size: object.size,
            eTag: object.etag,
            contentType: object.httpMetadata?.contentType ?? null,
            customMetadata: object.customMetadata ?? {},
            uploaded: object.uploaded.toISOString(),
          },
        };
      }
      case 'copy': {
        const destination = asText(params.destinationKey);
        const destinationKey = resolveKey(context, destination);
        const source = await getOrFail(context, fullKey, key);
        await bucket.put(destinationKey, source.body, {
          httpMetadata: source.httpMetadata,
          customMetadata: { ...source.customMetadata, [WRITTEN_BY_FLOW]: context.flowId },
        });
        return { output: { key: destination } };
      }
      case 'delete':
        await bucket.delete(fullKey);
        return { output: { key } };
      case 'set_metadata': {
        // R2 has no in-place metadata update: rewrite the object with the merged metadata.
        const source = await getOrFail(context, fullKey, key);
        const metadata: Record<string, string> = { ...source.customMetadata };
        for (const [name, value] of Object.entries(params.metadata ?? {})) metadata[name] = asText(value);
        metadata[WRITTEN_BY_FLOW] = context.flowId;
        await bucket.put(fullKey, source.body, { httpMetadata: source.httpMetadata, customMetadata: metadata });
        return { output: { key } };
      }
    }
  },
};
