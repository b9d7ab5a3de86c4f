import { notificationRoutes } from '../notifications/routes';
import { adminRoutes } from './admin';
import { auditRoutes } from './audit';
import { blockRoutes } from './blocks';
import { envRoutes } from './env';
import { flowRoutes } from './flows';
import { hookRoutes } from './hooks';
import { liveRoutes } from './live';
import { rerunRoutes } from './reruns';
import { runEventRoutes } from './run-events';
import { runRoutes } from './runs';
import { secretRoutes } from './secrets';
import { uploadRoutes } from './uploads';
import { variableRoutes } from './variables';

/**
 * Every router of the REST API, mounted under `/v1` in this order by
 * `createApp`; `AppType` (the typed client's view of the API) is built from
 * the same list, so a new router is one line here.
 */
export const V1_ROUTERS = [
  flowRoutes,
  blockRoutes,
  secretRoutes,
  variableRoutes,
  notificationRoutes,
  envRoutes,
  runRoutes,
  runEventRoutes,
  rerunRoutes,
  liveRoutes,
  hookRoutes,
  uploadRoutes,
  auditRoutes,
  adminRoutes,
] as const;
