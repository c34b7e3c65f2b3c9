/**
 * Standard 5-field cron expressions (minute hour day-of-month month day-of-week), as the backup
 * schedule takes them: numbers, `*`, ranges `a-b`, steps `*\/n` and `a-b/n`, lists `a,b`, month
 * and day names (`JAN`, `MON`), day-of-week 0-7 (0 and 7 are Sunday). When both day fields are
 * restricted, a day matches when either does (Vixie cron's rule). Pure: times are passed in.
 *
 * Times are UTC unless a time zone (an IANA name) is given: then the fields are read as that
 * zone's wall clock. A wall time that does not exist (the hour skipped when DST starts) runs at
 * the next minute that does; a wall time that exists twice (DST ends) runs once, the first time.
 */

export interface CronSchedule {
  readonly source: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
  /** The day-of-month field is restricted (not `*`). */
  readonly dayRestricted: boolean;
  /** The day-of-week field is restricted (not `*`). */
  readonly weekdayRestricted: boolean;
  readonly timeZone?: string;
}

export class CronError extends Error {
  readonly code = 'INVALID_CRON' as const;
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** First value of `names` (1 for months, 0 for weekdays). */
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: WEEKDAYS, nameBase: 0 },
];

function value(text: string, f: FieldSpec): number {
  if (/^[0-9]{1,2}$/.test(text)) {
    const n = Number(text);
    if (n < f.min || n > f.max) throw new CronError(`${f.name}: ${text} is outside ${f.min}-${f.max}`);
    return n;
  }
  const i = f.names?.indexOf(text.toUpperCase()) ?? -1;
  if (i < 0 || f.nameBase === undefined)
    throw new CronError(`${f.name}: "${text}" is not a number${f.names ? ' or a name' : ''}`);
  return i + f.nameBase;
}

function field(text: string, f: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    if (part === '') throw new CronError(`${f.name}: empty list element`);
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined) throw new CronError(`${f.name}: "${part}" has two steps`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^[0-9]{1,2}$/.test(stepText) || Number(stepText) === 0)
        throw new CronError(`${f.name}: step "${stepText}" must be a number from 1 to 99`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = f.min;
      hi = f.name === 'day of week' ? 6 : f.max;
    } else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (a === undefined || b === undefined || more !== undefined || a === '' || b === '')
        throw new CronError(`${f.name}: "${range}" is not a range a-b`);
      lo = value(a, f);
      hi = value(b, f);
      if (lo > hi) throw new CronError(`${f.name}: range "${range}" runs backwards`);
    } else {
      lo = value(range, f);
      hi = stepText !== undefined ? (f.name === 'day of week' ? 6 : f.max) : lo;
    }
    for (let v = lo; v <= hi; v += step) out.add(f.name === 'day of week' && v === 7 ? 0 : v);
  }
  return out;
}

