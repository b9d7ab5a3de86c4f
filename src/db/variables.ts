import { and, asc, eq } from 'drizzle-orm';
import { auditInsert, auditInsertIfChanged } from './audit';
import { nowIso } from './client';
import { variables } from './schema';
import { owned, type TenantScope } from './scope';

export const MAX_VARIABLES_PER_FLOW = 100;

export interface Variable {
  name: string;
  value: string;
  updatedAt: string;
}

const variableTarget = (flowId: string, name: string) => `flows/${flowId}/variables/${name}`;

export async function listVariables(scope: TenantScope, flowId: string): Promise<Variable[]> {
  return scope.db
    .select({ name: variables.name, value: variables.value, updatedAt: variables.updatedAt })
    .from(variables)
    .where(owned(variables, scope, eq(variables.flowId, flowId)))
    .orderBy(asc(variables.name));
}

/** The query for a flow's variables as name/value rows, for a run (to batch). */
export function variableValuesQuery(scope: TenantScope, flowId: string) {
  return scope.db
    .select({ name: variables.name, value: variables.value })
    .from(variables)
    .where(owned(variables, scope, eq(variables.flowId, flowId)));
}

export const toVariableValues = (rows: Array<{ name: string; value: string }>): Record<string, string> =>
  Object.fromEntries(rows.map((row) => [row.name, row.value]));

export async function putVariable(scope: TenantScope, flowId: string, name: string, value: string, replacing: boolean): Promise<Variable> {
  const now = nowIso();
  await scope.db.batch([
    scope.db
      .insert(variables)
      .values({ flowId, name, tenantId: scope.tenantId, value, updatedAt: now })
      .onConflictDoUpdate({
        target: [variables.flowId, variables.name],
        set: { value, updatedAt: now },
        setWhere: eq(variables.tenantId, scope.tenantId),
      }),
    auditInsert(scope, replacing ? 'variable.replace' : 'variable.create', variableTarget(flowId, name)),
  ]);
  return { name, value, updatedAt: now };
}

export async function deleteVariable(scope: TenantScope, flowId: string, name: string): Promise<boolean> {
  const [deleted] = await scope.db.batch([
    scope.db
      .delete(variables)
      .where(owned(variables, scope, and(eq(variables.flowId, flowId), eq(variables.name, name))))
      .returning({ name: variables.name }),
    auditInsertIfChanged(scope, 'variable.delete', variableTarget(flowId, name)),
  ]);
  return deleted.length > 0;
}
