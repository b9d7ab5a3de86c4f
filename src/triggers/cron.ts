/**
 * A dependency-free parser and matcher for standard 5-field cron expressions
 * (Vixie/POSIX semantics), evaluated in UTC. Used by schedule-triggered flows.
 */

/** Thrown for an invalid expression, or by `next()` when a schedule never fires. */
export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

/** A parsed cron expression. Every method works on whole UTC minutes. */
export interface CronSchedule {
  /** The expression as given, trimmed. */
  readonly expression: string;
  /** Whether the UTC minute containing `date` matches (seconds and milliseconds are ignored). */
  matches(date: Date): boolean;
  /** The first matching UTC minute strictly after `after`; throws CronError if the schedule never matches. */
  next(after: Date): Date;
}

const MAX_LENGTH = 200;
const MINUTE_MS = 60_000;
/**
 * The Gregorian calendar repeats exactly every 400 years (146097 days, a whole
 * number of weeks), so a schedule with no match in that window never matches.
 * A shorter bound would be wrong: `0 0 29 2 *` has an 8-year gap around 2100,
 * and a leap day on a given weekday can be up to 40 years away.
 */
const SEARCH_LIMIT_MS = 146_097 * 24 * 60 * MINUTE_MS;
/** L, W, # and ? are Quartz/cronie extensions; caught early to name them in the error. */
const EXTENSION = /[#?]|^\d*L$|^L-\d+$|^\d+W$|^LW$/i;

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names in value order; the first one stands for `min`. */
  readonly names?: readonly string[];
}

const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = {
  name: 'month',
  min: 1,
  max: 12,
  names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
};
const DAY_OF_WEEK: FieldSpec = {
  name: 'day-of-week',
  min: 0,
  max: 7,
  names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
};
const FIELDS = [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK];
const FIELD_NAMES = FIELDS.map((spec) => spec.name).join(' ');

type Fields = [minute: string, hour: string, dayOfMonth: string, month: string, dayOfWeek: string];

function hasFiveFields(fields: string[]): fields is Fields {
  return fields.length === FIELDS.length;
}

/** A set of field values: `set[v] === true` when value `v` is included. */
type ValueSet = readonly boolean[];

function fieldError(spec: FieldSpec, message: string): CronError {
  return new CronError(`${spec.name} field: ${message}`);
}

/** A number or (for month and day-of-week) a case-insensitive name, within the field's range. */
function parseValue(token: string, spec: FieldSpec): number {
  let value: number;
  if (/^\d+$/.test(token)) {
    value = Number(token);
  } else {
    const index = spec.names?.indexOf(token.toUpperCase()) ?? -1;
    if (index < 0) {
      const expected = spec.names ? 'a number or name' : 'a number';
      throw fieldError(spec, `'${token}' is not ${expected}`);
    }
    value = spec.min + index;
  }
  if (value < spec.min || value > spec.max) {
    throw fieldError(spec, `${token} is out of range ${spec.min}-${spec.max}`);
  }
  return value;
}

function parseStep(token: string, spec: FieldSpec): number {
  if (!/^\d+$/.test(token) || Number(token) === 0) {
    throw fieldError(spec, `step '${token}' is not a positive integer`);
  }
  return Number(token);
}

/** `*`, `a` or `a-b`; `hasStep` turns a lone `a` into `a-max` (the `a/n` form). */
function parseRange(token: string, spec: FieldSpec, hasStep: boolean): [number, number] {
  if (token === '*') return [spec.min, spec.max];
  const bounds = token.split('-');
  if (bounds.length > 2) throw fieldError(spec, `'${token}' is not a valid range`);
  const [startToken = '', endToken] = bounds;
  const start = parseValue(startToken, spec);
  if (endToken === undefined) return [start, hasStep ? spec.max : start];
  const end = parseValue(endToken, spec);
  if (start > end) throw fieldError(spec, `range '${token}' is reversed`);
  return [start, end];
}

/** One comma-separated item: a range with an optional `/step`, added to `set`. */
function addItem(item: string, spec: FieldSpec, set: boolean[]): void {
  if (item === '') throw fieldError(spec, 'empty list item');
  if (EXTENSION.test(item)) throw fieldError(spec, `'${item}' uses L, W, # or ?, which are not supported`);
  const parts = item.split('/');
  if (parts.length > 2) throw fieldError(spec, `'${item}' has more than one step`);
  const [rangeToken = '', stepToken] = parts;
  const step = stepToken === undefined ? 1 : parseStep(stepToken, spec);
  const [start, end] = parseRange(rangeToken, spec, stepToken !== undefined);
  for (let value = start; value <= end; value += step) set[value] = true;
}

