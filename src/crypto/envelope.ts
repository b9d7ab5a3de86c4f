/**
 * Envelope encryption for flow secrets, with WebCrypto only.
 *
 *   master key (MASTER_KEY, a Worker secret)
 *     └─ wraps ─ flow key (random AES-256-GCM, one per flow; stored only wrapped)
 *                  └─ seals ─ secret values (AES-256-GCM)
 *
 * Every ciphertext carries associated data naming what it belongs to: a
 * wrapped flow key is bound to its tenant and flow, a sealed secret to its
 * tenant, flow and name. A ciphertext copied to another row, flow or tenant
 * fails authentication instead of decrypting. Keys are imported
 * non-extractable; the flow key is extractable only for the instant it is
 * wrapped after generation.
 *
 * Stored forms are base64 of `iv (12 bytes) || ciphertext+tag`.
 */
import { concat, fromBase64, toBase64, utf8 } from './encoding';

const IV_BYTES = 12;
const MASTER_KEY_BYTES = 32;

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
}

export interface MasterKey {
  /** Short id derived from the key (not reversible), stored beside every key it wraps. */
  id: string;
  key: CryptoKey;
}

export interface MasterKeys {
  current: MasterKey;
  previous?: MasterKey;
}

export interface WrappedFlowKey {
  kekId: string;
  wrappedKey: string;
}

const masterKeyCache = new Map<string, Promise<MasterKey>>();

/**
 * The master keys from the environment. Throws a clear CryptoError when
 * MASTER_KEY is missing or not 32 bytes of base64: there is no fallback key.
 */
export async function loadMasterKeys(env: { MASTER_KEY?: string; MASTER_KEY_PREVIOUS?: string }): Promise<MasterKeys> {
  if (!env.MASTER_KEY) throw new CryptoError('MASTER_KEY is not set: flow secrets cannot be used');
  const current = await importMasterKey(env.MASTER_KEY, 'MASTER_KEY');
  if (!env.MASTER_KEY_PREVIOUS) return { current };
  const previous = await importMasterKey(env.MASTER_KEY_PREVIOUS, 'MASTER_KEY_PREVIOUS');
  return previous.id === current.id ? { current } : { current, previous };
}

function importMasterKey(base64: string, name: string): Promise<MasterKey> {
  let cached = masterKeyCache.get(base64);
  if (!cached) {
    cached = (async () => {
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = fromBase64(base64.trim());
      } catch {
        throw new CryptoError(`${name} is not base64`);
      }
      if (bytes.length !== MASTER_KEY_BYTES) {
        throw new CryptoError(`${name} must be ${MASTER_KEY_BYTES} bytes of base64 (got ${bytes.length} bytes)`);
      }
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', concat(utf8('powerflows/kek-id/v1'), bytes)));
      const id = `kek_${toBase64(digest.subarray(0, 9)).replace(/\+/g, '-').replace(/\//g, '_')}`;
      const key = await crypto.subtle.importKey('raw', bytes, 'AES-GCM', false, ['wrapKey', 'unwrapKey']);
      return { id, key };
    })();
    cached.catch(() => masterKeyCache.delete(base64));
    masterKeyCache.set(base64, cached);
  }
  return cached;
}

const flowKeyAad = (tenantId: string, flowId: string) => utf8(`powerflows/flow-key/v1\0${tenantId}\0${flowId}`);
const secretAad = (tenantId: string, flowId: string, name: string) => utf8(`powerflows/secret/v1\0${tenantId}\0${flowId}\0${name}`);

/** A new random flow key, returned only wrapped under the current master key. */
export async function newWrappedFlowKey(keys: MasterKeys, tenantId: string, flowId: string): Promise<WrappedFlowKey> {
  const flowKey = (await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt'])) as CryptoKey;
  return wrapFlowKey(keys.current, flowKey, tenantId, flowId);
}

async function wrapFlowKey(kek: MasterKey, flowKey: CryptoKey, tenantId: string, flowId: string): Promise<WrappedFlowKey> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const wrapped = await crypto.subtle.wrapKey('raw', flowKey, kek.key, {
    name: 'AES-GCM',
    iv,
    additionalData: flowKeyAad(tenantId, flowId),
  });
  return { kekId: kek.id, wrappedKey: toBase64(concat(iv, new Uint8Array(wrapped))) };
}

/**
 * Unwraps a flow key with whichever master key wrapped it. `extractable` is
 * only for re-wrapping during rotation; runs get a non-extractable key.
 */
export async function unwrapFlowKey(
  keys: MasterKeys,
  stored: WrappedFlowKey,
  tenantId: string,
  flowId: string,
  extractable = false,
): Promise<CryptoKey> {
  const kek = [keys.current, keys.previous].find((k) => k?.id === stored.kekId);
  if (!kek) {
    throw new CryptoError(
      `flow key of ${flowId} is wrapped by master key ${stored.kekId}, which is neither MASTER_KEY nor MASTER_KEY_PREVIOUS`,
    );
  }
  const bytes = decodeStored(stored.wrappedKey, 'wrapped flow key');
  try {
    return await crypto.subtle.unwrapKey(
      'raw',
      bytes.subarray(IV_BYTES),
      kek.key,
      { name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES), additionalData: flowKeyAad(tenantId, flowId) },
      { name: 'AES-GCM', length: 256 },
      extractable,
      ['encrypt', 'decrypt'],
    );
  } catch {
    throw new CryptoError(`flow key of ${flowId} failed authentication (tampered, or bound to another flow or tenant)`);
  }
}

/** Re-wraps a flow key under the current master key; the secrets it seals are untouched. */
export async function rewrapFlowKey(keys: MasterKeys, stored: WrappedFlowKey, tenantId: string, flowId: string): Promise<WrappedFlowKey> {
  const flowKey = await unwrapFlowKey(keys, stored, tenantId, flowId, true);
  return wrapFlowKey(keys.current, flowKey, tenantId, flowId);
}

/** Seals a secret value under its flow key with a fresh IV. */
export async function sealSecret(flowKey: CryptoKey, value: string, tenantId: string, flowId: string, name: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: secretAad(tenantId, flowId, name) },
    flowKey,
    utf8(value),
  );
  return toBase64(concat(iv, new Uint8Array(sealed)));
}

export async function openSecret(flowKey: CryptoKey, sealed: string, tenantId: string, flowId: string, name: string): Promise<string> {
  const bytes = decodeStored(sealed, `secret "${name}"`);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES), additionalData: secretAad(tenantId, flowId, name) },
      flowKey,
      bytes.subarray(IV_BYTES),
    );
    return new TextDecoder().decode(plain);
  } catch {
    throw new CryptoError(`secret "${name}" failed authentication (tampered, or copied from another flow, tenant or name)`);
  }
}

function decodeStored(text: string, what: string): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = fromBase64(text);
  } catch {
    throw new CryptoError(`${what} is not valid base64`);
  }
  if (bytes.length <= IV_BYTES + 16) throw new CryptoError(`${what} is truncated`);
  return bytes;
}
