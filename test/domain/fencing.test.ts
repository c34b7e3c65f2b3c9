import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/api/spec.js';
import {
  WATCHDOG_RESET_ALLOWANCE_MS,
  maxWatchdogTimeoutSeconds,
  watchdogFeed,
  watchdogFeedAllowed,
  watchdogVerdict,
  watchdogWanted,
} from '../../src/domain/fencing.js';

const spec = (watchdog: Record<string, unknown> = {}, ttlSeconds = 10) =>
  parseSpec({
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'a' },
      { name: 'B', host: 'b' },
    ],
    lease: { ttlSeconds },
    // Room for the node-loss timing rule at every TTL used here (ttl + 3 cycles + skew).
    replication: { logShippingTimeoutSeconds: 60 },
    fencing: { watchdog },
  });

describe('watchdogVerdict', () => {
  const ok = { present: true, timeoutSeconds: 7, device: '/dev/watchdog' };
  it.each([
    ['automatic', ok, true, true, 'watchdog_usable'],
    ['required', ok, true, true, 'watchdog_usable'],
    ['disabled', ok, false, true, 'watchdog_disabled'],
    ['automatic', { present: false, problem: 'no /dev/watchdog' }, false, true, 'watchdog_absent'],
    ['required', { present: false, problem: 'no /dev/watchdog' }, false, false, 'watchdog_absent'],
    ['automatic', null, false, true, 'watchdog_absent'],
    ['required', null, false, false, 'watchdog_absent'],
    ['automatic', { present: true, timeoutSeconds: 8 }, false, true, 'watchdog_timeout_too_long'],
    ['required', { present: true, timeoutSeconds: 60 }, false, false, 'watchdog_timeout_too_long'],
    ['required', { present: true }, false, false, 'watchdog_timeout_unknown'],
    ['automatic', { present: true, timeoutSeconds: 0 }, false, true, 'watchdog_timeout_unknown'],
    ['required', { present: true, timeoutSeconds: 5, nowayout: true }, false, false, 'watchdog_nowayout'],
  ] as const)('%s with %j: use %s, may lead %s (%s)', (mode, facts, use, mayLead, reason) => {
    const v = watchdogVerdict(spec({ mode }), facts);
    expect(v).toMatchObject({ use, mayLead, reason });
    expect(v.message.length).toBeGreaterThan(10);
  });

  it('tells how to set softdog when the timeout is too long', () => {
    const v = watchdogVerdict(spec({ mode: 'required' }, 15), { present: true, timeoutSeconds: 60 });
    expect(maxWatchdogTimeoutSeconds(spec({}, 15))).toBe(12);
    expect(v.message).toContain('60 s exceeds lease.ttlSeconds - safetyMarginSeconds = 12 s');
    expect(v.message).toContain('soft_margin=12');
    expect(v.message).toContain('does not lead');
  });

  it('a timeout that leaves a healthy leader no time to feed is unusable (found by sim:fuzz)', () => {
    // ttl 7 s, margin 1 s, timeout 6 s: a feed needs now + 6 s + 1 s (reset) <= the renewal + 7 s,
    // so only at the instant of a renewal: the feeder (every 500 ms) misses it and a healthy
    // primary resets itself (schedule 71000342: takeover from a primary that had no failure).
    const v = watchdogVerdict(spec({ mode: 'automatic', safetyMarginSeconds: 1 }, 7), {
      present: true,
      timeoutSeconds: 6,
    });
    expect(v).toMatchObject({ use: false, mayLead: true, reason: 'watchdog_timeout_too_long' });
    expect(v.message).toContain('cannot be fed in time');
    // Renewals every ttl/3 s: between the last feed a renewal allows and the first after the next
    // renewal lie up to ttl/3 - window + two ticks; the timeout must outlast that gap. ttl 3 s,
    // timeout 1.5 s: a 0.5 s window, a renewal every second: feeds may be 1.5 s apart.
    const tight = watchdogVerdict(spec({ mode: 'required', safetyMarginSeconds: 1 }, 3), {
      present: true,
      timeoutSeconds: 1.5,
    });
    expect(tight).toMatchObject({ use: false, mayLead: false, reason: 'watchdog_timeout_too_long' });
    expect(
      watchdogVerdict(spec({ safetyMarginSeconds: 2 }, 3), { present: true, timeoutSeconds: 1 }),
    ).toMatchObject({
      use: true,
    });
    expect(
      watchdogVerdict(spec({ mode: 'required', safetyMarginSeconds: 2 }, 15), {
        present: true,
        timeoutSeconds: 12,
      }),
    ).toMatchObject({ use: true });
    expect(
      watchdogVerdict(spec({ safetyMarginSeconds: 1 }, 7), { present: true, timeoutSeconds: 5 }),
    ).toMatchObject({ use: true });
  });

  it('a lease too short for the margin leaves no usable watchdog (automatic mode)', () => {
    const v = watchdogVerdict(spec({ mode: 'automatic' }, 3), { present: true, timeoutSeconds: 1 });
    expect(v).toMatchObject({ use: false, mayLead: true, reason: 'watchdog_timeout_too_long' });
    expect(v.message).toContain('= 0 s leaves no room');
  });
});

