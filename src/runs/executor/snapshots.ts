/**
 * The definitions, variables and environments that runs pin, stored once
 * per configuration (not once per run) and kept in memory while in use.
 */
import type { FlowConfig } from '../flow-config';
import type { ExecutorSchema } from './schema';

const MAX_CACHED = 64;

export class Snapshots {
  private readonly cache = new Map<number, unknown>();

  constructor(private readonly schema: ExecutorSchema) {}

  /** The snapshot ids of a configuration's definition, variables and environment, stored on first use. */
  refsOf(config: FlowConfig): NonNullable<FlowConfig['refs']> {
    config.refs ??= this.schema.transaction(() => ({
      definition: this.store(config.definition),
      variables: this.store(config.variables),
      env: this.store(config.env),
    }));
    this.cache.set(config.refs.definition, config.definition);
    this.cache.set(config.refs.variables, config.variables);
    this.cache.set(config.refs.env, config.env);
    return config.refs;
  }

  get<T>(id: number): T {
    let value = this.cache.get(id);
    if (value === undefined) {
      if (this.cache.size > MAX_CACHED) this.cache.clear();
      value = JSON.parse(this.schema.sql.exec<{ body: string }>('SELECT body FROM snapshots WHERE id = ?', id).one().body);
      this.cache.set(id, value);
    }
    return value as T;
  }

  /** Deletes the snapshots that nothing keeps: no stored run pins them, and they are not `keep` (the warm configuration's). */
  forgetUnused(pinned: ReadonlySet<number>, keep: readonly number[]): void {
    if (!this.schema.readable()) return;
    const kept = new Set([...pinned, ...keep]);
    for (const { id } of this.schema.sql.exec<{ id: number }>('SELECT id FROM snapshots').toArray()) {
      if (kept.has(id)) continue;
      this.schema.sql.exec('DELETE FROM snapshots WHERE id = ?', id);
      this.cache.delete(id);
    }
  }

  /** Stores a value runs will pin (a definition an earlier run ran, for a re-run of it). */
  store(value: unknown): number {
    this.schema.writable();
    return this.schema.sql.exec<{ id: number }>('INSERT INTO snapshots (body) VALUES (?) RETURNING id', JSON.stringify(value)).one().id;
  }
}
