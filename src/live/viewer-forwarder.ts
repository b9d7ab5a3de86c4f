/** Where events (JSON frames) go for the flow's viewers: shard 0's `publish`. */
export type PublishBatch = (frames: string[]) => Promise<unknown>;

/** How long events wait to be forwarded together when they come fast. */
export const FORWARD_WINDOW_MS = 5;

/**
 * Forwards an executor shard's events to the shard that hosts the flow's
 * viewers (shard 0), in batches, without a run ever waiting: events collect
 * for a few milliseconds (or until a run's final event) and go in one call
 * whose result nobody awaits. A failed call loses live frames, never run
 * state: the events are stored in the executor.
 */
export class ViewerForwarder {
  private pending: string[] = [];
  private timer: number | undefined;

  constructor(private readonly publish: PublishBatch) {}

  push(frames: readonly string[], final: boolean): void {
    this.pending.push(...frames);
    if (final) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FORWARD_WINDOW_MS);
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.publish(batch).catch((err) => console.error('forwarding to the flow viewers failed', err instanceof Error ? err.message : err));
  }
}