describe('watchdogFeedAllowed', () => {
  const s = spec();
  it('feeds only while the reset would come before the lease can expire', () => {
    // ttl 10 s, timeout 7 s, allowance 1 s: a renewal sent at 0 allows feeds until 2 s.
    expect(WATCHDOG_RESET_ALLOWANCE_MS).toBe(1000);
    expect(watchdogFeedAllowed(s, 7, 0, 0)).toBe(true);
    expect(watchdogFeedAllowed(s, 7, 0, 2000)).toBe(true);
    expect(watchdogFeedAllowed(s, 7, 0, 2001)).toBe(false);
    expect(watchdogFeedAllowed(s, 9, 0, 0)).toBe(true);
    expect(watchdogFeedAllowed(s, 9.5, 0, 0)).toBe(false);
  });
  it('never feeds without a confirmed renewal or a known timeout', () => {
    expect(watchdogFeedAllowed(s, 7, null, 0)).toBe(false);
    expect(watchdogFeedAllowed(s, 0, 0, 0)).toBe(false);
    expect(watchdogFeedAllowed(s, Number.NaN, 0, 0)).toBe(false);
  });
  it('holds the invariant on a grid: a feed allowed at t resets the node before the lease ends', () => {
    for (let renewed = 0; renewed <= 5000; renewed += 250)
      for (let now = renewed; now <= renewed + 12000; now += 125)
        for (const timeout of [1, 3, 7, 9, 12])
          if (watchdogFeedAllowed(s, timeout, renewed, now))
            expect(now + timeout * 1000 + WATCHDOG_RESET_ALLOWANCE_MS).toBeLessThanOrEqual(renewed + 10_000);
  });
});

describe('watchdogWanted', () => {
  const usable = watchdogVerdict(spec(), { present: true, timeoutSeconds: 7 });
  const unusable = watchdogVerdict(spec(), { present: false, problem: 'gone' });
  it.each([
    [{}, usable, true, false, true],
    [{}, usable, false, true, true],
    [{}, usable, false, false, false],
    [{ resetHungSecondaryAfterSeconds: 60 }, usable, false, false, true],
    [{ resetHungSecondaryAfterSeconds: 60 }, unusable, true, true, false],
    [{ mode: 'disabled' }, watchdogVerdict(spec({ mode: 'disabled' }), null), true, true, false],
  ] as const)('%j, leading %s, may write %s: armed %s', (wd, verdict, leading, mayBeWriting, want) => {
    expect(watchdogWanted(spec(wd), verdict, { leading: leading as boolean, mayBeWriting })).toBe(want);
  });
});

describe('watchdogFeed', () => {
  const base = {
    leading: true,
    mayBeWriting: true,
    lastRenewedAt: 100_000,
    now: 100_500,
    timeoutSeconds: 7,
    stopping: 'none' as 'none' | 'in-progress' | 'failed',
    failsafe: false,
    hungForMs: null,
  };
  it.each([
    ['a leader right after a confirmed renewal', {}, true, 'watchdog_fed'],
    ['a leader 2 s after the renewal (the bound: 2 + 7 + 1 = 10)', { now: 102_000 }, true, 'watchdog_fed'],
    ['a leader 2.001 s after the renewal', { now: 102_001 }, false, 'watchdog_renewal_too_old'],
    ['a leader without a confirmed renewal', { lastRenewedAt: null }, false, 'watchdog_renewal_unconfirmed'],
    [
      'a leader stopping its primary (it keeps the key meanwhile)',
      { stopping: 'in-progress' },
      true,
      'watchdog_fed',
    ],
    ['a leader whose stop and kill failed', { stopping: 'failed' }, false, 'watchdog_self_fencing'],
    [
      'a leader whose stop failed, lease too old anyway',
      { stopping: 'failed', now: 190_000 },
      false,
      'watchdog_self_fencing',
    ],
    [
      'a former primary stopping without the key',
      { leading: false, stopping: 'in-progress' },
      false,
      'watchdog_self_fencing',
    ],
    [
      'a secondary whose stop failed',
      { leading: false, mayBeWriting: false, stopping: 'failed' },
      true,
      'watchdog_fed',
    ],
    ['a leader in failsafe, its renewal 60 s old', { failsafe: true, now: 160_000 }, true, 'watchdog_fed'],
    [
      'a leader in failsafe stopping after a failure',
      { failsafe: true, stopping: 'failed' },
      false,
      'watchdog_self_fencing',
    ],
    [
      'a non-leader: failsafe means nothing',
      { leading: false, mayBeWriting: false, failsafe: true, hungForMs: 60_000 },
      false,
      'watchdog_hung_site_reset',
    ],
    [
      'a secondary, its renewal long ago',
      { leading: false, mayBeWriting: false, now: 190_000 },
      true,
      'watchdog_fed',
    ],
    [
      'a secondary hung 59 s of 60',
      { leading: false, mayBeWriting: false, hungForMs: 59_000 },
      true,
      'watchdog_fed',
    ],
    [
      'a secondary hung 60 s of 60',
      { leading: false, mayBeWriting: false, hungForMs: 60_000 },
      false,
      'watchdog_hung_site_reset',
    ],
  ] as const)('%s', (_name, over, feed, reason) => {
    const v = watchdogFeed(spec({ resetHungSecondaryAfterSeconds: 60 }), { ...base, ...over });
    expect(v).toMatchObject({ feed, reason });
    expect(v.message.length).toBeGreaterThan(10);
  });
  it('never resets a hung secondary when the spec does not ask for it', () => {
    const v = watchdogFeed(spec(), { ...base, leading: false, mayBeWriting: false, hungForMs: 3_600_000 });
    expect(v.feed).toBe(true);
  });
});
