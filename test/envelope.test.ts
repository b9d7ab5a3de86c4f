import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../src/crypto/encoding';
import {
  CryptoError,
  loadMasterKeys,
  newWrappedFlowKey,
  openSecret,
  sealSecret,
  unwrapFlowKey,
  type WrappedFlowKey,
} from '../src/crypto/envelope';
import { rewrapFlowKeys } from '../src/crypto/rotation';
import { database } from '../src/db/client';

const randomKey = () => toBase64(crypto.getRandomValues(new Uint8Array(32)));
const KEY1 = randomKey();
const KEY2 = randomKey();

function flipBit(base64: string, byteIndex: number): string {
  const bytes = fromBase64(base64);
  bytes[byteIndex]! ^= 0x01;
  return toBase64(bytes);
}

async function flowKeyFor(masterKey: string, tenant: string, flow: string) {
  const keys = await loadMasterKeys({ MASTER_KEY: masterKey });
  const wrapped = await newWrappedFlowKey(keys, tenant, flow);
  return { keys, wrapped, key: await unwrapFlowKey(keys, wrapped, tenant, flow) };
}

describe('master key loading', () => {
  it('refuses a missing, non-base64 or wrong-length MASTER_KEY with a clear error, never a fallback', async () => {
    await expect(loadMasterKeys({})).rejects.toThrow(/MASTER_KEY is not set/);
    await expect(loadMasterKeys({ MASTER_KEY: 'not base64 at all!' })).rejects.toThrow(/not base64/);
    await expect(loadMasterKeys({ MASTER_KEY: toBase64(new Uint8Array(16)) })).rejects.toThrow(/32 bytes.*got 16/);
    await expect(loadMasterKeys({ MASTER_KEY: KEY1, MASTER_KEY_PREVIOUS: 'AAAA' })).rejects.toThrow(/MASTER_KEY_PREVIOUS/);
  });

  it('derives a stable short id per key that does not reveal it', async () => {
    const a = await loadMasterKeys({ MASTER_KEY: KEY1 });
    const b = await loadMasterKeys({ MASTER_KEY: KEY1 });
    const c = await loadMasterKeys({ MASTER_KEY: KEY2 });
    expect(a.current.id).toBe(b.current.id);
    expect(a.current.id).not.toBe(c.current.id);
    expect(a.current.id).not.toContain(KEY1.slice(0, 8));
    expect(a.current.key.extractable).toBe(false);
  });
});

