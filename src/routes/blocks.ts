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
    params: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the params' }),
    branches: z.array(z.string()).openapi({ description: 'The block fields that hold block ids' }),
  })
  .openapi('BlockType');

const list = securedRoute({
  method: 'get',
  path: '/blocks',
  tags: ['Blocks'],
  summary: 'The block types, with the JSON Schema of their params',
  scope: 'flows:read',
  responses: { 200: jsonContent(z.object({ items: z.array(BlockTypeSchema) }), 'The catalogue') },
});

export const blockRoutes = newRouter().openapi(list, (c) =>
  c.json({ items: blockCatalogue() as Array<z.infer<typeof BlockTypeSchema>> }, 200),
);
