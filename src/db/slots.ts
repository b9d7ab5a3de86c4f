import { and, count, eq } from 'drizzle-orm';
import type { secrets, variables } from './schema';
import { owned, type TenantScope } from './scope';

/**
 * How many named entries (secrets or variables) a flow has, and whether
 * `name` is one of them: for the per-flow limit and for 201 vs 200.
 */
export async function slotOf(scope: TenantScope, table: typeof secrets | typeof variables, flowId: string, name: string) {
  const [total, existing] = await scope.db.batch([
    scope.db
      .select({ n: count() })
      .from(table)
      .where(owned(table, scope, eq(table.flowId, flowId))),
    scope.db
      .select({ name: table.name })
      .from(table)
      .where(owned(table, scope, and(eq(table.flowId, flowId), eq(table.name, name)))),
  ]);
  return { count: total[0]?.n ?? 0, exists: existing.length > 0 };
}
