import { describe, expect, it } from 'vitest';
import { CronError, cronError, parseCron } from '../src/triggers/cron';

const at = (iso: string): Date => new Date(iso);

/** The ISO string of `next(after)`, for readable assertions. */
const nextAfter = (expression: string, after: string): string => parseCron(expression).next(at(after)).toISOString();

/** Which of the given instants the expression matches. */
const matching = (expression: string, isos: readonly string[]): string[] => {
  const schedule = parseCron(expression);
  return isos.filter((iso) => schedule.matches(at(iso)));
};

describe('parseCron().matches', () => {
  it('matches */5 on multiples of five minutes only', () => {
    const schedule = parseCron('*/5 * * * *');
    expect(schedule.matches(at('2025-06-01T12:00:00Z'))).toBe(true);
    expect(schedule.matches(at('2025-06-01T12:05:00Z'))).toBe(true);
    expect(schedule.matches(at('2025-06-01T12:03:00Z'))).toBe(false);
  });

  it('ignores seconds and milliseconds', () => {
    const schedule = parseCron('5 12 * * *');
    expect(schedule.matches(at('2025-06-01T12:05:59.999Z'))).toBe(true);
    expect(schedule.matches(at('2025-06-01T12:06:00.000Z'))).toBe(false);
  });

  it('evaluates in UTC, whatever offset the date was written with', () => {
    // 00:30 at +02:00 is 22:30 UTC on the previous day.
    expect(parseCron('30 22 31 12 *').matches(at('2025-01-01T00:30:00+02:00'))).toBe(true);
    expect(parseCron('30 0 1 1 *').matches(at('2025-01-01T00:30:00+02:00'))).toBe(false);
  });

  it('supports comma lists', () => {
    const minutes = ['00', '01', '15', '30', '31'].map((m) => `2025-06-01T12:${m}:00Z`);
    expect(matching('1,15,30 * * * *', minutes)).toEqual([minutes[1], minutes[2], minutes[3]]);
  });

  it('supports ranges, inclusive at both ends', () => {
    const hours = ['08', '09', '12', '17', '18'].map((h) => `2025-06-01T${h}:00:00Z`);
    expect(matching('0 9-17 * * *', hours)).toEqual([hours[1], hours[2], hours[3]]);
  });

  it('supports a-b/n steps', () => {
    const minutes = ['05', '10', '11', '15', '20', '25'].map((m) => `2025-06-01T12:${m}:00Z`);
    expect(matching('10-20/5 * * * *', minutes)).toEqual([minutes[1], minutes[3], minutes[4]]);
  });

  it('reads a/n as a-max/n', () => {
    const minutes = ['00', '07', '20', '27', '47', '59'].map((m) => `2025-06-01T12:${m}:00Z`);
    expect(matching('7/20 * * * *', minutes)).toEqual([minutes[1], minutes[3], minutes[4]]);
  });

  it('combines lists of ranges and steps', () => {
    const hours = ['00', '01', '02', '03', '10', '11', '12', '22'].map((h) => `2025-06-01T${h}:00:00Z`);
    expect(matching('0 0-2,10-12/2,22 * * *', hours)).toEqual([hours[0], hours[1], hours[2], hours[4], hours[6], hours[7]]);
  });

  it('accepts month names, case-insensitively', () => {
    const firsts = ['01', '02', '03', '04'].map((m) => `2025-${m}-01T00:00:00Z`);
    expect(matching('0 0 1 jan,Mar *', firsts)).toEqual([firsts[0], firsts[2]]);
    expect(matching('0 0 1 FEB-apr *', firsts)).toEqual([firsts[1], firsts[2], firsts[3]]);
  });

  it('accepts day names and day-name ranges, case-insensitively', () => {
    // 2025-06-02 is a Monday; the week runs to Sunday 2025-06-08.
    const week = ['02', '03', '04', '05', '06', '07', '08'].map((d) => `2025-06-${d}T09:00:00Z`);
    expect(matching('0 9 * * MON-FRI', week)).toEqual(week.slice(0, 5));
    expect(matching('0 9 * * mOn-fRi', week)).toEqual(week.slice(0, 5));
    expect(matching('0 9 * * sat,SUN', week)).toEqual(week.slice(5));
  });

  it('treats both 0 and 7 as Sunday', () => {
    const saturday = '2025-06-07T00:00:00Z';
    const sunday = '2025-06-08T00:00:00Z';
    const monday = '2025-06-09T00:00:00Z';
    expect(matching('0 0 * * 7', [saturday, sunday, monday])).toEqual([sunday]);
    expect(matching('0 0 * * 0', [saturday, sunday, monday])).toEqual([sunday]);
    expect(matching('0 0 * * 5-7', [saturday, sunday, monday])).toEqual([saturday, sunday]);
  });

  it('matches either day field when both day-of-month and day-of-week are restricted', () => {
    const wed13 = '2025-08-13T00:00:00Z';
    const thu14 = '2025-08-14T00:00:00Z';
    const fri15 = '2025-08-15T00:00:00Z';
    expect(matching('0 0 13 * FRI', [wed13, thu14, fri15])).toEqual([wed13, fri15]);
  });

  it('requires both day fields when one of them is *', () => {
    const wed13 = '2025-08-13T00:00:00Z';
    const fri15 = '2025-08-15T00:00:00Z';
    expect(matching('0 0 13 * *', [wed13, fri15])).toEqual([wed13]);
    expect(matching('0 0 * * FRI', [wed13, fri15])).toEqual([fri15]);
  });

  it('counts a field starting with * as unrestricted for the day rule, as Vixie cron does', () => {
    // */2 is days 1,3,5,...: Monday the 13th is odd, Monday the 20th is even, Wednesday the 15th is not Monday.
    const mon13 = '2025-01-13T00:00:00Z';
    const wed15 = '2025-01-15T00:00:00Z';
    const mon20 = '2025-01-20T00:00:00Z';
    expect(matching('0 0 */2 * MON', [mon13, wed15, mon20])).toEqual([mon13]);
  });

  it('keeps the trimmed expression', () => {
    expect(parseCron('  0  12 * * *\t').expression).toBe('0  12 * * *');
  });
});

