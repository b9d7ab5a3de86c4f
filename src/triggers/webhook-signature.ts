/**
 * Signed inbound webhooks: whether a request was signed with a flow secret,
 * the Standard Webhooks way or GitHub's. Comparison is `crypto.subtle.verify`,
 * which takes the same time for every wrong signature of a given length.
 */
import { fromBase64, toBase64, utf8 } from '../crypto/encoding';

export type WebhookVerify = { scheme: 'standard-webhooks'; secret: string } | { scheme: 'hmac-sha256'; secret: string; header: string };

/** How far a Standard Webhooks `webhook-timestamp` may be from now. */
export const TIMESTAMP_TOLERANCE_MS = 5 * 60_000;

export type Verdict = { ok: true; webhookId?: string } | { ok: false };

/**
 * Checks a request against the flow's rule, with the secret's value:
 * `standard-webhooks` needs `webhook-id`, a `webhook-timestamp` within five
 * minutes and a `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` among
 * the `webhook-signature` values; `hmac-sha256` needs the named header to be
 * `sha256=<hex HMAC-SHA256 of the body>`.
 */
export async function verifyWebhook(
  rule: WebhookVerify,
  secret: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  now: number,
): Promise<Verdict> {
  if (rule.scheme === 'hmac-sha256') {
    const match = /^sha256=([0-9a-f]{64})$/i.exec(headers[rule.header.toLowerCase()] ?? '');
    const key = await hmacKey(utf8(secret), 'verify');
    return match && (await verify(key, fromHex(match[1]!), body)) ? { ok: true } : { ok: false };
  }
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  if (!id || !timestamp || !/^\d{1,12}$/.test(timestamp)) return { ok: false };
  if (Math.abs(now - Number(timestamp) * 1000) > TIMESTAMP_TOLERANCE_MS) return { ok: false };
  const key = await hmacKey(signingKey(secret), 'verify');
  const signed = `${id}.${timestamp}.${body}`;
  for (const candidate of (headers['webhook-signature'] ?? '').split(' ')) {
    const [version, signature] = candidate.split(',');
    if (version !== 'v1' || !signature) continue;
    const bytes = decodeBase64(signature);
    if (bytes && (await verify(key, bytes, signed))) return { ok: true, webhookId: id };
  }
  return { ok: false };
}

/** The HMAC key of a secret: its UTF-8 bytes, or for `whsec_<base64>` the decoded part (as standard libraries take it). */
function signingKey(secret: string): Uint8Array<ArrayBuffer> {
  if (secret.startsWith('whsec_')) {
    const decoded = decodeBase64(secret.slice('whsec_'.length));
    if (decoded) return decoded;
  }
  return utf8(secret);
}

/**
 * The `webhook-signature` value of an outbound Standard Webhooks message:
 * `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed as inbound
 * messages are checked (so flow notifications verify with the same rule).
 */
export async function signStandardWebhook(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const key = await hmacKey(signingKey(secret), 'sign');
  const mac = await crypto.subtle.sign('HMAC', key, utf8(`${id}.${timestamp}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

function hmacKey(raw: Uint8Array<ArrayBuffer>, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

function verify(key: CryptoKey, signature: Uint8Array<ArrayBuffer>, text: string): Promise<boolean> {
  return crypto.subtle.verify('HMAC', key, signature, utf8(text));
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  try {
    return fromBase64(text);
  } catch {
    return null;
  }
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}
