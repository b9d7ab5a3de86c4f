import { createApp } from './app';
import type { Env } from './env';
import { handleNotifications, NOTIFICATIONS_QUEUE } from './notifications/deliver';
import { rescueNotifications } from './notifications/rescue';
import { sweep } from './runs/sweep';
import { handleUploadEvents } from './triggers/r2-events';
import { startScheduledRuns } from './triggers/schedule';

export { RateLimiter } from './limits/rate-limiter';
export { FlowExecutor } from './runs/executor';

const app = createApp();

export default {
  fetch: app.fetch,

  /** Flow notifications; R2 event notifications (locally: messages from the uploads route). */
  async queue(batch, env) {
    if (batch.queue === NOTIFICATIONS_QUEUE) await handleNotifications(batch, env);
    else await handleUploadEvents(batch, env);
  },

  /** Every minute: due schedule flows, then the run sweep, notifications whose message was lost, and housekeeping. */
  async scheduled(controller, env, ctx) {
    await startScheduledRuns(env, controller.scheduledTime);
    ctx.waitUntil(sweep(env).catch((err) => console.error('sweep failed', err)));
    ctx.waitUntil(rescueNotifications(env).catch((err) => console.error('notification rescue failed', err)));
  },
} satisfies ExportedHandler<Env>;
