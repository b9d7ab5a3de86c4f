/**
 * Standard 5-field cron expressions (Vixie semantics) for schedule-triggered
 * flows, evaluated in UTC or an IANA time zone. Parsing and the calendar
 * search are croner's; this module fixes the dialect (exactly five fields;
 * no seconds, years, macros or Quartz's L, W, # and ?) and Vixie cron's day
 * rule, and names the field at fault in errors.
 */
import { Cron } from 'croner';
import type { Trigger } from '../flows/definition';

/** Thrown for an invalid expression or time zone, or by `next()` when a schedule never fires. */
export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

/** A parsed cron expression. Every method works on whole minutes. */
export interface CronSchedule {
  /** The expression as given, trimmed. */
  readonly expression: string;
  /** The IANA time zone its fields are read in. */
  readonly timezone: string;
  /** Whether the minute containing `date` matches (seconds and milliseconds are ignored). */
  matches(date: Date): boolean;
  /** The first matching minute strictly after `after`; throws CronError if the schedule never matches. */
  next(after: Date): Date;
}

const MAX_LENGTH = 200;
const MINUTE_MS = 60_000;
const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
const RANGES = ['0-59', '0-23', '1-31', '1-12', '0-7'] as const;
/** L, W, # and ? are Quartz/cronie extensions; caught early to name them in the error. */
const EXTENSION = /[#?]|^\d*L$|^L-\d+$|^\d+W$|^LW$/i;

/** Whether `timezone` is an IANA zone this runtime knows. */
export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

type Fields = [string, string, string, string, string];

/** Checks what croner would accept but the contract does not, or reports with our words. */
function checkDialect(fields: Fields): void {
  fields.forEach((field, i) => {
    const name = FIELD_NAMES[i]!;
    for (const item of field.split(',')) {
      if (item === '') throw new CronError(`${name} field: empty list item`);
      if (EXTENSION.test(item)) throw new CronError(`${name} field: '${item}' uses L, W, # or ?, which are not supported`);
      const [range = '', step, extra] = item.split('/');
      if (extra !== undefined) throw new CronError(`${name} field: '${item}' has more than one step`);
      if (step !== undefined && !/^[1-9]\d*$/.test(step)) throw new CronError(`${name} field: step '${step}' is not a positive integer`);
      if (range === '') throw new CronError(`${name} field: '${item}' has no start`);
      const bounds = range.split('-');
      if (bounds.length > 2) throw new CronError(`${name} field: '${range}' is not a valid range`);
      if (bounds.includes('')) throw new CronError(`${name} field: '' is not a number`);
    }
  });
}

/**
 * Why croner refuses an expression, in our words and naming the field and
 * item at fault (`hour field: 24 is out of range 0-23`): each field, then each
 * item of the failing field, is tried on its own.
 */
function fieldError(fields: Fields, options: object): CronError {
  const refusal = (i: number, field: string): string | null => {
    try {
      new Cron(fields.map((_, j) => (j === i ? field : '*')).join(' '), options);
      return null;
    } catch (err) {
      return err instanceof Error ? err.message.replace(/^CronPattern: /, '') : String(err);
    }
  };
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    if (refusal(i, field) === null) continue;
    const name = FIELD_NAMES[i];
    for (const item of field.split(',')) {
      const message = refusal(i, item);
      if (message === null) continue;
      if (/Invalid value for/.test(message)) return new CronError(`${name} field: ${item} is out of range ${RANGES[i]}`);
      if (/larger than to value/.test(message)) return new CronError(`${name} field: range '${item}' is reversed`);
      if (/illegal characters/.test(message))
        return new CronError(`${name} field: '${item}' is not a number${i === 3 || i === 4 ? ' or name' : ''}`);
      if (/steps cannot be greater/.test(message))
        return new CronError(`${name} field: the step of '${item}' is larger than the field's range`);
      return new CronError(`${name} field: '${item}' is not valid (${message.replace(/^Syntax error, /, '').replace(/\.$/, '')})`);
    }
    return new CronError(`${name} field: '${field}' is not valid`);
  }
  return new CronError('invalid expression');
}

