import { z } from '@hono/zod-openapi';
import { asText } from './text';
import { StepError, type BlockSpec } from './types';

export const CONDITION_OPS = [
  'eq',
  'ne',
  'gt',
  'gte',
  'lt',
  'lte',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'exists',
] as const;

/** `matches` patterns are capped so a hostile regular expression stays cheap to compile. */
export const MAX_PATTERN_LENGTH = 512;
/** `matches` tests at most this many characters of the left side. */
export const MAX_MATCH_INPUT = 10_000;

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
 * Why a `matches` pattern is refused, or null. Besides syntax, a quantified
 * group that itself contains a quantifier (`(a+)+`, `(\w*)*`) is refused: that
 * shape is what makes backtracking exponential.
 */
export function patternProblem(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN_LENGTH) return `pattern longer than ${MAX_PATTERN_LENGTH}`;
  try {
    new RegExp(pattern);
  } catch {
    return 'not a valid regular expression';
  }
  return hasNestedQuantifier(pattern) ? 'nested quantifiers like (a+)+ are not allowed (catastrophic backtracking)' : null;
}

function hasNestedQuantifier(pattern: string): boolean {
  const openGroups: boolean[] = []; // per open group: does it contain a repetition?
  let afterRepeatingGroup = false; // the previous token closed a group that repeats inside
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*' || ch === '+' || ch === '{') {
      if (afterRepeatingGroup) return true;
      openGroups.fill(true);
      if (ch === '{') i = Math.max(i, pattern.indexOf('}', i));
      continue;
    }
    afterRepeatingGroup = false;
    if (ch === '\\') i++;
    else if (ch === '[') {
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
    } else if (ch === '(') openGroups.push(false);
    else if (ch === ')') afterRepeatingGroup = openGroups.pop() ?? false;
  }
  return false;
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

export function evaluate(op: Operator, left: unknown, right: unknown): boolean {
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
      return new RegExp(pattern).test(asText(left).slice(0, MAX_MATCH_INPUT));
    }
    case 'exists':
      return left !== undefined && left !== null && left !== '';
  }
}

/** Branches on a comparison: `then` when it holds, `else` when not. */
export const conditionBlock: BlockSpec<z.infer<typeof conditionParams>> = {
  type: 'condition',
  params: conditionParams,
  async run({ left, op, right }) {
    return { output: { result: evaluate(op, left, right ?? '') } };
  },
  edge: (output) => ((output as { result: boolean }).result ? 'then' : 'else'),
};
