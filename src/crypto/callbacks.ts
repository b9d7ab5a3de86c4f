/**
 * Callback URLs of `wait_for_event` steps: anyone holding one may deliver
 * that step's event, once, without a token, so the URL carries its own
 * proof: an HMAC-SHA256 (256 bits) over the run, the block and the loop
 * items of the step, keyed by a key derived from MASTER_KEY (HKDF, its own
 * purpose). Nothing is stored; a URL made under MASTER_KEY_PREVIOUS still
 * works during a rotation.
 */
import { fromBase64, utf8 } from './encoding';

const INFO = utf8('powerflows/event-callbacks/v1');
const keys = new Map<string, Promise<CryptoKey>>();

/** The step a callback names. */
export interface CallbackTarget {
  runId: string;
  blockId: string;
  /** The indexes of the loop items around the step (empty on the main chain). */
  items: readonly number[];
}

function macKey(masterKey: string): Promise<CryptoKey> {
  let key = keys.get(masterKey);
  if (!key) {
    key = (async () => {
      const material = await crypto.subtle.importKey('raw', fromBase64(masterKey.trim()), 'HKDF', false, ['deriveKey']);
      return crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: INFO },
        material,
        { name: 'HMAC', hash: 'SHA-256', length: 256 },
        false,
        ['sign', 'verify'],
      );
    })();
    key.catch(() => keys.delete(masterKey));
    keys.set(masterKey, key);
  }
  return key;
}

const message = (target: CallbackTarget) => utf8(`${target.runId}\n${target.blockId}\n${target.items.join('.')}`);
const base64url = (bytes: ArrayBuffer) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/** The path (and query) of a step's callback URL, under the API's origin. */
export async function callbackPath(env: { MASTER_KEY?: string }, target: CallbackTarget): Promise<string> {
  if (!env.MASTER_KEY) throw new Error('MASTER_KEY is not set: callback URLs cannot be made');
  const mac = base64url(await crypto.subtle.sign('HMAC', await macKey(env.MASTER_KEY), message(target)));
  const items = target.items.length ? `?items=${target.items.join('.')}` : '';
  return `/v1/callbacks/${target.runId}/${target.blockId}/${mac}${items}`;
}

/** Whether `mac` proves `target` (under the current master key or the previous one). Constant time per key. */
export async function callbackHolds(
  env: { MASTER_KEY?: string; MASTER_KEY_PREVIOUS?: string },
  target: CallbackTarget,
  mac: string,
): Promise<boolean> {
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = fromBase64(
      mac
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(mac.length / 4) * 4, '='),
    );
  } catch {
    return false;
  }
  if (signature.length !== 32) return false;
  for (const master of [env.MASTER_KEY, env.MASTER_KEY_PREVIOUS]) {
    if (master && (await crypto.subtle.verify('HMAC', await macKey(master), signature, message(target)))) return true;
  }
  return false;
}
