/**
 * The only module that turns a flow's wrapped key into a usable key, and so
 * the only place a secret is sealed or opened. Routes seal; the run engine
 * opens, through `openFlowSecrets`, only the secrets its definition names.
 */
import type { Env } from '../env';
import { mentionedSecretsQuery, namedSecretsQuery, wrappedKeyQuery, type SealedSecret } from '../db/secrets';
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
  return unwrapStored(env, scope.tenantId, flowId, (await wrappedKeyQuery(scope, flowId))[0]);
}

async function unwrapStored(env: KeyEnv, tenantId: string, flowId: string, stored: WrappedFlowKey | undefined) {
  if (!stored) throw new CryptoError(`flow ${flowId} has no key`);
  return unwrapFlowKey(await loadMasterKeys(env), stored, tenantId, flowId);
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

/** A flow's sealed secrets and wrapped key as read from D1: still encrypted, safe to pass around in memory. */
export interface SealedMaterial {
  sealed: SealedSecret[];
  key: WrappedFlowKey | undefined;
}

/**
 * The two queries that read a flow's sealed material: the secrets its
 * current blocks mention (for the batch that starts a run, where the flow is
 * read in the same transaction), or exactly `names` (for a pinned version
 * read again later), and the wrapped key.
 */
export function sealedMaterialQueries(scope: TenantScope, flowId: string, names?: ReadonlySet<string>) {
  const sealed = names ? namedSecretsQuery(scope, flowId, names) : mentionedSecretsQuery(scope, flowId);
  return [sealed, wrappedKeyQuery(scope, flowId)] as const;
}

type SealedRow = Omit<SealedSecret, 'allowedHosts'> & { allowedHosts: string[] | null };

/** The material of exactly the `names` a run references, from the rows of `sealedMaterialQueries`. */
export function toSealedMaterial(
  [sealed, keys]: readonly [SealedRow[], WrappedFlowKey[]],
  names: ReadonlySet<string>,
): SealedMaterial {
  return {
    sealed: sealed.filter((s) => names.has(s.name)).map((s) => ({ ...s, allowedHosts: s.allowedHosts ?? [] })),
    key: keys[0],
  };
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
  if (names.size === 0) return NO_SECRETS;
  const rows = await scope.db.batch(sealedMaterialQueries(scope, flowId, names));
  return openSealedMaterial(env, scope.tenantId, flowId, toSealedMaterial(rows, names));
}

/** Decrypts material read earlier (see `sealedMaterialQueries`). */
export async function openSealedMaterial(
  env: KeyEnv,
  tenantId: string,
  flowId: string,
  material: SealedMaterial,
): Promise<OpenedSecrets> {
  if (material.sealed.length === 0) return NO_SECRETS;
  const key = await unwrapStored(env, tenantId, flowId, material.key);
  const values: Record<string, string> = {};
  const allowedHosts: Record<string, string[]> = {};
  for (const secret of material.sealed) {
    values[secret.name] = await openSecret(key, secret.sealed, tenantId, flowId, secret.name);
    allowedHosts[secret.name] = secret.allowedHosts;
  }
  return { values, allowedHosts, masker: createMasker(new Map(Object.entries(values))) };
}

export const NO_SECRETS: OpenedSecrets = Object.freeze({ values: {}, allowedHosts: {}, masker: EMPTY_MASKER });
