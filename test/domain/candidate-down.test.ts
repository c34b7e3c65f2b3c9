/**
 * A secondary seen down after its last SOK confirmation is not in sync (sync-trust.ts,
 * candidate_down_after_sok): while it was down the primary may have committed without it (a
 * primary restarted between two of its agent's probes commits alone at once; sim:fuzz 881002376,
 * test/regressions/secondary-down-after-sok-primary-restarted-between-probes.yaml). The SOK vouches
 * again only once the primary confirms it after that, by more than the clock skew bound (the
 * candidate's clock against the primary's). Through the rule itself, decide() (the candidate's
 * own memory) and the store view the operator reads (the candidate's report).
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/domain/decide.js';
import { inSyncFromStore, inSyncVerdict, type PrimaryView } from '../../src/domain/sync-trust.js';
import {
  EPOCH,
  T,
  bAfterPrimaryLoss,
  local,
  report,
  secondaryHealth,
  spec,
  syncRecord,
} from '../support/observations.js';
import { downHealth } from '../support/observations.js';

const s = spec();
const SKEW = s.clock.maxSkewSeconds * 1000;
const confirmedAt = T - 4000;
// The primary was seen stopped right after its last writable moment, at the SOK: trusted so far.
const view: PrimaryView = { kind: 'self', lastWritableAt: confirmedAt, notWritableSince: confirmedAt + 1000 };
const verdict = (downSeenAt: number | null | undefined) =>
  inSyncVerdict(s, {
    candidate: 'B',
    primary: 'A',
    lastEpoch: EPOCH,
    record: syncRecord('B', 'SOK', { confirmedAt }),
    primaryView: view,
    skew: undefined,
    ...(downSeenAt !== undefined ? { candidateDownSeenAt: downSeenAt } : {}),
    now: T,
  });

describe('a secondary seen down after its last SOK is not in sync', () => {
  it('trusts the SOK when the candidate was never seen down, or not said (an older agent)', () => {
    expect(verdict(null)).toEqual({ ok: true });
    expect(verdict(undefined)).toEqual({ ok: true });
  });

  it('refuses when the candidate was seen down after the confirmation', () => {
    const v = verdict(confirmedAt + 2000);
    expect(v).toMatchObject({ ok: false, reason: 'candidate_down_after_sok' });
    if (!v.ok) expect(v.why).toContain('not in sync until the primary confirms it again');
  });

  it('counts the clock skew bound against trust: seen down up to the bound before the confirmation refuses too', () => {
    expect(verdict(confirmedAt - SKEW)).toMatchObject({ ok: false, reason: 'candidate_down_after_sok' });
    expect(verdict(confirmedAt - SKEW + 1)).toMatchObject({ ok: false, reason: 'candidate_down_after_sok' });
    // Down well before the SOK (it came back, caught up, and was confirmed since): trusted.
    expect(verdict(confirmedAt - SKEW - 1)).toEqual({ ok: true });
    expect(verdict(confirmedAt - 60_000)).toEqual({ ok: true });
  });

  it('decide(): B does not take over on a SOK older than its own HANA was seen down; with a later SOK it does', () => {
    const down = bAfterPrimaryLoss({ local: local(secondaryHealth('A'), { downSeenAt: T - 3000 }) });
    const d = decide(down, s, T);
    expect(d.action.kind).not.toBe('takeover');
    expect(d.message).toContain('not in sync until the primary confirms it again');
    const before = bAfterPrimaryLoss({ local: local(secondaryHealth('A'), { downSeenAt: T - 60_000 }) });
    expect(decide(before, s, T).action.kind).toBe('takeover');
    const never = bAfterPrimaryLoss({ local: local(secondaryHealth('A'), { downSeenAt: null }) });
    expect(decide(never, s, T).action.kind).toBe('takeover');
  });

  it("the store view (operator, CLI) reads the candidate's report", () => {
    const store = (downSeenAt: number | null | undefined) => ({
      lastEpoch: EPOCH,
      reports: {
        A: report('A', downHealth(), {
          lastWritableAt: confirmedAt,
          notWritableSince: confirmedAt + 1000,
          observedAt: T - 500,
        }),
        B: report('B', secondaryHealth('A'), downSeenAt === undefined ? {} : { downSeenAt }),
      },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt }) },
    });
    expect(inSyncFromStore(s, store(confirmedAt + 2000), 'B', 'A', T)).toMatchObject({
      ok: false,
      reason: 'candidate_down_after_sok',
    });
    expect(inSyncFromStore(s, store(null), 'B', 'A', T)).toEqual({ ok: true });
    expect(inSyncFromStore(s, store(undefined), 'B', 'A', T)).toEqual({ ok: true });
  });
});
