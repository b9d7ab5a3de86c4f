/**
 * The only module that turns a flow's wrapped key into a usable key, and so
 * the only place a secret is sealed or opened. Routes seal; the run engine
 * opens, through `openFlowSecrets`, only the secrets its definition names.
 */
import type { Env } from '../env';
import { getWrappedKey, sealedSecrets } from '../db/secrets';
import type { TenantScope } from '../db/scope';
import {
  CryptoError,
  loadMasterKeys,
  newWrappedFlowKey,
  openSecret,
  sealSecret,
  unwrapFlowKey,
  type WrappedFlowKey,
} from './envelope';
import { createMasker, EMPTY_MASKER, type Masker } from './redact';

type KeyEnv = Pick<Env, 'MASTER_KEY' | 'MASTER_KEY_PREVIOUS'>;

/** A new flow's key, wrapped under the current master key, to store with the flow. */
export async function newFlowKey(env: KeyEnv, tenantId: string, flowId: string): Promise<WrappedFlowKey> {
  return newWrappedFlowKey(await loadMasterKeys(env), tenantId, flowId);
}

async function flowKey(env: KeyEnv, scope: TenantScope, flowId: string): Promise<CryptoKey> {
  const stored = await getWrappedKey(scope, flowId);
  if (!stored) throw new CryptoError(`flow ${flowId} has no key`);
  return unwrapFlowKey(await loadMasterKeys(env), stored, scope.tenantId, flowId);
}

/** Seals a value for one secret of one flow. */
export async function sealForFlow(
  env: KeyEnv,
  scope: TenantScope,
  flowId: string,
  name: string,
  value: string,
): Promise<string> {
  return sealSecret(await flowKey(env, scope, flowId), value, scope.tenantId, flowId, name);
}

export interface OpenedSecrets {
  /** name → value, only for the requested names that exist. */
  values: Record<string, string>;
  /** name → hosts the secret may be sent to (empty: any host). */
  allowedHosts: Record<string, string[]>;
  /** Masks every opened value (and its encodings) in anything that leaves a step. */
  masker: Masker;
}

/**
 * Opens the named secrets of a flow for one of its runs: nothing else, and
 * only in memory. Names with no secret are simply absent (the step that
 * references one fails, naming it).
 */
export async function openFlowSecrets(
  env: KeyEnv,
  scope: TenantScope,
  flowId: string,
  names: ReadonlySet<string>,
): Promise<OpenedSecrets> {
  const sealed = await sealedSecrets(scope, flowId, [...names]);
  if (sealed.length === 0) return { values: {}, allowedHosts: {}, masker: EMPTY_MASKER };
  const key = await flowKey(env, scope, flowId);
  const values: Record<string, string> = {};
  const allowedHosts: Record<string, string[]> = {};
  for (const secret of sealed) {
    values[secret.name] = await openSecret(key, secret.sealed, scope.tenantId, flowId, secret.name);
    allowedHosts[secret.name] = secret.allowedHosts;
  }
  return { values, allowedHosts, masker: createMasker(new Map(Object.entries(values))) };
}
