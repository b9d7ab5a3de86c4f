import type { Hono } from 'hono';
import type { ExtractSchema, MergeSchemaPath } from 'hono/types';
import type { AppEnv } from './http/router';
import type { notificationRoutes } from './notifications/routes';
import type { adminRoutes } from './routes/admin';
import type { auditRoutes } from './routes/audit';
import type { blockRoutes } from './routes/blocks';
import type { envRoutes } from './routes/env';
import type { flowRoutes } from './routes/flows';
import type { hookRoutes } from './routes/hooks';
import type { liveRoutes } from './routes/live';
import type { runRoutes } from './routes/runs';
import type { secretRoutes } from './routes/secrets';
import type { uploadRoutes } from './routes/uploads';
import type { variableRoutes } from './routes/variables';

/**
 * The REST API as a type: every router `createApp` mounts under `/v1`, with
 * its paths, inputs and answers, for Hono's typed client (`hc<AppType>`,
 * src/client.ts). A router mounted under /v1 in src/app.ts belongs here too.
 * Types only: importing this file bundles nothing.
 */
export type AppType = Hono<
  AppEnv,
  MergeSchemaPath<
    ExtractSchema<
      | typeof flowRoutes
      | typeof blockRoutes
      | typeof secretRoutes
      | typeof variableRoutes
      | typeof notificationRoutes
      | typeof envRoutes
      | typeof runRoutes
      | typeof liveRoutes
      | typeof hookRoutes
      | typeof uploadRoutes
      | typeof auditRoutes
      | typeof adminRoutes
    >,
    '/v1'
  >,
  '/'
>;
