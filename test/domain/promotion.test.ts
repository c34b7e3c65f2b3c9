/**
 * The handshake fallback (src/domain/promotion.ts) as a table: after `-sr_takeover
 * --suspendPrimary` failed, what the direct check of the old primary said, crossed with what its
 * agent's live report and lease say, decides whether a plain takeover may run. Unknown counts as
 * "may still write": only a writable answer, a confirmed stop, a secondary, or (when the check got
 * no answer) a lease that ran out settle it.
 */
import { describe, expect, it } from 'vitest';
import type { PeerView } from '../../src/domain/observation.js';
import {
  checkOf,
  handshakeFallback,
  promotionSuspects,
  type SuspectCheck,
} from '../../src/domain/promotion.js';
import type { SiteReport } from '../../src/domain/types.js';
import {
  EPOCH,
  downHealth,
  held,
  local,
  observation,
  peerSecondary,
  peerStoppedPrimary,
  peerWritablePrimary,
  primaryHealth,
  report,
  secondaryHealth,
  stoppedPrimaryHealth,
  threeSites,
} from '../support/observations.js';

const answered = (view: PeerView): SuspectCheck => ({ kind: 'answered', view });
const timeout: SuspectCheck = {
  kind: 'no-answer',
  why: 'timeout',
  detail: 'peer check timed out after 3000 ms',
};
const unreachable: SuspectCheck = { kind: 'no-answer', why: 'unreachable' };
const unauthenticated: SuspectCheck = { kind: 'no-answer', why: 'unauthenticated' };
const blind: SuspectCheck = { kind: 'no-answer', why: 'blind' };

const aliveWriting = report('A', primaryHealth([]));
const aliveUnknown = report('A', downHealth());
const aliveFenced = report('A', downHealth(), { fenced: true });
const aliveStopped = report('A', stoppedPrimaryHealth());
const aliveSecondary = report('A', secondaryHealth('B'));

/** B holds the key at EPOCH + 1 and is still a secondary of A; `a` is A's live report, if any. */
const bHolding = (a: SiteReport | undefined, leaderSite = 'B') =>
  observation({
    self: 'B',
    local: local(secondaryHealth('A')),
    leader: held(leaderSite, leaderSite === 'B', EPOCH + 1),
    reports: a ? { A: a } : {},
  });

interface Row {
  readonly name: string;
  readonly check: SuspectCheck;
  readonly report: SiteReport | undefined;
  readonly plain: boolean;
  readonly reason: string;
  readonly says: string;
}

const rows: Row[] = [
  // The check answered.
  {
    name: 'answers writable',
    check: answered(peerWritablePrimary),
    report: aliveWriting,
    plain: false,
    reason: 'old_primary_writable',
    says: 'A answers as a writable primary',
  },
  {
    name: 'answers writable, although its report says fenced (the answer is newer)',
    check: answered(peerWritablePrimary),
    report: aliveFenced,
    plain: false,
    reason: 'old_primary_writable',
    says: 'writable primary',
  },
  {
    name: 'answers as a secondary',
    check: answered(peerSecondary('B')),
    report: aliveWriting,
    plain: true,
    reason: 'handshake_failed',
    says: 'A answers as a secondary',
  },
  {
    name: 'answers: its HANA is not running',
    check: answered({ ...peerStoppedPrimary, running: false }),
    report: aliveWriting,
    plain: true,
    reason: 'handshake_failed',
    says: 'its HANA is not running',
  },
  {
    name: 'answers as a primary that does not take writes now (suspended, log full), agent alive',
    check: answered(peerStoppedPrimary),
    report: aliveWriting,
    plain: false,
    reason: 'old_primary_may_write',
    says: 'answers as a primary that takes no writes right now',
  },
  {
    // sim:fuzz schedules 120000466 and 120200175 (defaults, no watchdog device): A's agent died,
    // then A's replication network dropped; A answered as a primary whose commits waited for the
    // sync secondary, its lease ran out, and B took over plainly while A went on alone after
    // logshipping_timeout. A lease that ran out says its agent stopped renewing, not that it
    // stopped HANA: a primary that answers is a primary.
    name: 'answers as a primary that does not take writes now, no live report (its agent is gone)',
    check: answered(peerStoppedPrimary),
    report: undefined,
    plain: false,
    reason: 'old_primary_may_write',
    says: 'answers as a primary',
  },
  {
    name: 'answers without a role, no live report: not settled by the lease',
    check: answered({ reachable: true, acceptsWrites: false }),
    report: undefined,
    plain: false,
    reason: 'old_primary_may_write',
    says: 'does not say it is stopped',
  },
  {
    name: 'answers as a running primary that does not take writes now, although its report says fenced',
    check: answered(peerStoppedPrimary),
    report: aliveFenced,
    plain: false,
    reason: 'old_primary_may_write',
    says: 'answers as a primary',
  },
  // No answer, agent alive and not confirming a stop: may still write.
  {
    name: 'check timed out, agent alive',
    check: timeout,
    report: aliveWriting,
    plain: false,
    reason: 'old_primary_may_write',
    says: 'the direct check timed out',
  },
  {
    name: 'unreachable, agent alive',
    check: unreachable,
    report: aliveWriting,
    plain: false,
    reason: 'old_primary_may_write',
    says: 'no answer',
  },
  {
    name: 'unauthenticated, agent alive',
    check: unauthenticated,
    report: aliveWriting,
    plain: false,
    reason: 'old_primary_may_write',
    says: 'not authenticated',
  },
  {
    name: 'no peer check configured (blind), agent alive',
    check: blind,
    report: aliveWriting,
    plain: false,
    reason: 'old_primary_may_write',
    says: 'no direct check is configured',
  },
  {
    name: 'check timed out, agent alive but cannot read its own HANA either',
    check: timeout,
    report: aliveUnknown,
    plain: false,
    reason: 'old_primary_may_write',
    says: 'without confirming it stopped',
  },
  // No answer, but the agent confirmed a stop, reads a secondary, or its lease ran out.
  {
    name: 'check timed out, its agent confirmed the stop (fenced)',
    check: timeout,
    report: aliveFenced,
    plain: true,
    reason: 'handshake_failed',
    says: "A's agent confirmed it stopped",
  },
  {
    name: 'unreachable, its agent reads every process stopped',
    check: unreachable,
    report: aliveStopped,
    plain: true,
    reason: 'handshake_failed',
    says: 'reads it stopped',
  },
  {
    name: 'blind, its agent reads it as a secondary',
    check: blind,
    report: aliveSecondary,
    plain: true,
    reason: 'handshake_failed',
    says: 'reads it as a secondary',
  },
  {
    name: 'check timed out, no live report: its lease ran out',
    check: timeout,
    report: undefined,
    plain: true,
    reason: 'handshake_failed',
    says: "A's lease ran out",
  },
  {
    name: 'blind, no live report: its lease ran out',
    check: blind,
    report: undefined,
    plain: true,
    reason: 'handshake_failed',
    says: 'lease ran out',
  },
];

