import type { RunEvent } from '../runs/types';

/** Where a run's events go for the flow's viewers: the flow hub's `publish`. */
export type PublishBatch = (events: RunEvent[]) => Promise<unknown>;

/** How long events wait to be forwarded together when they come fast. */
export const FORWARD_WINDOW_MS = 5;

/**
 * Forwards a run's events to its flow hub in batches, without the run ever
 * waiting: events collect for a few milliseconds (or until the run's final
 * event) and go in one call whose result nobody awaits. A failing hub loses
 * live frames, never run state: the events are stored in the run object.
 */
export class HubForwarder {
  private pending: RunEvent[] = [];
  private timer: number | undefined;

  constructor(private readonly publish: PublishBatch) {}

  push(event: RunEvent, final: boolean): void {
    this.pending.push(event);
    if (final) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FORWARD_WINDOW_MS);
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.publish(batch).catch((err) => console.error('forwarding to the flow hub failed', err instanceof Error ? err.message : err));
  }
}
