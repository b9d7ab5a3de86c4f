import { z } from '@hono/zod-openapi';
import type { BlockSpec } from './types';

export const DEFAULT_CHILD_TIMEOUT_SECONDS = 300;
/** A run started by a flow started by a flow… at most this deep. */
export const MAX_FLOW_DEPTH = 5;

export const triggerFlowParams = z
  .object({
    flowId: z
      .string()
      .regex(/^flw_[0-9A-HJKMNP-TV-Z]{26}$/, 'a flow id (flw_…), written literally')
      .describe('the flow to start: an enabled flow of the same tenant'),
    input: z.record(z.string(), z.unknown()).optional().describe('object; strings are templates'),
    wait: z.boolean().optional(),
    timeoutSeconds: z.number().int().min(1).max(3600).optional(),
  })
  .strict();

type Params = z.infer<typeof triggerFlowParams>;

/**
 * "Trigger Another Flow": starts a run of another flow with `input`. With
 * `wait`, the step ends when the child run does (durably: the parent waits
 * without holding its object, and survives restarts).
 */
export const triggerFlowBlock: BlockSpec<Params> = {
  type: 'trigger_flow',
  output: z.object({
    runId: z.string(),
    status: z.string(),
    output: z.unknown().optional().describe("with wait: the output of the child's last succeeded step"),
  }),
  help: 'Starts a run of another enabled flow of this tenant with `input` (read there as {{trigger.input}}). With `wait`, the step ends when the child run does (at most timeoutSeconds) and fails when it fails. Chains of flows starting flows are at most 5 deep.',
  params: triggerFlowParams,
  label: 'Trigger Another Flow',
  category: 'Flow',
  description: 'Starts another flow of this tenant with input data, and optionally waits for its result.',
  async run(params, context) {
    const child = await context.engine.startFlow(params.flowId, params.input ?? {});
    if (!params.wait) return { output: child };
    const until = Date.now() + (params.timeoutSeconds ?? DEFAULT_CHILD_TIMEOUT_SECONDS) * 1000;
    return { output: child, awaitRun: { runId: child.runId, until } };
  },
};