class Schedule implements CronSchedule {
  constructor(
    readonly expression: string,
    readonly timezone: string,
    private readonly cron: Cron,
  ) {}

  matches(date: Date): boolean {
    return this.cron.match(new Date(Math.floor(date.getTime() / MINUTE_MS) * MINUTE_MS));
  }

  next(after: Date): Date {
    const from = after.getTime();
    if (Number.isNaN(from)) throw new RangeError('next(): invalid date');
    const next = this.cron.nextRun(new Date(Math.floor(from / MINUTE_MS) * MINUTE_MS + MINUTE_MS - 1000));
    if (!next) throw new CronError(`'${this.expression}' never matches`);
    return next;
  }
}

/**
 * Parses a 5-field cron expression (minute hour day-of-month month
 * day-of-week), read in `timezone` (default UTC). Across a daylight-saving
 * change, a time that does not exist runs at the first minute after the gap
 * when its minute and hour fields are fixed values or lists (`30 2 * * *`),
 * and is skipped when they repeat (`*\/30 * * * *`); a time that occurs twice
 * runs once, at the first, for fixed ones, and twice for repeating ones.
 *
 * @throws CronError naming the offending field, e.g. `minute field: '61' is out of range 0-59`.
 */
export function parseCron(expression: string, timezone = 'UTC'): CronSchedule {
  if (expression.length > MAX_LENGTH) throw new CronError(`expression is longer than ${MAX_LENGTH} characters`);
  if (!isTimeZone(timezone)) throw new CronError(`unknown time zone '${timezone}' (an IANA name such as Europe/Berlin)`);
  const trimmed = expression.trim();
  const fields = trimmed === '' ? [] : trimmed.split(/\s+/);
  if (fields[0]?.startsWith('@')) throw new CronError(`macro '${fields[0]}' is not supported; use 5 fields (${FIELD_NAMES.join(' ')})`);
  if (fields.length !== FIELD_NAMES.length)
    throw new CronError(`expected ${FIELD_NAMES.length} fields (${FIELD_NAMES.join(' ')}), got ${fields.length}`);
  checkDialect(fields as Fields);
  const [, , dayOfMonth, , dayOfWeek] = fields as Fields;
  const options = {
    timezone,
    mode: '5-part' as const,
    // `a/n` means a-max/n, as in Vixie cron.
    sloppyRanges: true,
    // Vixie cron: when both day fields are restricted either may match, otherwise both must; a field starting with * counts as unrestricted.
    domAndDow: dayOfMonth.startsWith('*') || dayOfWeek.startsWith('*'),
    // Fixed-time jobs (for DST) are those whose minute and hour have no * or step, as Vixie cron decides.
    fixedTimeRule: 'no-wildcard' as const,
  };
  let cron: Cron;
  try {
    cron = new Cron(trimmed, options);
  } catch {
    throw fieldError(fields as Fields, options);
  }
  return new Schedule(trimmed, timezone, cron);
}

/** Validates an expression (and time zone) for schemas: `null` when valid, otherwise the CronError message. */
export function cronError(expression: string, timezone?: string): string | null {
  try {
    parseCron(expression, timezone);
    return null;
  } catch (error) {
    if (error instanceof CronError) return error.message;
    throw error;
  }
}

/**
 * Stored for a flow whose next due time is not known (a schedule saved before
 * due times were kept): the tick fires it when its expression matches the minute.
 */
export const UNKNOWN_DUE = new Date(0).toISOString();

/** A flow's next due minute strictly after `after`, as stored in `flows.next_due_at`: null unless it is an enabled schedule that can fire. */
export function nextDueAt(trigger: Trigger, enabled: boolean, after: Date): string | null {
  if (!enabled || trigger.type !== 'schedule') return null;
  try {
    return parseCron(trigger.cron, trigger.timezone).next(after).toISOString();
  } catch {
    return null; // never matches (or no longer parses): never due
  }
}
