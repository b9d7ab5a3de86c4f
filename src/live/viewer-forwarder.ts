/** Where events (JSON frames) go for the flow's viewers: shard 0's `publish`. */
export type PublishBatch = (frames: string[]) => Promise<unknown>;

/** How long events wait to be forwarded together when they come fast. */
export const FORWARD_WINDOW_MS = 5;
/** Frames held while a call is in flight; past this the oldest are dropped (viewers are told by a gap in seq). */
export const MAX_PENDING_FRAMES = 10_000;

/**
 * Forwards an executor shard's events to the shard that hosts the flow's
 * viewers (shard 0), in batches, without a run ever waiting: events collect
 * for a few milliseconds (or until a run's final event) and go in one call
 * that nobody awaits. One call is in flight at a time, and the next waits
 * for it: separate calls are not delivered in the order they were made, and
 * each run's events must reach its viewers in seq order. A failed call loses
 * live frames, never run state: the events are stored in the executor.
 */
export class ViewerForwarder {
  private pending: string[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sending = false;

  constructor(private readonly publish: PublishBatch) {}

  push(frames: readonly string[], final: boolean): void {
    this.pending.push(...frames);
    if (this.pending.length > MAX_PENDING_FRAMES) this.pending.splice(0, this.pending.length - MAX_PENDING_FRAMES);
    if (final) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FORWARD_WINDOW_MS);
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sending || this.pending.length === 0) return; // what is pending goes when the call in flight returns
    const batch = this.pending;
    this.pending = [];
    this.sending = true;
    this.publish(batch)
      .catch((err) => console.error('forwarding to the flow viewers failed', err instanceof Error ? err.message : err))
      .finally(() => {
        this.sending = false;
        this.flush();
      });
  }
}
