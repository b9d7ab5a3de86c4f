/**
 * Which flow a webhook belongs to, remembered per isolate so that a call to a
 * warm webhook makes no D1 round trip. What is remembered is only a hint: the
 * flow's executor checks, on its own cache that every write to the flow
 * (rotation and disabling included) invalidates, that the hook is still the
 * flow's and the flow enabled. A refused hint is forgotten and looked up again.
 */
import { database } from '../db/client';
import { findFlowByHook } from '../db/flows';
import type { Env } from '../env';

export interface HookTarget {
  flowId: string;
  tenantId: string;
  /** Whether this came from the isolate's memory rather than from D1 just now. */
  remembered: boolean;
}

const MAX_REMEMBERED = 1000;
const remembered = new Map<string, Omit<HookTarget, 'remembered'>>();

/** The enabled webhook flow of `hookId`, or null; `fresh` skips what is remembered. */
export async function hookTarget(env: Pick<Env, 'DB'>, hookId: string, fresh = false): Promise<HookTarget | null> {
  const known = fresh ? undefined : remembered.get(hookId);
  if (known) return { ...known, remembered: true };
  const flow = await findFlowByHook(database(env.DB), hookId);
  if (!flow) {
    remembered.delete(hookId);
    return null;
  }
  if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
  remembered.set(hookId, { flowId: flow.id, tenantId: flow.tenantId });
  return { flowId: flow.id, tenantId: flow.tenantId, remembered: false };
}

export function forgetHook(hookId: string): void {
  remembered.delete(hookId);
}
