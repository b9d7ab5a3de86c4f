/** A block's retry policy (contract 1.2, "Retry policy on any block"). */
export interface RetryPolicy {
  /** How many times a failed step is tried again (0–10). */
  attempts: number;
  backoffSeconds?: number | undefined;
  factor?: number | undefined;
  maxBackoffSeconds?: number | undefined;
}

export const DEFAULT_BACKOFF_SECONDS = 5;
export const DEFAULT_BACKOFF_FACTOR = 2;

/**
 * How long a step waits before its next attempt, after `attempts` tries
 * (1 after the first), or null when the policy has no attempt left:
 * `backoffSeconds × factor^(tries − 1)`, at most `maxBackoffSeconds`.
 */
export function retryDelayMs(policy: RetryPolicy | undefined, attempts: number): number | null {
  if (!policy || attempts > policy.attempts) return null;
  const base = policy.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS;
  const seconds = base * (policy.factor ?? DEFAULT_BACKOFF_FACTOR) ** Math.max(0, attempts - 1);
  return Math.round(Math.min(seconds, policy.maxBackoffSeconds ?? Number.POSITIVE_INFINITY) * 1000);
}
