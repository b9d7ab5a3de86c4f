import { createApp } from './app';
import type { Env } from './env';
import { sweep } from './runs/sweep';
import { handleUploadEvents } from './triggers/r2-events';
import { startScheduledRuns } from './triggers/schedule';

export { RateLimiter } from './limits/rate-limiter';
export { FlowExecutor } from './runs/executor';

const app = createApp();

export default {
  fetch: app.fetch,

  /** R2 event notifications (locally: messages from the uploads route). */
  async queue(batch, env) {
    await handleUploadEvents(batch, env);
  },

  /** Every minute: due schedule flows, then the run sweep and housekeeping. */
  async scheduled(controller, env, ctx) {
    await startScheduledRuns(env, controller.scheduledTime);
    ctx.waitUntil(sweep(env).catch((err) => console.error('sweep failed', err)));
  },
} satisfies ExportedHandler<Env>;
