import { z } from '@hono/zod-openapi';
import { runInSandbox } from '../lib/sandbox';
import { StepError, type BlockSpec } from './types';

export const MAX_SOURCE_BYTES = 64 * 1024;
export const DEFAULT_CODE_TIMEOUT_MS = 1000;

/** `{{SECRETS.…}}` anywhere in the source: refused at save time, like a secret in any block that is not allowed one. */
const SECRET_PLACEHOLDER = /\{\{\s*SECRETS\b/;

export const codeParams = z
  .object({
    source: z
      .string()
      .min(1)
      .refine((source) => new TextEncoder().encode(source).length <= MAX_SOURCE_BYTES, `at most ${MAX_SOURCE_BYTES / 1024} KiB`)
      .refine((source) => !SECRET_PLACEHOLDER.test(source), 'code blocks cannot use secrets: what they do would reveal them')
      .describe(
        'JavaScript, the body of function (input) { … } whose return value (JSON) is the output; not a template: read values from input',
      ),
    timeoutMs: z.number().int().min(10).max(5000).optional().describe('10–5000, default 1000'),
  })
  .strict();

type Params = z.infer<typeof codeParams>;

/**
 * "Run Code": JavaScript in a QuickJS sandbox (src/lib/sandbox.ts) with the
 * run's data as `input` (never its secrets); console lines become log events.
 */
export const codeBlock: BlockSpec<Params> = {
  type: 'code',
  label: 'Run Code',
  category: 'Data',
  description:
    'Runs JavaScript in a sandbox (no network, timers or secrets) with input { trigger, steps, VARIABLES, ENV, run, flow }; its return value is the output.',
  output: z.unknown().describe('the JSON value the code returns'),
  help: 'Runs JavaScript (the body of a function of `input`) in a QuickJS sandbox with no network, timers, storage or secrets, e.g. `return { slug: input.trigger.key.toLowerCase() }`. console.log lines go to the run log (masked). Over timeoutMs or 64 MiB, a throw or a non-JSON return fails the step.',
  params: codeParams,
  // The source is code, not a template: placeholders in it are left as written (data comes in through `input`).
  unrendered: ['source'],
  async run(params, context) {
    const data = context.data();
    const input = {
      trigger: data.trigger ?? null,
      steps: data.steps,
      VARIABLES: data.variables,
      ENV: data.env,
      run: { id: data.run.id },
      flow: { id: data.flow.id, name: data.flow.name },
    };
    const { outcome, console: lines, droppedLines } = await runInSandbox(params.source, input, params.timeoutMs ?? DEFAULT_CODE_TIMEOUT_MS);
    for (const line of lines) context.log(line.level, line.message);
    if (droppedLines > 0) context.log('warn', `${droppedLines} more console lines were not kept (at most ${lines.length} per step)`);
    if (!outcome.ok) throw new StepError(outcome.error);
    return { output: outcome.value };
  },
};
