import { z } from 'zod';

/** What R2 event notifications put on the queue (and what local development emulates). */
export const R2EventSchema = z.object({
  account: z.string().optional(),
  action: z.string(),
  bucket: z.string(),
  object: z.object({
    key: z.string().min(1),
    size: z.number().int().nonnegative().optional(),
    eTag: z.string().optional(),
  }),
  eventTime: z.string(),
  copySource: z.object({ bucket: z.string(), object: z.string() }).partial().optional(),
});

export type R2Event = z.infer<typeof R2EventSchema>;

/** The actions that create an object; they start runs. Deletions are ignored for now. */
export const OBJECT_CREATE_ACTIONS: ReadonlySet<string> = new Set(['PutObject', 'CopyObject', 'CompleteMultipartUpload']);