describe('sealing secrets', () => {
  it('round-trips values, unicode included, with a non-extractable flow key', async () => {
    const { key } = await flowKeyFor(KEY1, 'acme', 'flw_a');
    expect(key.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', key)).rejects.toThrow();
    for (const value of ['pm-server-token-123', 'ünïcødé 🔑 "quotes" \\ \n', 'x'.repeat(65536)]) {
      const sealed = await sealSecret(key, value, 'acme', 'flw_a', 'api_key');
      expect(sealed).not.toContain(value.slice(0, 8));
      expect(await openSecret(key, sealed, 'acme', 'flw_a', 'api_key')).toBe(value);
    }
  });

  it('uses a fresh IV per write: the same value seals differently every time', async () => {
    const { key } = await flowKeyFor(KEY1, 'acme', 'flw_a');
    const one = await sealSecret(key, 'same-value', 'acme', 'flw_a', 'k');
    const two = await sealSecret(key, 'same-value', 'acme', 'flw_a', 'k');
    expect(one).not.toBe(two);
    expect(one.slice(0, 16)).not.toBe(two.slice(0, 16));
  });

  it('a ciphertext copied to another name, flow or tenant fails to open', async () => {
    const { key } = await flowKeyFor(KEY1, 'acme', 'flw_a');
    const sealed = await sealSecret(key, 'secret-value', 'acme', 'flw_a', 'api_key');
    await expect(openSecret(key, sealed, 'acme', 'flw_a', 'other_name')).rejects.toThrow(CryptoError);
    await expect(openSecret(key, sealed, 'acme', 'flw_b', 'api_key')).rejects.toThrow(/failed authentication/);
    await expect(openSecret(key, sealed, 'globex', 'flw_a', 'api_key')).rejects.toThrow(CryptoError);
    // Another flow's key cannot open it even with the right labels.
    const other = await flowKeyFor(KEY1, 'acme', 'flw_b');
    await expect(openSecret(other.key, sealed, 'acme', 'flw_a', 'api_key')).rejects.toThrow(CryptoError);
  });

  it('a flipped bit anywhere fails; truncated or non-base64 input fails clearly', async () => {
    const { key } = await flowKeyFor(KEY1, 'acme', 'flw_a');
    const sealed = await sealSecret(key, 'secret-value', 'acme', 'flw_a', 'k');
    const length = fromBase64(sealed).length;
    for (const index of [0, 11, 12, length - 17, length - 1]) {
      await expect(openSecret(key, flipBit(sealed, index), 'acme', 'flw_a', 'k')).rejects.toThrow(CryptoError);
    }
    await expect(openSecret(key, sealed.slice(0, 20), 'acme', 'flw_a', 'k')).rejects.toThrow(/truncated/);
    await expect(openSecret(key, '%%%', 'acme', 'flw_a', 'k')).rejects.toThrow(/base64/);
  });
});

describe('wrapped flow keys', () => {
  it('are bound to their tenant and flow', async () => {
    const { keys, wrapped } = await flowKeyFor(KEY1, 'acme', 'flw_a');
    await expect(unwrapFlowKey(keys, wrapped, 'acme', 'flw_b')).rejects.toThrow(/failed authentication/);
    await expect(unwrapFlowKey(keys, wrapped, 'globex', 'flw_a')).rejects.toThrow(CryptoError);
    const tampered: WrappedFlowKey = { ...wrapped, wrappedKey: flipBit(wrapped.wrappedKey, 20) };
    await expect(unwrapFlowKey(keys, tampered, 'acme', 'flw_a')).rejects.toThrow(CryptoError);
  });

  it('the wrong master key fails with an error naming the key ids, not garbage', async () => {
    const { wrapped } = await flowKeyFor(KEY1, 'acme', 'flw_a');
    const wrong = await loadMasterKeys({ MASTER_KEY: KEY2 });
    await expect(unwrapFlowKey(wrong, wrapped, 'acme', 'flw_a')).rejects.toThrow(
      new RegExp(`wrapped by master key ${wrapped.kekId}, which is neither`),
    );
    // Even when the stored id is forged to match, the wrong key cannot authenticate.
    await expect(unwrapFlowKey(wrong, { ...wrapped, kekId: wrong.current.id }, 'acme', 'flw_a')).rejects.toThrow(/failed authentication/);
  });
});

describe('master key rotation', () => {
  async function storeFlowKey(masterKey: string, tenant: string, flowId: string) {
    const keys = await loadMasterKeys({ MASTER_KEY: masterKey });
    const wrapped = await newWrappedFlowKey(keys, tenant, flowId);
    const now = new Date().toISOString();
    await env.DB.prepare(
      'INSERT INTO flow_keys (flow_id, tenant_id, kek_id, wrapped_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
    )
      .bind(flowId, tenant, wrapped.kekId, wrapped.wrappedKey, now, now)
      .run();
    const key = await unwrapFlowKey(keys, wrapped, tenant, flowId);
    return sealSecret(key, `value-of-${flowId}`, tenant, flowId, 'api_key');
  }

  async function openStored(
    masterKeys: { MASTER_KEY: string; MASTER_KEY_PREVIOUS?: string },
    tenant: string,
    flowId: string,
    sealed: string,
  ) {
    const row = await env.DB.prepare('SELECT kek_id AS kekId, wrapped_key AS wrappedKey FROM flow_keys WHERE flow_id = ?')
      .bind(flowId)
      .first<WrappedFlowKey>();
    const key = await unwrapFlowKey(await loadMasterKeys(masterKeys), row!, tenant, flowId);
    return openSecret(key, sealed, tenant, flowId, 'api_key');
  }

  it('seal under key 1, rotate to key 2, rewrap, drop key 1: secrets still open; twice is harmless', async () => {
    const flows = ['flw_r1', 'flw_r2', 'flw_r3'];
    const sealed = await Promise.all(flows.map((f, i) => storeFlowKey(KEY1, i % 2 ? 'acme' : 'globex', f)));
    const rotating = { MASTER_KEY: KEY2, MASTER_KEY_PREVIOUS: KEY1 };

    // During rotation both keys open.
    expect(await openStored(rotating, 'globex', 'flw_r1', sealed[0]!)).toBe('value-of-flw_r1');

    const first = await rewrapFlowKeys(rotating, database(env.DB));
    expect(first).toEqual({ rewrapped: 3, remaining: 0, failed: 0, stranded: 0 });
    const second = await rewrapFlowKeys(rotating, database(env.DB));
    expect(second).toEqual({ rewrapped: 0, remaining: 0, failed: 0, stranded: 0 });

    for (const [i, flowId] of flows.entries()) {
      expect(await openStored({ MASTER_KEY: KEY2 }, i % 2 ? 'acme' : 'globex', flowId, sealed[i]!)).toBe(`value-of-${flowId}`);
    }
    await expect(openStored({ MASTER_KEY: KEY1 }, 'globex', 'flw_r1', sealed[0]!)).rejects.toThrow(/neither/);
  });

  it('resumes across calls when limited, and reports keys it cannot open instead of looping', async () => {
    const K3 = randomKey();
    const K4 = randomKey();
    for (let i = 0; i < 7; i++) await storeFlowKey(K3, 'acme', `flw_q${i}`);
    await env.DB.prepare("UPDATE flow_keys SET wrapped_key = ? WHERE flow_id = 'flw_q3'")
      .bind(toBase64(crypto.getRandomValues(new Uint8Array(60))))
      .run();
    await storeFlowKey(randomKey(), 'acme', 'flw_orphan');

    const rotating = { MASTER_KEY: K4, MASTER_KEY_PREVIOUS: K3 };
    const partial = await rewrapFlowKeys(rotating, database(env.DB), 3);
    expect(partial.rewrapped + partial.failed).toBe(3);
    let total = partial.rewrapped;
    let failed = partial.failed;
    for (let round = 0; round < 5; round++) {
      const next = await rewrapFlowKeys(rotating, database(env.DB), 3);
      total += next.rewrapped;
      failed = Math.max(failed, next.failed);
      if (next.rewrapped === 0) {
        expect(next.remaining).toBe(0);
        expect(next.failed).toBe(1);
        break;
      }
    }
    expect(total).toBe(6);
    expect(failed).toBe(1);
    const final = await rewrapFlowKeys(rotating, database(env.DB));
    expect(final.stranded).toBeGreaterThanOrEqual(1);
  });
});
