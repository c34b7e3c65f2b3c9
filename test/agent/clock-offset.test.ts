/**
 * HANASR_CLOCK_OFFSET_FILE (testing only): a real agent's wall clock jumps when the file changes;
 * its monotonic clock does not; a file that says nothing sensible leaves the last offset.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileOffsetClock, parseClockOffset } from '../../src/agent/clock-offset.js';
import { realClock } from '../../src/clock.js';

const dir = mkdtempSync(join(tmpdir(), 'hanasr-clock-offset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the clock offset file', () => {
  it('parses an integer number of milliseconds and nothing else', () => {
    expect(parseClockOffset('30000\n')).toBe(30000);
    expect(parseClockOffset(' -1500 ')).toBe(-1500);
    expect(parseClockOffset('+7')).toBe(7);
    for (const bad of ['', '1.5', '12s', 'NaN', '1e9', '99999999999999999'])
      expect(parseClockOffset(bad), bad).toBeUndefined();
  });

  it('moves the wall clock when the file changes, not the monotonic clock', async () => {
    const file = join(dir, 'offset');
    const off = fileOffsetClock(realClock, file, 20);
    try {
      // Missing file: no offset.
      expect(Math.abs(off.clock.now() - Date.now())).toBeLessThan(1000);
      writeFileSync(file, '-60000\n');
      await new Promise((r) => setTimeout(r, 100));
      expect(off.offsetMs()).toBe(-60000);
      expect(Date.now() - off.clock.now()).toBeGreaterThanOrEqual(59_000);
      expect(Math.abs(off.clock.monotonic() - realClock.monotonic())).toBeLessThan(1000);
      // Garbage keeps the last offset.
      writeFileSync(file, 'soon\n');
      await new Promise((r) => setTimeout(r, 100));
      expect(off.offsetMs()).toBe(-60000);
      writeFileSync(file, '0\n');
      await new Promise((r) => setTimeout(r, 100));
      expect(off.offsetMs()).toBe(0);
    } finally {
      off.stop();
    }
  });
});
