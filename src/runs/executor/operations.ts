/**
 * What tests and the benchmark may ask of an executor, apart from its
 * production RPC surface: `stub.operations()` hands this out in development
 * and tests, and refuses in production.
 */
import { RpcTarget } from 'cloudflare:workers';
import type { IndexOutbox } from './index-outbox';
import type { ViewerHub } from './viewer-hub';

/** What an executor counts since its instance started: its D1 round trips are `configLoads + indexBatches`. */
export interface ExecutorStats {
  runsStarted: number;
  /** D1 read batches: the flow's configuration, loaded cold or after an invalidation. */
  configLoads: number;
  /** D1 write batches (round trips) of the run index. */
  indexBatches: number;
  /** Run status changes those batches carried. */
  indexedChanges: number;
}

interface Host {
  outbox: IndexOutbox;
  viewers: ViewerHub;
  counters: { runsStarted: number; configLoads: number };
  /** The ids of the runs held in memory. */
  heldRuns(): string[];
}

export class ExecutorOperations extends RpcTarget {
  constructor(private readonly host: Host) {
    super();
  }

  /** Writes the run index changes still pending now, instead of within the next second. */
  async writeIndexNow(): Promise<void> {
    await this.host.outbox.flushNow();
  }

  /** Counters since this instance started (the benchmark's D1 round trips per run). */
  stats(): ExecutorStats {
    return { ...this.host.counters, ...this.host.outbox.counters };
  }

  /** How many flow viewers are connected. */
  viewerCount(): number {
    return this.host.viewers.flowViewerCount();
  }

  /** The runs held in memory (a waiting run with nothing in flight is not). */
  heldRuns(): string[] {
    return this.host.heldRuns();
  }
}