describe('handshake fallback: one old primary', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const d = handshakeFallback(bHolding(r.report), ['A'], { A: r.check }, 'cannot suspend primary site A');
    expect({ plain: d.plain, reason: d.reason }, d.message).toEqual({ plain: r.plain, reason: r.reason });
    expect(d.message).toContain(r.says);
    expect(d.message).toContain('cannot suspend primary site A');
    expect(d.reason).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it('a suspect that still holds the leader key may write, whatever the check', () => {
    const d = handshakeFallback(bHolding(undefined, 'A'), ['A'], { A: timeout }, 'x');
    expect(d).toMatchObject({ plain: false, reason: 'old_primary_may_write' });
    expect(d.message).toContain('A holds the leader key');
  });

  it('no check made counts as no answer', () => {
    expect(handshakeFallback(bHolding(aliveWriting), ['A'], {}, 'x')).toMatchObject({ plain: false });
    expect(handshakeFallback(bHolding(undefined), ['A'], {}, 'x')).toMatchObject({ plain: true });
  });

  it('every suspect must be settled: one confirmed stopped and one unknown is a wait', () => {
    const obs = observation({
      self: 'B',
      local: local(secondaryHealth()),
      leader: held('B', true, EPOCH + 1),
      reports: { A: aliveFenced, C: report('C', primaryHealth([])) },
    });
    const d = handshakeFallback(obs, ['A', 'C'], { A: timeout, C: timeout }, 'x');
    expect(d).toMatchObject({ plain: false, reason: 'old_primary_may_write' });
    expect(d.verdicts.map((v) => [v.site, v.state])).toEqual([
      ['A', 'not-writing'],
      ['C', 'unknown'],
    ]);
  });
});

describe('promotionSuspects and checkOf', () => {
  it('the source this secondary replicates from, else every other site', () => {
    const withSource = observation({
      self: 'B',
      local: local(secondaryHealth('A')),
      leader: held('B', true),
    });
    expect(promotionSuspects(withSource, ['A', 'B', 'C'])).toEqual(['A']);
    const noSource = observation({
      self: 'B',
      local: local(secondaryHealth('A', { source: undefined } as never)),
      leader: held('B', true),
    });
    expect(
      promotionSuspects(
        noSource,
        threeSites.map((s) => s.name),
      ),
    ).toEqual(['A', 'C']);
  });

  it('a peer view that is not reachable, or absent, says nothing', () => {
    expect(checkOf(undefined)).toMatchObject({ kind: 'no-answer' });
    expect(checkOf({ reachable: false, acceptsWrites: false })).toMatchObject({ kind: 'no-answer' });
    expect(checkOf(peerWritablePrimary)).toEqual({ kind: 'answered', view: peerWritablePrimary });
  });
});
