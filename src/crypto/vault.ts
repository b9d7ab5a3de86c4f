/**
 * The only module that turns a flow's wrapped key into a usable key, and so
 * the only place a secret is sealed or opened. Routes seal; the run engine
 * opens, through a `FlowKeyring`, only the secrets a run's definition names.
 */
import type { Env } from '../env';
import { secretsQuery, wrappedKeyQuery, type SealedSecret } from '../db/secrets';
import type { TenantScope } from '../db/scope';
import { settings } from '../config';
import { CryptoError, loadMasterKeys, newWrappedFlowKey, openSecret, sealSecret, unwrapFlowKey, type WrappedFlowKey } from './envelope';
import { createMasker, EMPTY_MASKER, type Masker } from './redact';

/** A new flow's key, wrapped under the current master key, to store with the flow. */
export async function newFlowKey(env: Env, tenantId: string, flowId: string): Promise<WrappedFlowKey> {
  return newWrappedFlowKey(await loadMasterKeys(settings(env)), tenantId, flowId);
}

async function flowKey(env: Env, scope: TenantScope, flowId: string): Promise<CryptoKey> {
  return unwrapStored(env, scope.tenantId, flowId, (await wrappedKeyQuery(scope, flowId))[0]);
}

async function unwrapStored(env: Env, tenantId: string, flowId: string, stored: WrappedFlowKey | undefined) {
  if (!stored) throw new CryptoError(`flow ${flowId} has no key`);
  return unwrapFlowKey(await loadMasterKeys(settings(env)), stored, tenantId, flowId);
}

/** Seals a value for one secret of one flow. */
export async function sealForFlow(env: Env, scope: TenantScope, flowId: string, name: string, value: string): Promise<string> {
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
 * The two queries that read a flow's sealed material (to await, or to put in
 * a batch): its secrets (all of them, or exactly `names`) and its wrapped key.
 */
export function sealedMaterialQueries(scope: TenantScope, flowId: string, names?: ReadonlySet<string>) {
  return [secretsQuery(scope, flowId, names), wrappedKeyQuery(scope, flowId)] as const;
}

type SealedRow = Omit<SealedSecret, 'allowedHosts'> & { allowedHosts: string[] | null };

/** The material from the rows of `sealedMaterialQueries`. */
export function toSealedMaterial([sealed, keys]: readonly [SealedRow[], WrappedFlowKey[]]): SealedMaterial {
  return { sealed: sealed.map((s) => ({ ...s, allowedHosts: s.allowedHosts ?? [] })), key: keys[0] };
}

/**
 * One flow's secrets for its runs: the sealed material, the flow key
 * unwrapped once (in memory only, never persisted), and the secrets opened
 * per set of names a definition references, each set once. A run gets
 * exactly the names its pinned version references, and a masker for them.
 */
export class FlowKeyring {
  private key: Promise<CryptoKey> | undefined;
  private readonly opened = new Map<string, Promise<OpenedSecrets>>();

  constructor(
    private readonly env: Env,
    private readonly tenantId: string,
    private readonly flowId: string,
    private readonly material: SealedMaterial,
  ) {}

  /** The named secrets, opened (names with no secret are simply absent: the step that uses one fails, naming it). */
  open(names: ReadonlySet<string>): Promise<OpenedSecrets> {
    const wanted = this.material.sealed.filter((s) => names.has(s.name));
    if (wanted.length === 0) return Promise.resolve(NO_SECRETS);
    const cacheKey = wanted.map((s) => s.name).join('\n');
    let opened = this.opened.get(cacheKey);
    if (!opened) {
      opened = this.openAll(wanted);
      opened.catch(() => this.opened.delete(cacheKey)); // the next run tries again
      this.opened.set(cacheKey, opened);
    }
    return opened;
  }

  private async openAll(wanted: SealedSecret[]): Promise<OpenedSecrets> {
    this.key ??= unwrapStored(this.env, this.tenantId, this.flowId, this.material.key);
    this.key.catch(() => (this.key = undefined));
    const key = await this.key;
    const values: Record<string, string> = {};
    const allowedHosts: Record<string, string[]> = {};
    for (const secret of wanted) {
      values[secret.name] = await openSecret(key, secret.sealed, this.tenantId, this.flowId, secret.name);
      allowedHosts[secret.name] = secret.allowedHosts;
    }
    return { values, allowedHosts, masker: createMasker(new Map(Object.entries(values))) };
  }
}

/** Opens the named secrets of a flow, reading them from D1 (one-off use; runs keep a `FlowKeyring`). */
export async function openFlowSecrets(env: Env, scope: TenantScope, flowId: string, names: ReadonlySet<string>): Promise<OpenedSecrets> {
  if (names.size === 0) return NO_SECRETS;
  const material = toSealedMaterial(await scope.db.batch(sealedMaterialQueries(scope, flowId, names)));
  return new FlowKeyring(env, scope.tenantId, flowId, material).open(names);
}

export const NO_SECRETS: OpenedSecrets = Object.freeze({ values: {}, allowedHosts: {}, masker: EMPTY_MASKER });