/** Is this an IANA time zone the runtime knows? */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Parses a 5-field cron expression; throws CronError naming the field at fault. */
export function parseCron(source: string, timeZone?: string): CronSchedule {
  if (source.length > 200) throw new CronError('longer than 200 characters');
  const parts = source.trim().split(/\s+/);
  if (parts.length !== 5 || parts[0] === '')
    throw new CronError(
      `needs 5 fields (minute hour day-of-month month day-of-week), got ${parts[0] === '' ? 0 : parts.length}`,
    );
  const [mi, h, d, mo, w] = parts.map((p, i) => field(p, FIELDS[i]!)) as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  if (timeZone !== undefined && !isTimeZone(timeZone)) throw new CronError(`unknown time zone "${timeZone}"`);
  const schedule: CronSchedule = {
    source,
    minutes: mi,
    hours: h,
    days: d,
    months: mo,
    weekdays: w,
    dayRestricted: parts[2] !== '*' && !parts[2]!.startsWith('*/'),
    weekdayRestricted: parts[4] !== '*' && !parts[4]!.startsWith('*/'),
    ...(timeZone !== undefined && timeZone !== 'UTC' ? { timeZone } : {}),
  };
  // A schedule that never fires (30 February) is refused here rather than silently never running.
  if (nextWall(schedule, Date.UTC(2000, 0, 1), 1) === null)
    throw new CronError('never matches a date (e.g. 30 February)');
  return schedule;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Does the wall-clock minute `t` (fields read as UTC) match? */
function matchesDay(s: CronSchedule, t: Date): boolean {
  const dom = s.days.has(t.getUTCDate());
  const dow = s.weekdays.has(t.getUTCDay());
  // Both restricted: either matches. Otherwise both must (a `*` field matches every day).
  if (s.dayRestricted && s.weekdayRestricted) return dom || dow;
  return dom && dow;
}

/**
 * The first wall-clock minute (fields read as UTC) at or after `from` (dir 1) or at or before it
 * (dir -1) that matches, searching at most 5 years; null when none.
 */
function nextWall(s: CronSchedule, from: number, dir: 1 | -1): number | null {
  let t = dir === 1 ? Math.ceil(from / MINUTE) * MINUTE : Math.floor(from / MINUTE) * MINUTE;
  const limit = t + dir * 5 * 366 * DAY;
  while (dir === 1 ? t <= limit : t >= limit) {
    const d = new Date(t);
    if (!s.months.has(d.getUTCMonth() + 1) || !matchesDay(s, d)) {
      // Skip to the next (or previous) day.
      const day = Math.floor(t / DAY) * DAY;
      t = dir === 1 ? day + DAY : day - MINUTE;
      continue;
    }
    if (!s.hours.has(d.getUTCHours())) {
      const hour = Math.floor(t / 3_600_000) * 3_600_000;
      t = dir === 1 ? hour + 3_600_000 : hour - MINUTE;
      continue;
    }
    if (s.minutes.has(d.getUTCMinutes())) return t;
    t += dir * MINUTE;
  }
  return null;
}

/** The zone's offset from UTC (ms) at instant `t`. */
function zoneOffset(zone: string, t: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  return wall - Math.floor(t / MINUTE) * MINUTE;
}

/** The instant of a wall time in the zone: the first of two (DST end); null when it does not exist. */
function instantOf(zone: string, wall: number): number | null {
  const candidates = new Set<number>();
  for (const probe of [wall - DAY / 2, wall + DAY / 2, wall]) candidates.add(wall - zoneOffset(zone, probe));
  const fits = [...candidates].filter((t) => t + zoneOffset(zone, t) === wall).sort((a, b) => a - b);
  return fits[0] ?? null;
}

/** The first time the schedule fires strictly after `after` (ms); null when never (within 5 years). */
export function nextRun(s: CronSchedule, after: number): number | null {
  if (s.timeZone === undefined) return nextWall(s, after + 1, 1);
  const zone = s.timeZone;
  let wall = Math.floor((after + zoneOffset(zone, after)) / MINUTE) * MINUTE + MINUTE;
  for (let i = 0; i < 1000; i++) {
    const w = nextWall(s, wall, 1);
    if (w === null) return null;
    const at = instantOf(zone, w);
    if (at !== null && at > after) return at;
    if (at === null) {
      // Skipped by DST: runs at the first minute after the gap.
      for (let g = w + MINUTE; g <= w + 3 * 3_600_000; g += MINUTE) {
        const shifted = instantOf(zone, g);
        if (shifted !== null) {
          if (shifted > after) return shifted;
          break;
        }
      }
    }
    wall = w + MINUTE;
  }
  return null;
}

/** The last time the schedule fired at or before `at` (ms); null when never (within 5 years). */
export function previousRun(s: CronSchedule, at: number): number | null {
  if (s.timeZone === undefined) return nextWall(s, at, -1);
  // Walk back a day at a time and take the newest firing time not after `at`.
  for (let back = DAY; back <= 5 * 366 * DAY; back *= 2) {
    let t = at - back;
    let last: number | null = null;
    for (;;) {
      const n = nextRun(s, t);
      if (n === null || n > at) break;
      last = n;
      t = n;
    }
    if (last !== null) return last;
  }
  return null;
}
