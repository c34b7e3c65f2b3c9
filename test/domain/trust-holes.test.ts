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
  local,
  primaryHealth,
  report,
  spec,
  stoppedPrimaryHealth,
  syncRecord,
} from '../support/observations.js';
import { notWritableAfterProbe, notWritableAfterStop } from '../../src/domain/sync-trust.js';

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
          A: report('A', stoppedPrimaryHealth(), {
            observedAt: T - 1000,
            lastWritableAt: T - 600_000,
            notWritableSince: T - 599_000,
          }),
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

/**
 * When did the old primary stop taking writes? The protocol model's findings (model/README.md,
 * finding-cycle-bound and finding-unknown-probe): "its last writable probe + one cycle" is no
 * bound, because the next probe may come much later than a cycle (a cycle also waits for store
 * calls, peer checks and actions) and probes that time out say nothing. The end of the writes is
 * the first probe that found the instance down, or the old primary's confirmed stop, both on its
 * clock as the contact is. Defaults: logShippingTimeoutSeconds 30, a cycle 5 s, skew bound 1 s.
 * The SOK below was confirmed 20 s ago, 20 s behind: the primary commits alone from T - 10 s.
 * Every row marked so took over before the fix.
 */
describe("the end of the old primary's writes (issue 12, model findings)", () => {
  const lastWritableAt = T - 20_000;
  const sok = syncRecord('B', 'SOK', { confirmedAt: T - 20_000, lagSeconds: 20 });
  const from = (health: ReturnType<typeof downHealth>, notWritableSince: number | null | undefined) =>
    bAfterPrimaryLoss({
      reports: {
        A: report('A', health, {
          lastWritableAt,
          ...(notWritableSince !== undefined ? { notWritableSince } : {}),
        }),
      },
      sync: { B: sok },
    });

  it('hole 1: seen down only after it could commit alone (a long cycle): not promoted (took over before the fix)', () => {
    const d = decide(from(stoppedPrimaryHealth(), T - 8000), S, T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('not_in_sync');
    expect(d.message).toContain('took writes until');
  });

  it('hole 1: seen down before it could commit alone: promoted, whatever the cycle', () => {
    expect(decide(from(stoppedPrimaryHealth(), T - 11_000), S, T).action.kind).toBe('takeover');
  });

  it('hole 1: last seen writable, nothing shows it stopped (an older agent, or probes timing out): not promoted (took over before the fix)', () => {
    for (const nws of [null, undefined]) {
      const d = decide(from(downHealth(), nws), S, T);
      expect(d.action.kind).toBe('none');
      expect(d.reason).toBe('not_in_sync');
      expect(d.message).toContain('nothing shows it stopped');
    }
  });

  it('hole 2: probes timed out, its stop confirmed after it could commit alone: not promoted (took over before the fix)', () => {
    const d = decide(from(downHealth(), T - 9000), S, T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('not_in_sync');
  });

  it('hole 2: probes timed out, its stop confirmed before it could commit alone: promoted (the takeover stays possible)', () => {
    expect(decide(from(downHealth(), T - 10_500), S, T).action.kind).toBe('takeover');
  });

  it('a moment it was known stopped before its last writable probe says nothing (it was written again since)', () => {
    const d = decide(from(downHealth(), lastWritableAt - 1000), S, T);
    expect(d.action.kind).toBe('none');
  });

  it('the leader whose probes time out does not step down for a secondary whose window it may have closed (stepped down before the fix)', () => {
    // Its own view: writable 20 s ago, probes timed out since, nothing stopped it: it may commit
    // alone from T - 10 s on. Before the fix "last writable + a cycle" (T - 15 s) let it hand over.
    const d = decide(
      aLeaderFailed({ local: local(downHealth(), { failedProbes: 3, lastWritableAt }), sync: { B: sok } }),
      S,
      T,
    );
    expect(d.action.kind).toBe('start-local');
    expect(d.reason).toBe('secondary_not_in_sync_restart_locally');
    // Seen down 14 s after its last write (before T - 10 s): it hands over.
    const seen = decide(
      aLeaderFailed({
        local: local(stoppedPrimaryHealth(), {
          failedProbes: 3,
          lastWritableAt,
          notWritableSince: T - 14_000,
        }),
        sync: { B: sok },
      }),
      S,
      T,
    );
    expect(seen.action.kind).toBe('step-down');
  });
});

describe('notWritableAfterProbe / notWritableAfterStop (what the agent publishes)', () => {
  const now = T;
  it('a writable answer resets it; the first answer with no process sets it; later ones keep the first', () => {
    expect(notWritableAfterProbe(T - 5000, T - 9000, primaryHealth(), now)).toBeNull();
    expect(notWritableAfterProbe(null, T - 9000, stoppedPrimaryHealth(), now)).toBe(now);
    expect(notWritableAfterProbe(T - 5000, T - 9000, stoppedPrimaryHealth(), now)).toBe(T - 5000);
  });

  it('a probe that failed or timed out, or an instance that runs without taking writes, says nothing', () => {
    expect(notWritableAfterProbe(null, T - 9000, downHealth(), now)).toBeNull();
    const restarting = primaryHealth([], {
      acceptsWrites: false,
      processes: { hdbdaemon: 'GREEN', hdbnameserver: 'GREEN', hdbindexserver: 'YELLOW' },
    });
    expect(notWritableAfterProbe(null, T - 9000, restarting, now)).toBeNull();
    // A process still up (stopping, starting) may take writes again by itself.
    const stopping = stoppedPrimaryHealth({
      processes: { hdbdaemon: 'GREEN', hdbnameserver: 'GRAY', hdbindexserver: 'GRAY' },
    });
    expect(notWritableAfterProbe(null, T - 9000, stopping, now)).toBeNull();
  });

  it('never seen writable: nothing to end', () => {
    expect(notWritableAfterProbe(null, null, stoppedPrimaryHealth(), now)).toBeNull();
    expect(notWritableAfterStop(null, null, now)).toBeNull();
  });

  it('a confirmed stop ends the writes, unless they were known ended earlier', () => {
    expect(notWritableAfterStop(null, T - 9000, now)).toBe(now);
    expect(notWritableAfterStop(T - 5000, T - 9000, now)).toBe(T - 5000);
  });
});