describe('invalid expressions', () => {
  const cases: [expression: string, message: RegExp][] = [
    ['', /expected 5 fields .*got 0/],
    ['* * * *', /expected 5 fields .*got 4/],
    ['0 * * * * *', /expected 5 fields .*got 6/],
    ['@hourly', /macro '@hourly' is not supported/],
    [`0 0 * * ${'1,'.repeat(100)}1`, /longer than 200 characters/],
    ['1,,2 * * * *', /^minute field: empty list item/],
    ['* * * 1, *', /^month field: empty list item/],
    ['* x * * *', /^hour field: 'x' is not a number/],
    ['MON * * * *', /^minute field: 'MON' is not a number/],
    ['* * * FOO *', /^month field: 'FOO' is not a number or name/],
    ['* * * * JAN', /^day-of-week field: 'JAN' is not a number or name/],
    ['60 * * * *', /^minute field: 60 is out of range 0-59/],
    ['* 24 * * *', /^hour field: 24 is out of range 0-23/],
    ['* * 0 * *', /^day-of-month field: 0 is out of range 1-31/],
    ['* * 32 * *', /^day-of-month field: 32 is out of range 1-31/],
    ['* * * 13 *', /^month field: 13 is out of range 1-12/],
    ['* * * * 8', /^day-of-week field: 8 is out of range 0-7/],
    ['-5 * * * *', /^minute field: '' is not a number/],
    ['*/0 * * * *', /^minute field: step '0' is not a positive integer/],
    ['* */x * * *', /^hour field: step 'x' is not a positive integer/],
    ['* */-1 * * *', /^hour field: step '-1' is not a positive integer/],
    ['* * */1.5 * *', /^day-of-month field: step '1.5' is not a positive integer/],
    ['* * * */ *', /^month field: step '' is not a positive integer/],
    ['*/2/3 * * * *', /^minute field: '\*\/2\/3' has more than one step/],
    ['1-2-3 * * * *', /^minute field: '1-2-3' is not a valid range/],
    ['5-1 * * * *', /^minute field: range '5-1' is reversed/],
    ['* * * * FRI-MON', /^day-of-week field: range 'FRI-MON' is reversed/],
    ['* * L * *', /^day-of-month field: 'L' uses L, W, # or \?/],
    ['* * 15W * *', /^day-of-month field: '15W' uses L, W, # or \?/],
    ['* * * * 5L', /^day-of-week field: '5L' uses L, W, # or \?/],
    ['* * * * 5#3', /^day-of-week field: '5#3' uses L, W, # or \?/],
    ['* * ? * MON', /^day-of-month field: '\?' uses L, W, # or \?/],
  ];

  it.each(cases)('rejects %j', (expression, message) => {
    expect(() => parseCron(expression)).toThrow(CronError);
    expect(() => parseCron(expression)).toThrow(message);
    expect(cronError(expression)).toMatch(message);
  });

  it('returns null from cronError for a valid expression', () => {
    expect(cronError('*/15 9-17 * jan-jun MON-FRI')).toBeNull();
  });
});

describe('parseCron().next', () => {
  it('returns the next match strictly after the given time, with seconds zeroed', () => {
    expect(nextAfter('*/5 * * * *', '2025-06-01T12:03:30.500Z')).toBe('2025-06-01T12:05:00.000Z');
    expect(nextAfter('*/5 * * * *', '2025-06-01T12:05:00.000Z')).toBe('2025-06-01T12:10:00.000Z');
    expect(nextAfter('*/5 * * * *', '2025-06-01T12:05:59.999Z')).toBe('2025-06-01T12:10:00.000Z');
  });

  it('crosses an hour boundary', () => {
    expect(nextAfter('0 * * * *', '2025-06-01T10:30:00Z')).toBe('2025-06-01T11:00:00.000Z');
  });

  it('crosses a day boundary', () => {
    expect(nextAfter('30 2 * * *', '2025-03-10T03:00:00Z')).toBe('2025-03-11T02:30:00.000Z');
  });

  it('crosses a month boundary', () => {
    expect(nextAfter('0 0 1 * *', '2025-01-31T12:00:00Z')).toBe('2025-02-01T00:00:00.000Z');
    expect(nextAfter('0 0 31 * *', '2025-04-01T00:00:00Z')).toBe('2025-05-31T00:00:00.000Z');
  });

  it('crosses a year boundary', () => {
    expect(nextAfter('0 0 1 1 *', '2025-12-31T23:59:30Z')).toBe('2026-01-01T00:00:00.000Z');
    expect(nextAfter('0 12 * NOV *', '2025-12-01T00:00:00Z')).toBe('2026-11-01T12:00:00.000Z');
  });

  it('finds the next weekday', () => {
    // 2025-01-01 is a Wednesday.
    expect(nextAfter('0 9 * * MON', '2025-01-01T00:00:00Z')).toBe('2025-01-06T09:00:00.000Z');
  });

  it('finds the next leap day', () => {
    expect(nextAfter('0 0 29 2 *', '2027-01-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it('skips 2100, which is not a leap year', () => {
    expect(nextAfter('0 0 29 2 *', '2096-03-01T00:00:00Z')).toBe('2104-02-29T00:00:00.000Z');
  });

  it('agrees with a minute-by-minute scan using matches()', () => {
    const from = Date.parse('2025-01-30T22:58:00Z');
    const expressions = ['*/7 3-5 * * *', '0 0 13 * FRI', '15 10 */10 * MON-WED', '59 23 31 * *'];
    for (const expression of expressions) {
      const schedule = parseCron(expression);
      let time = from + 60_000;
      while (!schedule.matches(new Date(time))) time += 60_000;
      expect(schedule.next(new Date(from)).getTime(), expression).toBe(time);
    }
  });

  it('throws CronError for a schedule that can never match', () => {
    expect(() => parseCron('0 0 30 2 *').next(at('2025-01-01T00:00:00Z'))).toThrow(CronError);
    expect(() => parseCron('0 0 31 4,6,9,11 *').next(at('2025-01-01T00:00:00Z'))).toThrow(/never matches/);
  });

  it('throws RangeError for an invalid date', () => {
    expect(() => parseCron('* * * * *').next(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('time zones', () => {
  const berlinNext = (expression: string, after: string): string => parseCron(expression, 'Europe/Berlin').next(at(after)).toISOString();

  it('reads the fields in the zone: 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer', () => {
    const schedule = parseCron('0 9 * * *', 'Europe/Berlin');
    expect(schedule.timezone).toBe('Europe/Berlin');
    expect(schedule.matches(at('2026-01-15T08:00:00Z'))).toBe(true);
    expect(schedule.matches(at('2026-01-15T09:00:00Z'))).toBe(false);
    expect(schedule.matches(at('2026-07-15T07:00:00Z'))).toBe(true);
    expect(parseCron('0 9 * * *').timezone).toBe('UTC');
  });

  it('fires at the right UTC minute across the change to summer time (2026-03-29, 02:00 → 03:00)', () => {
    expect(berlinNext('0 9 * * *', '2026-03-28T08:00:00Z')).toBe('2026-03-29T07:00:00.000Z');
    // Days and weekdays are Berlin's: Sunday 00:30 in Berlin is Saturday 23:30 UTC.
    expect(berlinNext('30 0 * * SUN', '2026-03-27T00:00:00Z')).toBe('2026-03-28T23:30:00.000Z');
    // 02:30 does not exist that night: a fixed time runs at the first minute after the gap (03:00 CEST, 01:00 UTC)…
    expect(berlinNext('30 2 * * *', '2026-03-28T12:00:00Z')).toBe('2026-03-29T01:00:00.000Z');
    expect(berlinNext('30 2 * * *', '2026-03-29T01:00:00Z')).toBe('2026-03-30T00:30:00.000Z');
    // …and a repeating one skips the missing half hours.
    expect(berlinNext('*/30 * * * *', '2026-03-29T00:30:00Z')).toBe('2026-03-29T01:00:00.000Z');
  });

  it('fires at the right UTC minute across the change back to winter time (2026-10-25, 03:00 → 02:00)', () => {
    expect(berlinNext('0 9 * * *', '2026-10-24T07:00:00Z')).toBe('2026-10-25T08:00:00.000Z');
    // 02:30 happens twice: a fixed time runs once, at the first (CEST, 00:30 UTC)…
    expect(berlinNext('30 2 * * *', '2026-10-24T12:00:00Z')).toBe('2026-10-25T00:30:00.000Z');
    expect(berlinNext('30 2 * * *', '2026-10-25T00:30:00Z')).toBe('2026-10-26T01:30:00.000Z');
    // …and a repeating one runs in both.
    expect(berlinNext('30 * * * *', '2026-10-25T00:30:00Z')).toBe('2026-10-25T01:30:00.000Z');
  });

  it('matches every minute of a zone with a half-hour offset at its own local times', () => {
    // India is UTC+05:30 all year: 09:00 there is 03:30 UTC.
    expect(parseCron('0 9 * * *', 'Asia/Kolkata').next(at('2026-06-01T00:00:00Z')).toISOString()).toBe('2026-06-01T03:30:00.000Z');
  });

  it('refuses an unknown zone', () => {
    expect(() => parseCron('0 9 * * *', 'Europe/Atlantis')).toThrow(CronError);
    expect(cronError('0 9 * * *', 'Mars/Olympus_Mons')).toMatch(/unknown time zone 'Mars\/Olympus_Mons'/);
    expect(cronError('0 9 * * *', 'America/New_York')).toBeNull();
  });
});
