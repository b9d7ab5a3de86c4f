import type { Env } from '../env';

const DEFAULT_RETENTION_DAYS = 30;

/** How long a finished run is kept: its steps and events in its object, its row in the index. */
export function retentionMs(env: Pick<Env, 'RUN_RETENTION_DAYS'>): number {
  const days = Number(env.RUN_RETENTION_DAYS ?? DEFAULT_RETENTION_DAYS);
  return (Number.isFinite(days) && days > 0 ? days : DEFAULT_RETENTION_DAYS) * 86_400_000;
}
