/**
 * What a flow executor keeps warm so that a run of a warm flow makes no
 * synchronous D1 round trip: the flow's current definition and version, its
 * variables, its tenant's environment variables, its sealed secrets and
 * (unwrapped once, in memory only) its key.
 *
 * Every write to the flow, its secrets, its variables or the tenant's
 * environment invalidates it (the route that writes calls `invalidate` on
 * each of the flow's executors, on those of every flow of the tenant for the
 * environment, before it answers), so a run triggered after a write sees
 * that write. A maximum age bounds staleness should an invalidation ever be
 * lost.
 */
import { FlowKeyring, sealedMaterialQueries, toSealedMaterial } from '../crypto/vault';
import { definitionOf, flowQuery } from '../db/flows';
import { tenantScope } from '../db/scope';
import { envValuesQuery, toEnvValues } from '../db/tenant-env';
import { toVariableValues, variableValuesQuery } from '../db/variables';
import type { Env } from '../env';
import type { FlowDefinition } from '../flows/definition';

export interface FlowConfig {
  tenantId: string;
  flowId: string;
  version: number;
  enabled: boolean;
  /** The flow's webhook (a webhook flow's only). */
  hookId: string | null;
  definition: FlowDefinition;
  variables: Record<string, string>;
  /** The tenant's environment variables (`{{ENV.<name>}}`). */
  env: Record<string, string>;
  keyring: FlowKeyring;
  /** Ids of the definition's, the variables' and the environment's snapshots in the executor's storage, once a run has stored them. */
  refs?: { definition: number; variables: number; env: number };
}

/** Reads a flow's current configuration in one D1 batch; null when the tenant has no such flow. */
export async function loadFlowConfig(env: Env, tenantId: string, flowId: string): Promise<FlowConfig | null> {
  const scope = tenantScope(env, { tenantId, sub: 'executor' });
  const [flows, variableRows, envRows, sealed, keys] = await scope.db.batch([
    flowQuery(scope, flowId),
    variableValuesQuery(scope, flowId),
    envValuesQuery(scope),
    ...sealedMaterialQueries(scope, flowId),
  ]);
  const flow = flows[0];
  if (!flow) return null;
  return {
    tenantId,
    flowId,
    version: flow.version,
    enabled: flow.enabled,
    hookId: flow.triggerType === 'webhook' ? flow.hookId : null,
    definition: definitionOf(flow),
    variables: toVariableValues(variableRows),
    env: toEnvValues(envRows),
    keyring: new FlowKeyring(env, tenantId, flowId, toSealedMaterial([sealed, keys])),
  };
}

/**
 * The executor's cache of its flow's configuration. A flow belongs to one
 * tenant for life: once a load has found it, requests in any other tenant
 * get null without touching D1. A load that finds nothing is not cached. A
 * load overtaken by an invalidation is done again, so nothing read before a
 * write (a deleted flow's key, say) is handed out after it.
 */
export class FlowConfigCache {
  private owner: string | undefined;
  private current: { tenantId: string; loadedAt: number; config: Promise<FlowConfig | null> } | undefined;
  private generation = 0;

  constructor(
    private readonly load: (tenantId: string) => Promise<FlowConfig | null>,
    private readonly maxAgeMs: number,
  ) {}

  get(tenantId: string, now: number): Promise<FlowConfig | null> {
    if (this.owner !== undefined && this.owner !== tenantId) return Promise.resolve(null);
    const current = this.current;
    if (current && current.tenantId === tenantId && now - current.loadedAt < this.maxAgeMs) return current.config;
    const config = this.loadCurrent(tenantId);
    const entry = { tenantId, loadedAt: now, config };
    this.current = entry;
    const forget = () => {
      if (this.current === entry) this.current = undefined;
    };
    config.then((found) => {
      if (found) this.owner = found.tenantId;
      else forget();
    }, forget);
    return config;
  }

  private async loadCurrent(tenantId: string): Promise<FlowConfig | null> {
    for (;;) {
      const generation = this.generation;
      const config = await this.load(tenantId);
      if (generation === this.generation) return config;
    }
  }

  /** The cached configuration, if it is loaded (for housekeeping that must not load it). */
  async peek(): Promise<FlowConfig | null> {
    return (await this.current?.config.catch(() => null)) ?? null;
  }

  /** Drops the configuration and its key: the next run reads the flow again. */
  invalidate(): void {
    this.generation++;
    this.current = undefined;
  }
}