function parseField(text: string, spec: FieldSpec): ValueSet {
  const set = new Array<boolean>(spec.max + 1).fill(false);
  for (const item of text.split(',')) addItem(item, spec, set);
  return set;
}

/** 7 is another name for Sunday; fold it onto 0 so lookups can use getUTCDay() directly. */
function foldSunday(set: ValueSet): ValueSet {
  return set.slice(0, 7).map((on, day) => on || (day === 0 && set[7] === true));
}

class Schedule implements CronSchedule {
  private readonly minutes: ValueSet;
  private readonly hours: ValueSet;
  private readonly daysOfMonth: ValueSet;
  private readonly months: ValueSet;
  private readonly daysOfWeek: ValueSet;
  /** Vixie cron: if both day fields are restricted, either may match; otherwise both must. */
  private readonly eitherDay: boolean;

  constructor(
    readonly expression: string,
    [minute, hour, dayOfMonth, month, dayOfWeek]: Fields,
  ) {
    this.minutes = parseField(minute, MINUTE);
    this.hours = parseField(hour, HOUR);
    this.daysOfMonth = parseField(dayOfMonth, DAY_OF_MONTH);
    this.months = parseField(month, MONTH);
    this.daysOfWeek = foldSunday(parseField(dayOfWeek, DAY_OF_WEEK));
    // As in Vixie cron, "restricted" is decided by the first character, so `*/2` counts as unrestricted.
    this.eitherDay = !dayOfMonth.startsWith('*') && !dayOfWeek.startsWith('*');
  }

  matches(date: Date): boolean {
    return (
      this.months[date.getUTCMonth() + 1] === true &&
      this.dayMatches(date) &&
      this.hours[date.getUTCHours()] === true &&
      this.minutes[date.getUTCMinutes()] === true
    );
  }

  next(after: Date): Date {
    const from = after.getTime();
    if (Number.isNaN(from)) throw new RangeError('next(): invalid date');
    const limit = from + SEARCH_LIMIT_MS;
    let time = Math.floor(from / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    // Skip whole months, days and hours that cannot match, so even a full search takes only thousands of steps.
    while (time <= limit) {
      const date = new Date(time);
      const year = date.getUTCFullYear();
      const month = date.getUTCMonth();
      const day = date.getUTCDate();
      const hour = date.getUTCHours();
      if (this.months[month + 1] !== true) time = Date.UTC(year, month + 1, 1);
      else if (!this.dayMatches(date)) time = Date.UTC(year, month, day + 1);
      else if (this.hours[hour] !== true) time = Date.UTC(year, month, day, hour + 1);
      else if (this.minutes[date.getUTCMinutes()] !== true) time += MINUTE_MS;
      else return date;
    }
    throw new CronError(`'${this.expression}' never matches`);
  }

  /** Day-of-month and day-of-week of `date`, combined by the Vixie rule. */
  private dayMatches(date: Date): boolean {
    const dom = this.daysOfMonth[date.getUTCDate()] === true;
    const dow = this.daysOfWeek[date.getUTCDay()] === true;
    return this.eitherDay ? dom || dow : dom && dow;
  }
}

/**
 * Parses a 5-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC.
 *
 * @throws CronError naming the offending field, e.g. `minute field: 61 is out of range 0-59`.
 * @example parseCron('*\/15 9-17 * * MON-FRI').next(new Date())
 */
export function parseCron(expression: string): CronSchedule {
  if (expression.length > MAX_LENGTH) {
    throw new CronError(`expression is longer than ${MAX_LENGTH} characters`);
  }
  const trimmed = expression.trim();
  const fields = trimmed === '' ? [] : trimmed.split(/\s+/);
  if (fields[0]?.startsWith('@')) {
    throw new CronError(`macro '${fields[0]}' is not supported; use 5 fields (${FIELD_NAMES})`);
  }
  if (!hasFiveFields(fields)) {
    throw new CronError(`expected ${FIELDS.length} fields (${FIELD_NAMES}), got ${fields.length}`);
  }
  return new Schedule(trimmed, fields);
}

/** Validates an expression for schemas: `null` when valid, otherwise the CronError message. */
export function cronError(expression: string): string | null {
  try {
    parseCron(expression);
    return null;
  } catch (error) {
    if (error instanceof CronError) return error.message;
    throw error;
  }
}
