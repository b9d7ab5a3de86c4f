import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1';
import * as schema from './schema';

export type Db = DrizzleD1Database<typeof schema>;

export const database = (d1: D1Database): Db => drizzle(d1, { schema });

/** RFC 3339 UTC with milliseconds, as every time in the API. */
export const nowIso = (): string => new Date().toISOString();
