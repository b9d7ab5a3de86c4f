import { z } from '@hono/zod-openapi';
import { blockCatalogue } from '../blocks/catalogue';
import { newRouter } from '../http/router';
import { jsonContent } from '../http/schemas';
import { securedRoute } from '../http/secured-route';

const BlockTypeSchema = z
  .object({
    type: z.string(),
    label: z.string(),
    category: z.string(),
    description: z.string(),
    help: z.string().openapi({ description: 'When to use the block and what it gives, with an example' }),
    params: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the params' }),
    output: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the output, read as {{steps.<id>.…}}' }),
    branches: z.array(z.string()).openapi({ description: 'The block fields that hold block ids' }),
    exits: z
      .array(
        z.union([
          z.object({ field: z.string(), absent: z.enum(['following', 'end']) }),
          z.object({ cases: z.string(), field: z.string() }),
        ]),
      )
      .openapi({
        description:
          'Its ways out: a block field naming the next block (absent: the following block, or the end), or a param array whose entries each name one (edges `<cases>[i]`). `onError` is always possible.',
      }),
    chain: z.string().nullable().openapi({ description: 'The param holding a nested chain of blocks (a loop body), or null' }),
    secretParams: z.array(z.string()).openapi({ description: 'The params in which {{SECRETS.…}} may appear' }),
  })
  .openapi('BlockType');

const list = securedRoute({
  method: 'get',
  path: '/blocks',
  tags: ['Blocks'],
  summary: 'The block types: JSON Schema of their params and output, exits, secret params, help',
  scope: 'flows:read',
  responses: { 200: jsonContent(z.object({ items: z.array(BlockTypeSchema) }), 'The catalogue') },
});

export const blockRoutes = newRouter().openapi(list, (c) =>
  c.json({ items: blockCatalogue() as Array<z.infer<typeof BlockTypeSchema>> }, 200),
);
