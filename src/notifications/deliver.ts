/**
 * The notifications queue consumer: one attempt per message. It claims the
 * run's delivery (`store.ts`), POSTs the stored body to the stored URL the
 * Standard Webhooks way (signed with the flow's secret when the version the
 * run ran names one), records the outcome, and on failure asks the queue to
 * bring the message back after the next backoff delay. After the last
 * attempt, or an attempt that can never succeed (a refused address), the
 * delivery is `failed`.
 *
 * Egress follows http_request's rules: no private, loopback or link-local
 * address unless `ALLOW_PRIVATE_EGRESS` (development), and redirects are
 * never followed (a 3xx is a failed attempt). The signing secret is opened
 * through the vault and never sent, so its `allowedHosts` do not apply; every
 * error text recorded is masked against it.
 */
import { settings } from '../config';
import { EMPTY_MASKER, type Masker } from '../crypto/redact';
import { openFlowSecrets } from '../crypto/vault';
import { database } from '../db/client';
import { tenantScope } from '../db/scope';
import type { Env } from '../env';
import { isPrivateHost } from '../lib/egress';
import { signStandardWebhook } from '../triggers/webhook-signature';
import { claimDelivery, type DeliveryRow, type DeliveryStatus, recordAttempt } from './store';

/** The queue's name in wrangler.toml (the Worker's queue handler dispatches on it). */
export const NOTIFICATIONS_QUEUE = 'notifications';

/** Seconds before each retry: five retries over 15.5 minutes. */
export const RETRY_DELAYS_SECONDS = [30, 60, 120, 240, 480] as const;
/** The first attempt and its retries. */
export const MAX_ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;
/** How long one attempt may take. */
export const ATTEMPT_TIMEOUT_MS = 10_000;
/** How long a claim keeps others off a delivery (longer than an attempt can take). */
export const CLAIM_MS = 60_000;
/** A retried message may come back this much before its delivery is due (clocks differ). */
const EARLY_MS = 5_000;
/** When a message whose handling threw (D1 unreachable, say) comes back: after its claim has lapsed. */
const ERROR_RETRY_SECONDS = 90;
const MAX_ERROR_CHARS = 1024;

/** What one attempt came to. */
interface AttemptOutcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /** An attempt that would fail the same way every time (a refused address): no retry. */
  permanent?: boolean;
}

export async function handleNotifications(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      const runId = runIdOf(message.body);
      if (runId === null) {
        console.error('malformed notification message dropped');
        message.ack();
        return;
      }
      try {
        const retryIn = await attemptDelivery(env, runId, Date.now());
        if (retryIn === null) message.ack();
        else message.retry({ delaySeconds: retryIn });
      } catch (err) {
        console.error('notification attempt failed; retrying', runId, err instanceof Error ? err.message : err);
        message.retry({ delaySeconds: ERROR_RETRY_SECONDS });
      }
    }),
  );
}

function runIdOf(body: unknown): string | null {
  const runId = typeof body === 'object' && body !== null ? (body as { runId?: unknown }).runId : undefined;
  return typeof runId === 'string' && runId.length > 0 && runId.length <= 128 ? runId : null;
}

/**
 * Makes the next attempt of a run's delivery if it is pending and due.
 * Returns the seconds after which the message should come back for the next
 * attempt, or null when there is nothing more for this message to do
 * (delivered, failed for good, not due, or held by another message).
 */
export async function attemptDelivery(env: Env, runId: string, now: number): Promise<number | null> {
  const db = database(env.DB);
  const claimed = await claimDelivery(db, runId, now + EARLY_MS, now + CLAIM_MS);
  if (!claimed) return null;
  const outcome = await send(env, claimed, now);
  const attempts = claimed.attempts + 1;
  const status: DeliveryStatus = outcome.ok ? 'delivered' : outcome.permanent || attempts >= MAX_ATTEMPTS ? 'failed' : 'pending';
  const retryIn = status === 'pending' ? RETRY_DELAYS_SECONDS[attempts - 1]! : null;
  const recorded = await recordAttempt(db, claimed, {
    status,
    attempts,
    lastStatusCode: outcome.statusCode,
    lastError: outcome.error,
    nextAttemptAt: retryIn === null ? Date.now() : now + retryIn * 1000,
  });
  return recorded ? retryIn : null;
}

/** One attempt: the egress rule, the signature, the POST. Never throws; errors come back masked. */
async function send(env: Env, delivery: DeliveryRow, now: number): Promise<AttemptOutcome> {
  let masker: Masker = EMPTY_MASKER;
  const failed = (error: string, extra: Partial<AttemptOutcome> = {}): AttemptOutcome => ({
    ok: false,
    statusCode: null,
    ...extra,
    error: cut(masker, masker.mask(error)),
  });

  let url: URL;
  try {
    url = new URL(delivery.url);
  } catch {
    return failed('the notification URL is not valid', { permanent: true });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return failed('the notification URL is not http(s)', { permanent: true });

  const signing = delivery.signingSecret ? await openSigningSecret(env, delivery, delivery.signingSecret) : null;
  masker = signing?.masker ?? EMPTY_MASKER;
  // Checked with the masker known: the error names the host.
  if (!settings(env).ALLOW_PRIVATE_EGRESS && isPrivateHost(url.hostname)) {
    return failed(`notifications to private, loopback or link-local addresses are not allowed (${url.hostname})`, { permanent: true });
  }

  const timestamp = Math.floor(now / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'PowerFlows-Notifications/1',
    'webhook-id': delivery.id,
    'webhook-timestamp': String(timestamp),
  };
  if (signing) {
    if (signing.value === undefined) return failed(signing.problem);
    headers['webhook-signature'] = await signStandardWebhook(signing.value, delivery.id, timestamp, delivery.body);
  }

  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body: delivery.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { ok: true, statusCode: response.status, error: null };
    const redirect = response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : '';
    return failed(`HTTP ${response.status}${redirect}`, { statusCode: response.status });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    return failed(
      timedOut ? `timed out after ${ATTEMPT_TIMEOUT_MS / 1000} s` : `network error: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** The signing secret (through the vault, like a run's), its masker, or why it cannot be had. */
async function openSigningSecret(
  env: Env,
  delivery: DeliveryRow,
  name: string,
): Promise<{ value: string | undefined; masker: Masker; problem: string }> {
  const scope = tenantScope(env, { tenantId: delivery.tenantId, sub: 'notifications' });
  try {
    const opened = await openFlowSecrets(env, scope, delivery.flowId, new Set([name]));
    return { value: opened.values[name], masker: opened.masker, problem: `the signing secret "${name}" does not exist` };
  } catch {
    return { value: undefined, masker: EMPTY_MASKER, problem: `the signing secret "${name}" could not be opened` };
  }
}

/** Masked text cut at the limit, leaving no start of a secret at the cut. */
const cut = (masker: Masker, text: string): string =>
  text.length > MAX_ERROR_CHARS ? `${masker.trimPartial(text.slice(0, MAX_ERROR_CHARS))}…` : text;
