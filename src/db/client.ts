import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1';
import * as schema from './schema';

export type Db = DrizzleD1Database<typeof schema>;

const instances = new WeakMap<D1Database, Db>();

/** The drizzle database over a D1 binding, one per binding (building one walks the whole schema). */
export function database(d1: D1Database): Db {
  let db = instances.get(d1);
  if (!db) {
    db = drizzle(d1, { schema });
    instances.set(d1, db);
  }
  return db;
}

/** RFC 3339 UTC with milliseconds, as every time in the API. */
export const nowIso = (): string => new Date().toISOString();
