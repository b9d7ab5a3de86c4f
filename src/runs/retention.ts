import { settings } from '../config';
import type { Env } from '../env';

/** How long a finished run is kept: its steps and events in its object, its row in the index. */
export const retentionMs = (env: Env): number => settings(env).RUN_RETENTION_DAYS * 86_400_000;
