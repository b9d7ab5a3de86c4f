import type { Hono } from 'hono';
import type { ExtractSchema, MergeSchemaPath } from 'hono/types';
import type { AppEnv } from './http/router';
import type { V1_ROUTERS } from './routes/v1';

/**
 * The REST API as a type: every router `createApp` mounts under `/v1`
 * (`V1_ROUTERS`), with its paths, inputs and answers, for Hono's typed client
 * (`hc<AppType>`, src/client.ts). Types only: importing this file bundles nothing.
 */
export type AppType = Hono<AppEnv, MergeSchemaPath<ExtractSchema<(typeof V1_ROUTERS)[number]>, '/v1'>, '/'>;
