/**
 * Writes run index updates to D1 in batches. Run objects report their status
 * changes through their flow's hub, which holds one of these: updates that
 * arrive within a few milliseconds of each other go to D1 in one batch (one
 * round trip, one write transaction) instead of one each. A caller's promise
 * settles when its update is committed (or failed), so the run object only
 * marks its index as synced once it really is.
 */
import { database } from '../db/client';
import { runIndexUpdate, type RunIndexFields } from '../db/runs';
import type { Env } from '../env';

/** How long an update waits for others to share its batch. */
export const INDEX_BATCH_WINDOW_MS = 5;
/** Statements per D1 batch. */
const MAX_BATCH = 100;

export interface RunIndexChange {
  tenantId: string;
  runId: string;
  fields: RunIndexFields;
}

interface Pending {
  change: RunIndexChange;
  settle: (error?: unknown) => void;
}

export class IndexBatcher {
  private pending: Pending[] = [];
  private timer: number | undefined;

  constructor(private readonly env: Pick<Env, 'DB'>) {}

  record(change: RunIndexChange): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ change, settle: (error) => (error === undefined ? resolve() : reject(error)) });
      this.timer ??= setTimeout(() => void this.flush(), INDEX_BATCH_WINDOW_MS);
    });
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      const db = database(this.env.DB);
      const statements = batch.map(({ change }) =>
        runIndexUpdate({ db, tenantId: change.tenantId, actor: 'run-index' }, change.runId, change.fields),
      );
      try {
        await db.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]]);
        for (const item of batch) item.settle();
      } catch (err) {
        for (const item of batch) item.settle(err ?? new Error('index batch failed'));
      }
    }
  }
}
