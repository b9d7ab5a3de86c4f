import { createApp } from './app';
import type { Env } from './env';

export { FlowHub } from './runs/flow-hub';
export { RunObject } from './runs/run-object';

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
