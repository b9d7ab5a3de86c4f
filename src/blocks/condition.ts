import { z } from '@hono/zod-openapi';
import { RE2JS } from 're2js';
import { asText } from './text';
import { StepError, type BlockSpec } from './types';

export const CONDITION_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'contains', 'startsWith', 'endsWith', 'matches', 'exists'] as const;

/** `matches` patterns are capped so a hostile regular expression stays cheap to compile. */
export const MAX_PATTERN_LENGTH = 512;
/** `matches` tests at most this many characters of the left side. */
export const MAX_MATCH_INPUT = 10_000;
/** At most this many repetitions in one `{n}` or `{n,m}`: RE2's program grows with each. */
export const MAX_REPETITION = 100;
/**
 * RE2 matches in time linear in the input, but its program grows with the
 * pattern's counted repetitions: `(.*){100}` over 10,000 characters took
 * 150 ms here. A Worker cannot read a clock during synchronous work, so the
 * bounds are on an estimate instead, `patternCost × characters tested`:
 * per match (about 50 ms here) and per run (about half a second).
 */
export const MAX_MATCH_COST = 5_000_000;
export const MAX_RUN_MATCH_COST = 50_000_000;

/** An upper bound of the size of RE2's program for `pattern`: its length times its counted repetitions multiplied. */
export function patternCost(pattern: string): number {
  let product = 1;
  for (const [, min, max] of pattern.matchAll(/\{(\d+)(?:,(\d*))?\}/g)) product *= Math.max(1, Number(max || min));
  return pattern.length * product;
}

export const conditionParams = z
  .object({
    left: z.string().max(10_000).describe('template'),
    op: z.enum(CONDITION_OPS),
    right: z.string().max(10_000).optional().describe('template'),
  })
  .strict()
  .superRefine((params, ctx) => {
    if (params.op !== 'matches' || params.right === undefined || params.right.includes('{{')) return;
    if (params.right.length > MAX_PATTERN_LENGTH) {
      ctx.addIssue({ code: 'custom', path: ['right'], message: `pattern longer than ${MAX_PATTERN_LENGTH}` });
      return;
    }
    const problem = patternProblem(params.right);
    if (problem) ctx.addIssue({ code: 'custom', path: ['right'], message: problem });
  });

type Operator = (typeof CONDITION_OPS)[number];

/**
 * Why a `matches` pattern is refused, or null. Patterns run on RE2 (re2js),
 * which matches in time linear in the input whatever the pattern, so a
 * hostile pattern or input cannot pin the run; the price is RE2's syntax
 * (no lookaround, no backreferences).
 */
export function patternProblem(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN_LENGTH) return `pattern longer than ${MAX_PATTERN_LENGTH}`;
  for (const [repetition, min, max] of pattern.matchAll(/\{(\d+)(?:,(\d*))?\}/g)) {
    if (Number(max || min) > MAX_REPETITION) return `repetition ${repetition} over ${MAX_REPETITION}`;
  }
  if (patternCost(pattern) > MAX_MATCH_COST / 100) return 'pattern too costly: fewer or smaller counted repetitions';
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (err) {
    return `not a valid regular expression (RE2 syntax): ${err instanceof Error ? err.message : String(err)}`;
  }
}

const NUMERIC = /^\s*-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

function asNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && NUMERIC.test(value)) return Number(value);
  return null;
}

/** Compares two rendered values: as numbers when both are numeric, otherwise as text. */
function compare(left: unknown, right: unknown): number {
  const a = asNumber(left);
  const b = asNumber(right);
  if (a !== null && b !== null) return a - b;
  const x = asText(left);
  const y = asText(right);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function evaluate(op: Operator, left: unknown, right: unknown, budget?: { left: number }): boolean {
  switch (op) {
    case 'eq':
      return compare(left, right) === 0;
    case 'ne':
      return compare(left, right) !== 0;
    case 'gt':
      return compare(left, right) > 0;
    case 'gte':
      return compare(left, right) >= 0;
    case 'lt':
      return compare(left, right) < 0;
    case 'lte':
      return compare(left, right) <= 0;
    case 'contains':
      return Array.isArray(left) ? left.some((item) => asText(item) === asText(right)) : asText(left).includes(asText(right));
    case 'startsWith':
      return asText(left).startsWith(asText(right));
    case 'endsWith':
      return asText(left).endsWith(asText(right));
    case 'matches': {
      const pattern = asText(right);
      const problem = patternProblem(pattern);
      if (problem) throw new StepError(`matches: ${problem}`);
      const input = asText(left).slice(0, MAX_MATCH_INPUT);
      const cost = patternCost(pattern) * Math.max(1, input.length);
      if (cost > MAX_MATCH_COST)
        throw new StepError(`matches: the pattern is too costly for this input (${pattern.length} characters, ${input.length} tested)`);
      if (budget) {
        if (cost > budget.left) throw new StepError('matches: this run has spent its budget for regular expressions');
        budget.left -= cost;
      }
      return RE2JS.compile(pattern).matcher(input).find();
    }
    case 'exists':
      return left !== undefined && left !== null && left !== '';
  }
}

/** Branches on a comparison: `then` when it holds, `else` when not. */
export const conditionBlock: BlockSpec<z.infer<typeof conditionParams>> = {
  type: 'condition',
  label: 'If / Else',
  category: 'Flow',
  description: 'Compares two values and continues on the then or the else branch.',
  exits: [
    { field: 'then', absent: 'following' },
    { field: 'else', absent: 'following' },
  ],
  output: z.object({ result: z.boolean() }),
  help: 'Compares two templates (eq, ne, gt, gte, lt, lte, contains, startsWith, endsWith, matches, exists) and continues at `then` when it holds, else at `else`; the branch not taken is skipped. Numbers and numeric text compare as numbers. Output: { result }.',
  params: conditionParams,
  async run({ left, op, right }, context) {
    return { output: { result: evaluate(op, left, right ?? '', context.regexBudget) } };
  },
  edge: (output) => ((output as { result: boolean }).result ? 'then' : 'else'),
};
