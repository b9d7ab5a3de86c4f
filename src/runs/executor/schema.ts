/**
 * The schema of a flow executor's own SQLite: one ordered list of
 * migrations (executors live for weeks, so a new version meets old data),
 * `MIGRATIONS[i]` taking version i to i + 1. It is created lazily, on the
 * first write: a request that names a run this object never had (another
 * tenant's guess, a made-up id) reads an empty object and leaves no storage
 * behind. The parts of the executor each own their tables within it.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     tenant_id TEXT NOT NULL,
     flow_version INTEGER NOT NULL,
     definition_ref INTEGER NOT NULL,
     variables_ref INTEGER NOT NULL,
     trigger_type TEXT NOT NULL,
     payload TEXT NOT NULL,
     actor TEXT NOT NULL,
     created_at TEXT NOT NULL,
     status TEXT NOT NULL,
     cursor TEXT,
     started_at TEXT,
     finished_at TEXT,
     error TEXT,
     wake_at INTEGER NOT NULL,
     cancel_requested INTEGER NOT NULL
   );
   CREATE INDEX runs_wake ON runs (wake_at);
   CREATE INDEX runs_status ON runs (status);
   CREATE TABLE steps (
     run_id TEXT NOT NULL,
     block_id TEXT NOT NULL,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     executions INTEGER NOT NULL,
     started_at TEXT,
     finished_at TEXT,
     output TEXT,
     error TEXT,
     PRIMARY KEY (run_id, block_id)
   );
   CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (run_id, seq));
   CREATE TABLE snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
   CREATE TABLE dedupe (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE INDEX dedupe_age ON dedupe (created_at);
   CREATE TABLE index_outbox (run_id TEXT PRIMARY KEY, rev INTEGER NOT NULL, audit_id TEXT);`,
  // The tenant's environment a run pinned; null for runs started before there was one.
  'ALTER TABLE runs ADD COLUMN env_ref INTEGER;',
  // Engine v3: frames (one pass through a chain) replace the run's cursor, and a step's key is its block id and
  // the item indexes around it (JSON), no longer `<block>@<i>.<j>` in one string. A waiting run's wait moves to
  // its step: a delay's end, or the child run a trigger_flow step waits for (read from the pinned definition).
  `CREATE TABLE frames (
     run_id TEXT NOT NULL,
     loop_id TEXT NOT NULL,
     items TEXT NOT NULL,
     cursor TEXT,
     status TEXT NOT NULL,
     item TEXT,
     last TEXT,
     error TEXT,
     PRIMARY KEY (run_id, loop_id, items)
   );
   INSERT INTO frames (run_id, loop_id, items, cursor, status)
     SELECT id, '', '[]', cursor,
       CASE status WHEN 'succeeded' THEN 'succeeded' WHEN 'failed' THEN 'failed' WHEN 'cancelled' THEN 'failed' ELSE 'active' END
     FROM runs;
   CREATE TABLE steps_v3 (
     run_id TEXT NOT NULL,
     block_id TEXT NOT NULL,
     items TEXT NOT NULL,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     executions INTEGER NOT NULL,
     started_at TEXT,
     finished_at TEXT,
     output TEXT,
     error TEXT,
     wake_at INTEGER,
     wait TEXT,
     loop TEXT,
     reused INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (run_id, block_id, items)
   );
   INSERT INTO steps_v3 (run_id, block_id, items, status, attempts, executions, started_at, finished_at, output, error)
     SELECT run_id,
       CASE WHEN instr(block_id, '@') > 0 THEN substr(block_id, 1, instr(block_id, '@') - 1) ELSE block_id END,
       CASE WHEN instr(block_id, '@') > 0 THEN '[' || replace(substr(block_id, instr(block_id, '@') + 1), '.', ',') || ']' ELSE '[]' END,
       status, attempts, executions, started_at, finished_at, output, error
     FROM steps;
   DROP TABLE steps;
   ALTER TABLE steps_v3 RENAME TO steps;
   UPDATE steps SET
     status = 'waiting',
     wake_at = (SELECT wake_at FROM runs WHERE runs.id = steps.run_id),
     wait = (
       SELECT CASE json_extract(block.value, '$.type')
         WHEN 'trigger_flow' THEN json_object(
           'kind', 'child',
           'runId', json_extract(steps.output, '$.runId'),
           'until', CAST(strftime('%s', steps.started_at) AS INTEGER) * 1000
             + coalesce(json_extract(block.value, '$.params.timeoutSeconds'), 300) * 1000)
         ELSE json_object('kind', 'delay') END
       FROM runs JOIN snapshots ON snapshots.id = runs.definition_ref, json_each(snapshots.body, '$.blocks') AS block
       WHERE runs.id = steps.run_id AND json_extract(block.value, '$.id') = steps.block_id)
   WHERE items = '[]' AND EXISTS (SELECT 1 FROM runs WHERE runs.id = steps.run_id AND runs.status = 'waiting' AND runs.cursor = steps.block_id);
   ALTER TABLE runs DROP COLUMN cursor;
   ALTER TABLE runs ADD COLUMN output_bytes INTEGER NOT NULL DEFAULT 0;`,
  // The run a re-run re-runs.
  'ALTER TABLE runs ADD COLUMN rerun_of TEXT;',
];

export class ExecutorSchema {
  private ready = false;

  constructor(private readonly storage: DurableObjectStorage) {}

  get sql(): SqlStorage {
    return this.storage.sql;
  }

  transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(fn);
  }

  /** Whether this object has ever stored anything (reads of an empty object create nothing). */
  readable(): boolean {
    if (this.ready) return true;
    const found = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").toArray();
    if (found.length === 0) return false;
    this.migrate();
    return true;
  }

  /** Creates or migrates the schema before a write. */
  writable(): void {
    if (this.ready) return;
    this.sql.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    this.migrate();
  }

  private migrate(): void {
    this.transaction(() => {
      const row = this.sql.exec<{ version: number }>('SELECT version FROM schema_version').toArray()[0];
      const from = row?.version ?? 0;
      for (let version = from; version < MIGRATIONS.length; version++) this.sql.exec(MIGRATIONS[version]!);
      if (!row) this.sql.exec('INSERT INTO schema_version (version) VALUES (?)', MIGRATIONS.length);
      else if (from < MIGRATIONS.length) this.sql.exec('UPDATE schema_version SET version = ?', MIGRATIONS.length);
    });
    this.ready = true;
  }
}
