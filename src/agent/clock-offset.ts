/**
 * A wall clock off true time by an amount read from a file: how the chaos suite (test/chaos)
 * jumps the clock of a real `hanasr agent` process without root, libfaketime or touching the
 * host's clock (HANASR_CLOCK_OFFSET_FILE, for testing only).
 *
 * The file holds one integer, the offset in milliseconds (may be negative); it is re-read every
 * `everyMs`, so writing a new number is a clock jump. A missing, unreadable or unparseable file
 * leaves the last offset in force (0 at the start). As with a real NTP step or `date -s`, only
 * the wall clock moves: the monotonic clock, sleeps and timers stay on the base clock.
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { siteClock } from '../sim/site-clock.js';

/** Parses the file's text: an integer number of milliseconds, or undefined. */
export function parseClockOffset(text: string): number | undefined {
  const line = text.split('\n')[0]?.trim() ?? '';
  if (!/^[-+]?\d{1,13}$/.test(line)) return undefined;
  return Number(line);
}

export function fileOffsetClock(
  base: Clock,
  file: string,
  everyMs = 200,
): { readonly clock: Clock; offsetMs(): number; stop(): void } {
  let offset = 0;
  const read = () => {
    try {
      const v = parseClockOffset(readFileSync(file, 'utf8'));
      if (v !== undefined) offset = v;
    } catch {
      // missing or unreadable: the last offset stays
    }
  };
  read();
  const timer = setInterval(read, everyMs);
  timer.unref();
  return {
    clock: siteClock(base, () => offset),
    offsetMs: () => offset,
    stop: () => clearInterval(timer),
  };
}
