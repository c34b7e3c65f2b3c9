import { describe, expect, it } from 'vitest';
import { CronError, nextRun, parseCron, previousRun } from '../../src/domain/cron.js';

const at = (s: string) => Date.parse(s);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

describe('parseCron', () => {
  it.each([
    ['0 0 * * *'],
    ['*/15 * * * *'],
    ['5 1-5/2 * * MON-FRI'],
    ['0 0 1,15 * *'],
    ['0 3 * JAN,jul sun'],
    ['30 2 * * 7'],
  ])('accepts %s', (src) => {
    expect(() => parseCron(src)).not.toThrow();
  });

  it.each([
    ['', 'needs 5 fields'],
    ['* * * *', 'needs 5 fields'],
    ['* * * * * *', 'needs 5 fields'],
    ['60 * * * *', 'minute: 60 is outside 0-59'],
    ['* 24 * * *', 'hour: 24 is outside 0-23'],
    ['* * 0 * *', 'day of month: 0 is outside 1-31'],
    ['* * * 13 *', 'month: 13 is outside 1-12'],
    ['* * * * 8', 'day of week: 8 is outside 0-7'],
    ['*/0 * * * *', 'step "0"'],
    ['5-1 * * * *', 'runs backwards'],
    ['a * * * *', 'minute: "a" is not a number'],
    ['* * * FOO *', 'month: "FOO" is not a number or a name'],
    ['1,,2 * * * *', 'empty list element'],
    ['0 0 30 2 *', 'never matches'],
    ['1/2/3 * * * *', 'two steps'],
  ])('refuses %j (%s)', (src, message) => {
    expect(() => parseCron(src)).toThrow(CronError);
    expect(() => parseCron(src)).toThrow(message);
  });

  it('refuses an unknown time zone', () => {
    expect(() => parseCron('0 0 * * *', 'Mars/Olympus')).toThrow('unknown time zone');
  });
});

describe('nextRun / previousRun (UTC)', () => {
  it.each([
    ['0 0 * * *', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['0 0 * * *', '2026-01-01T10:30:00Z', '2026-01-02T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['*/15 * * * *', '2026-01-01T10:07:30Z', '2026-01-01T10:15:00.000Z', '2026-01-01T10:00:00.000Z'],
    ['30 2 * * 0', '2026-01-01T00:00:00Z', '2026-01-04T02:30:00.000Z', '2025-12-28T02:30:00.000Z'],
    ['0 12 * * MON-FRI', '2026-01-03T13:00:00Z', '2026-01-05T12:00:00.000Z', '2026-01-02T12:00:00.000Z'],
    ['0 0 31 * *', '2026-02-01T00:00:00Z', '2026-03-31T00:00:00.000Z', '2026-01-31T00:00:00.000Z'],
    ['0 0 29 2 *', '2026-01-01T00:00:00Z', '2028-02-29T00:00:00.000Z', '2024-02-29T00:00:00.000Z'],
    // Both day fields restricted: either matches (the 13th, or any Friday).
    ['0 0 13 * 5', '2026-01-10T00:00:00Z', '2026-01-13T00:00:00.000Z', '2026-01-09T00:00:00.000Z'],
  ])('%s from %s: next %s, previous %s', (src, from, next, prev) => {
    const s = parseCron(src);
    expect(iso(nextRun(s, at(from)))).toBe(next);
    expect(iso(previousRun(s, at(from)))).toBe(prev);
  });

  it('a step over a day field restricted by */n still needs both day fields', () => {
    // */2 in day-of-month counts as unrestricted: odd days that are Mondays.
    const s = parseCron('0 0 */2 * 1');
    expect(iso(nextRun(s, at('2026-01-01T00:00:00Z')))).toBe('2026-01-05T00:00:00.000Z');
  });

  it('nextRun is strictly after, previousRun at or before', () => {
    const s = parseCron('0 * * * *');
    const t = at('2026-01-01T05:00:00Z');
    expect(nextRun(s, t)).toBe(t + 3_600_000);
    expect(previousRun(s, t)).toBe(t);
  });
});

describe('time zones', () => {
  it('reads the fields in the zone', () => {
    const s = parseCron('0 2 * * *', 'Europe/Berlin');
    expect(iso(nextRun(s, at('2026-01-10T00:00:00Z')))).toBe('2026-01-10T01:00:00.000Z');
    expect(iso(nextRun(s, at('2026-07-09T12:00:00Z')))).toBe('2026-07-10T00:00:00.000Z');
  });

  it('a wall time skipped by DST runs at the first minute after the gap, once', () => {
    // 2026-03-29 02:30 does not exist in Berlin (02:00 -> 03:00).
    const s = parseCron('30 2 * * *', 'Europe/Berlin');
    expect(iso(nextRun(s, at('2026-03-28T12:00:00Z')))).toBe('2026-03-29T01:00:00.000Z');
    expect(iso(nextRun(s, at('2026-03-29T01:00:00Z')))).toBe('2026-03-30T00:30:00.000Z');
  });

  it('a wall time that exists twice (DST ends) runs once, the first time', () => {
    // 2026-10-25 02:30 happens at 00:30Z (CEST) and 01:30Z (CET).
    const s = parseCron('30 2 * * *', 'Europe/Berlin');
    expect(iso(nextRun(s, at('2026-10-24T12:00:00Z')))).toBe('2026-10-25T00:30:00.000Z');
    expect(iso(nextRun(s, at('2026-10-25T00:30:00Z')))).toBe('2026-10-26T01:30:00.000Z');
    expect(iso(previousRun(s, at('2026-10-25T01:45:00Z')))).toBe('2026-10-25T00:30:00.000Z');
  });
});
