/**
 * The holes review and fuzzing found in the in-sync rule, each as decide() sees it: unknown lag
 * read as zero lag (issue 10 item 1), a stale report read as a fresh one (item 11), and clocks of
 * two hosts compared as one (item 2). Every row failed before the fix: the secondary took over.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/domain/decide.js';
import type { SkewEstimate } from '../../src/domain/clock-skew.js';
import {
  T,
  aLeaderFailed,
  bAfterPrimaryLoss,
  downHealth,
  report,
  spec,
  syncRecord,
} from '../support/observations.js';

const S = spec();
const silentA = { reports: {} };

describe('unknown lag is not zero lag (item 1)', () => {
  it.each(['sync', 'syncmem'] as const)(
    '%s: a SOK record whose lag was never known is not trusted once the primary is silent',
    (mode) => {
      const s = spec({ replication: { mode } });
      const d = decide(
        bAfterPrimaryLoss({ ...silentA, sync: { B: syncRecord('B', 'SOK', { mode, lagSeconds: null }) } }),
        s,
        T,
      );
      expect(d.action.kind).toBe('none');
      expect(d.reason).toBe('not_in_sync');
      expect(d.message).toContain('lag');
      expect(d.message).toContain('unknown');
    },
  );

  it('the leader does not step down for a secondary whose lag it never knew', () => {
    const d = decide(
      aLeaderFailed({ sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 8000, lagSeconds: null }) } }),
      S,
      T,
    );
    expect(d.action.kind).toBe('start-local');
    expect(d.reason).toBe('secondary_not_in_sync_restart_locally');
  });

  it('trusts an unknown-lag record only as far as the last contact that was known', () => {
    // Confirmed 4 s ago with the lag unknown; the last record with a known lag put the contact
    // 29.5 s back: the primary may commit alone from 0.5 s ago on.
    const rec = syncRecord('B', 'SOK', { lagSeconds: null, contactAt: T - 29_500 });
    const d = decide(bAfterPrimaryLoss({ ...silentA, sync: { B: rec } }), S, T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('not_in_sync');
    const recent = syncRecord('B', 'SOK', { lagSeconds: null, contactAt: T - 20_000 });
    expect(decide(bAfterPrimaryLoss({ ...silentA, sync: { B: recent } }), S, T).action.kind).toBe('takeover');
  });
});

describe('a stale record or report is never trusted (item 11)', () => {
  it('a report from a minute ago does not vouch for the minute since', () => {
    // A's agent could not publish (nor write SOK/SFAIL) for a minute while its lease lived on:
    // its last report (a failed probe, writable 2 s before) and B's SOK record are both from
    // then. A may have come back and committed alone since.
    const d = decide(
      bAfterPrimaryLoss({
        reports: {
          A: report('A', downHealth(), { observedAt: T - 60_000, lastWritableAt: T - 62_000 }),
        },
        sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 62_000 }) },
      }),
      S,
      T,
    );
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('not_in_sync');
    expect(d.message).toContain('report');
  });

  it('a fresh report of a stopped primary keeps an old SOK trustworthy (nothing was written since)', () => {
    const d = decide(
      bAfterPrimaryLoss({
        reports: {
          A: report('A', downHealth(), { observedAt: T - 1000, lastWritableAt: T - 600_000 }),
        },
        sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 600_000 }) },
      }),
      S,
      T,
    );
    expect(d.action.kind).toBe('takeover');
  });
});

describe('clocks of two hosts (item 2)', () => {
  const skew = (offsetMs: number, uncertaintyMs = 5): SkewEstimate => ({
    offsetMs,
    uncertaintyMs,
    measuredAt: T - 2000,
  });

  it('refuses an automatic takeover when the last measured skew to the primary exceeds the bound', () => {
    const d = decide(bAfterPrimaryLoss({ ...silentA, clockSkew: { A: skew(5000) } }), S, T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('not_in_sync');
    expect(d.message).toContain('clock');
    expect(d.message).toContain('maxSkewSeconds');
  });

  it('a skew within the bound (uncertainty included) does not stand in the way', () => {
    const d = decide(bAfterPrimaryLoss({ ...silentA, clockSkew: { A: skew(-900, 50) } }), S, T);
    expect(d.action.kind).toBe('takeover');
  });

  it('counts the bound against the trust window of a silent primary', () => {
    // The contact was 29.5 s ago on the primary's clock; with up to 1 s of skew it may already be
    // more than 30 s ago.
    const rec = syncRecord('B', 'SOK', { confirmedAt: T - 29_500 });
    const d = decide(bAfterPrimaryLoss({ ...silentA, sync: { B: rec } }), S, T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('not_in_sync');
  });

  it('the failed leader does not hand over to a secondary whose clock is beyond the bound', () => {
    const d = decide(
      aLeaderFailed({
        reports: {
          B: report('B', bAfterPrimaryLoss().local.health, {
            clockSkew: { A: skew(-3000) },
          }),
        },
      }),
      S,
      T,
    );
    expect(d.action.kind).toBe('start-local');
  });
});
