/**
 * The decision tables: one per safety rule, each row an observation that tries to break the rule
 * and what `decide` must answer (action kind, machine reason, and the words the human message
 * must carry to say what and why). decide.test.ts runs each table in its own describe block;
 * maintenance.test.ts runs every row again with maintenance on.
 */
import type { HanaSystemReplicationSpec } from '../../src/api/spec.js';
import type { Action, ActionKind } from '../../src/domain/decision.js';
import type { LocalView, Observation } from '../../src/domain/observation.js';
import type { LeaderView } from '../../src/domain/types.js';
import {
  EPOCH,
  T,
  aLeaderFailed,
  aLeaderHealthy,
  bAfterPrimaryLoss,
  downHealth,
  free,
  held,
  link,
  local,
  observation,
  peerSecondary,
  peerStoppedPrimary,
  peerWritablePrimary,
  primaryHealth,
  report,
  secondaryHealth,
  spec,
  stoppedPrimaryHealth,
  storeDown,
  syncRecord,
  threeSites,
  unreachable,
  type ObservationInput,
} from '../support/observations.js';

export interface DecisionCase {
  readonly name: string;
  readonly spec: HanaSystemReplicationSpec;
  readonly obs: Observation;
  readonly now?: number;
  readonly kind: ActionKind;
  readonly reason: string;
  /** Fragments the human message must contain: what is done and why. */
  readonly says: readonly string[];
  /** Fields the action must carry. */
  readonly action?: Partial<Record<keyof Action | string, unknown>>;
}

const S = spec();
/** B, the last leader, a stopped secondary (its node back, HANA down). */
const STOPPED_B = report(
  'B',
  secondaryHealth('A', {
    running: false,
    processes: { hdbdaemon: 'GRAY', hdbnameserver: 'GRAY', hdbindexserver: 'GRAY' },
    landscapeStatus: 1,
  }),
);
/** A, a stopped primary that led epoch `led` (undefined: its agent does not know), at a free key B held last. */
const neverTookOver = (over: Partial<ObservationInput>, led: number | undefined): Observation =>
  observation({
    self: 'A',
    local: local(stoppedPrimaryHealth(), {
      fenced: true,
      lastWritableAt: T - 60_000,
      ...(led !== undefined ? { ledEpoch: led } : {}),
    }),
    leader: free(EPOCH, 'B'),
    ...over,
  });
/**
 * B took the key (EPOCH) for a takeover from A (primary in EPOCH - 1) and never took over; its key
 * ran out and B runs as a secondary of A again, in sync at A's last write by A's records of its
 * term. A's agent reads A a stopped primary.
 */
const retryingB = (over: Partial<ObservationInput> = {}): Observation =>
  observation({
    self: 'B',
    local: local(secondaryHealth('A')),
    leader: free(EPOCH, 'B'),
    lpe: { A: EPOCH - 1 },
    reports: { A: report('A', stoppedPrimaryHealth(), { lastWritableAt: T - 4000, fenced: true }) },
    peers: { A: unreachable },
    sync: { B: syncRecord('B', 'SOK', { epoch: EPOCH - 1 }) },
    ...over,
  });
const LEADER_SINCE = T - 3_600_000;

// ---------------------------------------------------------------------------------------------
// Takeover only to a secondary that was SOK at the last trustworthy report.
// ---------------------------------------------------------------------------------------------
const asyncSpec = (bound?: number) =>
  spec({
    replication:
      bound === undefined ? { mode: 'async' } : { mode: 'async', asyncTakeoverMaxLagSeconds: bound },
  });
const asyncRecord = (lagSeconds: number | null) => ({
  B: syncRecord('B', 'SOK', { mode: 'async', lagSeconds }),
});
const multitarget = (priorities: { B?: number; C?: number } = {}) =>
  spec({
    sites: threeSites.map((s) =>
      s.name === 'B' && priorities.B !== undefined
        ? { ...s, priority: priorities.B }
        : s.name === 'C' && priorities.C !== undefined
          ? { ...s, priority: priorities.C }
          : s,
    ),
  });
const multitier = spec({
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b', source: 'A' },
    { name: 'C', host: 'hana-c', source: 'B' },
  ],
});

export const takeoverCases: DecisionCase[] = [
  // The model's restart race (issue 12): A's agent restarted under a hung primary (it has not
  // read its site since: no last writable moment, no role), its old session's key ran out, and B's
  // cycle comes first. A plain takeover lets A thaw before its agent's stop is sent: two writers
  // until that stop lands. B waits until A's agent reports its stop of A sent (`stopSent`, of the
  // lost leader's term); the stop reaches the hung instance at the thaw, before any write.
  {
    name: "key ran out, A's agent alive (restarted), cannot read its HANA, no stop sent (stopSent null), A unreachable: waits",
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: { A: report('A', downHealth(), { lastWritableAt: null, stopSent: null }) },
    }),
    kind: 'none',
    reason: 'former_primary_stop_not_sent',
    says: ['agent of A is alive', 'cannot read its HANA', 'not sent its stop', 'waiting'],
  },
  {
    name: "the same, A's agent read it writable before its probes timed out: waits",
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: { A: report('A', downHealth(), { lastWritableAt: T - 4000, stopSent: null }) },
    }),
    kind: 'none',
    reason: 'former_primary_stop_not_sent',
    says: ['not sent its stop'],
  },
  {
    name: "the same, A's agent reports a stop sent in an older term (epoch 4): waits",
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: {
        A: report('A', downHealth(), { lastWritableAt: null, stopSent: { epoch: EPOCH - 1, at: T - 900 } }),
      },
    }),
    kind: 'none',
    reason: 'former_primary_stop_not_sent',
    says: [`a stop in epoch ${EPOCH - 1}`, `not sent its stop of epoch ${EPOCH}`],
  },
  {
    name: "the same, A's agent reports its hard stop of A sent in the lost leader's term (not landed): takes over",
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: {
        A: report('A', downHealth(), { lastWritableAt: null, stopSent: { epoch: EPOCH, at: T - 900 } }),
      },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  ...(
    [
      ['its report', { reports: { ...bAfterPrimaryLoss().reports, C: report('C', primaryHealth([])) } }],
      ['a direct check', { peers: { A: unreachable, C: peerWritablePrimary } }],
    ] as const
  ).map(([how, over]): DecisionCase => ({
    // sim:fuzz 1090020940: three sites; a DBA took C over by hand while the leader A's node was
    // down, A's restarted agent could not hand C the key its dead session held, and when that
    // key ran out B, in sync with A, took over next to C. The handshake suspends only A.
    name: `key of A gone, B in sync, but C runs as a writable primary (by ${how}): B does not take over next to it`,
    spec: S,
    obs: bAfterPrimaryLoss(over),
    kind: 'none',
    reason: 'another_primary_running',
    says: ['C runs as a writable primary', 'B does not take over from A next to it'],
  })),
  {
    // No time bound: a takeover after any wait lets the instance thaw and write beside B, since
    // A's agent said it could not stop it. The wait ends with a stop sent or confirmed, a
    // readable state, A's agent gone (its report with its lease: the rules for a lost agent), a
    // direct check that answers, or a confirmed fence of A's node.
    name: "A's agent alive for long (observed 1 s ago, 20 failed probes), its stop never sent (tools refuse it): still waits",
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: {
        A: report('A', downHealth(), { lastWritableAt: null, failedProbes: 20, stopSent: null }),
      },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 4000 }) },
    }),
    kind: 'none',
    reason: 'former_primary_stop_not_sent',
    says: ['waiting'],
  },
  {
    name: "the same, a confirmed fence of A's node in this term ends the wait: takes over",
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: { A: report('A', downHealth(), { lastWritableAt: null, stopSent: null }) },
      fences: {
        A: {
          site: 'A',
          by: 'B',
          epoch: EPOCH,
          action: 'off',
          result: 'confirmed',
          startedAt: T - 3000,
          endedAt: T - 500,
          calls: 2,
          message: 'off',
        },
      },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: "the same, A's agent confirmed its stop (fenced): takes over",
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: { A: report('A', downHealth(), { lastWritableAt: null, fenced: true, stopSent: null }) },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'the same, the direct check finds A stopped: takes over (with the handshake)',
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: { A: report('A', downHealth(), { lastWritableAt: null, stopSent: null }) },
      peers: { A: { ...peerStoppedPrimary, running: false } },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: "the same, A's agent of an earlier version (no stopSent field): the older rule, takes over",
    spec: S,
    obs: bAfterPrimaryLoss({ reports: { A: report('A', downHealth(), { lastWritableAt: null }) } }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'SOK secondary, primary agent reports its HANA down: takes over',
    spec: S,
    obs: bAfterPrimaryLoss(),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['leader key of A is gone', 'B was in sync', 'taking over', 'epoch 6'],
    action: { expectedLastEpoch: EPOCH, from: 'A', planned: false, handshake: false },
  },
  {
    name: 'old primary reachable but stopped: takes over with the handshake',
    spec: S,
    obs: bAfterPrimaryLoss({ peers: { A: peerStoppedPrimary } }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
    action: { handshake: true, planned: false },
  },
  {
    name: 'SFAIL at the last report: not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({ sync: { B: syncRecord('B', 'SFAIL') } }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['B is not promoted', 'SFAIL'],
  },
  {
    name: 'no sync record at all (unknown counts as SFAIL): not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({ sync: {} }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['B is not promoted', 'no sync record'],
  },
  {
    name: 'SOK record from an older epoch: not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({ sync: { B: syncRecord('B', 'SOK', { epoch: EPOCH - 1 }) } }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['B is not promoted', `epoch ${EPOCH - 1}`, `last term ${EPOCH}`],
  },
  {
    name: 'SOK record from a newer epoch than the last term (forged or misread): not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({ sync: { B: syncRecord('B', 'SOK', { epoch: EPOCH + 1 }) } }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['B is not promoted', `epoch ${EPOCH + 1}`],
  },
  {
    name: 'PRIM record (B was the primary in that term): not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({ sync: { B: syncRecord('B', 'PRIM') } }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['PRIM'],
  },
  {
    name: 'SOK confirmed long before the primary last took writes: not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: { A: report('A', downHealth(), { lastWritableAt: T - 1000 }) },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 60_000 }) },
    }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['B is not promoted', 'took writes after the last SOK'],
  },
  {
    name: 'SOK confirmed one cycle (interval + timeout) before the last writable moment: still trusted',
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: { A: report('A', downHealth(), { lastWritableAt: T - 1000 }) },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 6000 }) },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'SOK confirmed 1 ms more than one cycle before the last writable moment: not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: { A: report('A', downHealth(), { lastWritableAt: T - 1000 }) },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 6001 }) },
    }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['took writes after the last SOK'],
  },
  {
    name: 'silent primary (no report), SOK older than logShippingTimeoutSeconds: not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({ reports: {}, sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 31_000 }) } }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['B is not promoted', 'silent', '31s old', 'logShippingTimeoutSeconds'],
  },
  {
    // At contact + logShippingTimeoutSeconds the primary may already commit alone: not trusted.
    name: 'silent primary, SOK exactly logShippingTimeoutSeconds old: not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({ reports: {}, sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 30_000 }) } }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['B is not promoted', 'silent', '30s old'],
  },
  {
    // A silent primary may still run (the failsafe keeps it while it sees its peers as
    // secondaries) and sees the new primary only at its next cycle: the takeover must come a
    // cycle (5 s) before it could commit alone (model: finding-silent-no-margin).
    name: 'silent primary, SOK within the skew bound and one cycle of logShippingTimeoutSeconds: not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({ reports: {}, sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 28_900 }) } }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['B is not promoted', 'silent', 'a cycle'],
  },
  {
    name: 'silent primary, SOK just under logShippingTimeoutSeconds less the skew bound and a cycle old: still trusted',
    spec: S,
    obs: bAfterPrimaryLoss({ reports: {}, sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 23_900 }) } }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    // A sync commit waiting for an acknowledgement shows up as shipping delay: an SOK with 25 s of
    // delay means the last contact was 25 s before it, so the primary may commit alone 5 s later.
    name: 'silent primary, fresh SOK but 25 s shipping delay: not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: {},
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000, lagSeconds: 25 }) },
    }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['replication contact'],
  },
  {
    name: 'silent primary, fresh SOK: takes over',
    spec: S,
    obs: bAfterPrimaryLoss({ reports: {}, sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) } }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    // The primary's agent restarted and has not seen its HANA writable since: its lastWritableAt is
    // null ("unknown"), not "never". Its HANA may have committed alone after the log-shipping
    // timeout before it died, so the record's age must be checked as for a silent primary.
    name: 'primary agent restarted (lastWritableAt unknown), SOK 10 minutes old: not promoted',
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: { A: report('A', stoppedPrimaryHealth(), { lastWritableAt: null }) },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 600_000 }) },
    }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['B is not promoted', 'logShippingTimeoutSeconds'],
  },
  {
    name: 'async without asyncTakeoverMaxLagSeconds: never promoted automatically',
    spec: asyncSpec(),
    obs: bAfterPrimaryLoss({ sync: asyncRecord(0) }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['B is not promoted', 'async replication without asyncTakeoverMaxLagSeconds'],
  },
  {
    name: 'async lag over the bound: not promoted',
    spec: asyncSpec(10),
    obs: bAfterPrimaryLoss({ sync: asyncRecord(11) }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['async lag 11s exceeds the bound of 10s'],
  },
  {
    name: 'async lag unknown: not promoted',
    spec: asyncSpec(10),
    obs: bAfterPrimaryLoss({ sync: asyncRecord(null) }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['async lag unknown'],
  },
  {
    name: 'async lag exactly at the bound: takes over',
    spec: asyncSpec(10),
    obs: bAfterPrimaryLoss({ sync: asyncRecord(10) }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'async lag within the bound: takes over',
    spec: asyncSpec(10),
    obs: bAfterPrimaryLoss({ sync: asyncRecord(2) }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'multitier tier 3 (spec source B) with a SOK record: never promoted when A is lost',
    spec: multitier,
    obs: bAfterPrimaryLoss({
      self: 'C',
      local: local(secondaryHealth('B')),
      reports: {
        A: report('A', downHealth(), { lastWritableAt: T - 4000 }),
        B: report('B', secondaryHealth('A')),
      },
      peers: { A: unreachable, B: peerSecondary('A') },
      sync: { B: syncRecord('B'), C: syncRecord('C') },
    }),
    kind: 'none',
    reason: 'not_tier2',
    says: ['C does not replicate from the last primary A'],
  },
  {
    name: 'tier 3 by its live topology (it replicates from B) even though the spec has no source: never promoted',
    spec: multitarget(),
    obs: bAfterPrimaryLoss({
      self: 'C',
      local: local(secondaryHealth('B')),
      reports: { A: report('A', downHealth(), { lastWritableAt: T - 4000 }) },
      sync: { C: syncRecord('C') },
    }),
    kind: 'none',
    reason: 'not_tier2',
    says: ['C does not replicate from the last primary A'],
  },
  {
    name: 'DR site (autoTakeover false) in sync: never promoted automatically',
    spec: spec({
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b', autoTakeover: false },
      ],
    }),
    obs: bAfterPrimaryLoss(),
    kind: 'none',
    reason: 'site_not_auto_takeover',
    says: ['B is never promoted automatically', 'DR'],
  },
  {
    name: 'takeover.automatic false: waits',
    spec: spec({ takeover: { automatic: false } }),
    obs: bAfterPrimaryLoss(),
    kind: 'none',
    reason: 'automatic_takeover_off',
    says: ['automatic takeover is off', 'B waits'],
  },
  {
    name: 'the secondary itself is stopped: not eligible',
    spec: S,
    obs: bAfterPrimaryLoss({ local: local(secondaryHealth('A', { running: false })) }),
    kind: 'none',
    reason: 'no_leader_not_eligible',
    says: ['B is not a running secondary'],
  },
  {
    name: 'the secondary cannot probe itself: not eligible',
    spec: S,
    obs: bAfterPrimaryLoss({ local: local(downHealth()) }),
    kind: 'none',
    reason: 'no_leader_not_eligible',
    says: ['B is not a running secondary'],
  },
  {
    name: 'better-priority candidate C in sync: B waits',
    spec: multitarget({ C: 200 }),
    obs: bAfterPrimaryLoss({
      reports: {
        A: report('A', downHealth(), { lastWritableAt: T - 4000 }),
        C: report('C', secondaryHealth('A')),
      },
      sync: { B: syncRecord('B'), C: syncRecord('C') },
    }),
    kind: 'none',
    reason: 'better_candidate',
    says: ['C is the preferred in-sync candidate'],
  },
  {
    name: 'better-priority candidate C itself takes over',
    spec: multitarget({ C: 200 }),
    obs: bAfterPrimaryLoss({
      self: 'C',
      reports: {
        A: report('A', downHealth(), { lastWritableAt: T - 4000 }),
        B: report('B', secondaryHealth('A')),
      },
      sync: { B: syncRecord('B'), C: syncRecord('C') },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['C was in sync', 'taking over'],
  },
  {
    name: 'equal priorities: the first name (B) wins, C waits',
    spec: multitarget(),
    obs: bAfterPrimaryLoss({
      self: 'C',
      reports: {
        A: report('A', downHealth(), { lastWritableAt: T - 4000 }),
        B: report('B', secondaryHealth('A')),
      },
      sync: { B: syncRecord('B'), C: syncRecord('C') },
    }),
    kind: 'none',
    reason: 'better_candidate',
    says: ['B is the preferred in-sync candidate'],
  },
  {
    name: 'better-priority candidate C is SFAIL: B takes over',
    spec: multitarget({ C: 200 }),
    obs: bAfterPrimaryLoss({
      reports: {
        A: report('A', downHealth(), { lastWritableAt: T - 4000 }),
        C: report('C', secondaryHealth('A')),
      },
      sync: { B: syncRecord('B'), C: syncRecord('C', 'SFAIL') },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['B was in sync'],
  },
  {
    name: 'better-priority candidate C has no live agent: B takes over',
    spec: multitarget({ C: 200 }),
    obs: bAfterPrimaryLoss({ sync: { B: syncRecord('B'), C: syncRecord('C') } }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['B was in sync'],
  },
  {
    name: 'better-priority candidate C is a DR site: B takes over',
    spec: spec({
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b' },
        { name: 'C', host: 'hana-c', priority: 900, autoTakeover: false },
      ],
    }),
    obs: bAfterPrimaryLoss({
      reports: {
        A: report('A', downHealth(), { lastWritableAt: T - 4000 }),
        C: report('C', secondaryHealth('A')),
      },
      sync: { B: syncRecord('B'), C: syncRecord('C') },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['B was in sync'],
  },
  {
    // sim:fuzz schedule 121100782 (takeover.handshake false, no fencing): A's agent dead, the
    // replication network cut; A answered as a primary waiting for its secondary, B took over
    // plain, A committed alone after logshipping_timeout.
    name: 'handshake off, the former primary answers as a running primary taking no writes: blocks the takeover',
    spec: spec({ takeover: { handshake: false } }),
    obs: bAfterPrimaryLoss({ reports: {}, peers: { A: peerStoppedPrimary } }),
    kind: 'none',
    reason: 'former_primary_still_running',
    says: ['A still answers as a running primary', 'handshake is off', 'not taking over'],
  },
  {
    name: 'handshake on, the same: takes over with the handshake (it suspends A)',
    spec: S,
    obs: bAfterPrimaryLoss({ reports: {}, peers: { A: peerStoppedPrimary } }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['B was in sync'],
    action: { handshake: true },
  },
  {
    name: 'former primary still answers as writable (its agent is silent): blocks the takeover',
    spec: S,
    obs: bAfterPrimaryLoss({ reports: {}, peers: { A: peerWritablePrimary } }),
    kind: 'none',
    reason: 'former_primary_still_serving',
    says: ['A still answers as a writable primary', 'not taking over'],
  },
  {
    // sim:fuzz 882000756: a check that outlasts the probe interval no longer holds the cycle; it
    // comes to decide() as pending, which is no evidence that A is gone.
    name: "the former primary's direct check is still pending (its agent is silent): no takeover on it",
    spec: S,
    obs: bAfterPrimaryLoss({
      reports: {},
      peers: { A: { reachable: false, acceptsWrites: false, pending: true } },
    }),
    kind: 'none',
    reason: 'peer_check_pending',
    says: ['direct check of A has not answered within the probe interval', 'not taking over'],
  },
  {
    name: 'the same check answered as no answer (timed out): takes over',
    spec: S,
    obs: bAfterPrimaryLoss({ reports: {}, peers: { A: { reachable: false, acceptsWrites: false } } }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['B was in sync'],
  },
  {
    name: 'former primary agent reports a healthy primary: blocks the takeover',
    spec: S,
    obs: bAfterPrimaryLoss({ reports: { A: report('A', primaryHealth(), { lastWritableAt: T - 1000 }) } }),
    kind: 'none',
    reason: 'former_primary_reports_healthy',
    says: ['A reports a healthy primary', 'not taking over'],
  },
  {
    name: 'leader side: SFAIL secondary, primary failed at threshold: local restart, never a step-down',
    spec: S,
    obs: aLeaderFailed({ sync: { B: syncRecord('B', 'SFAIL', { confirmedAt: T - 8000 }) } }),
    kind: 'start-local',
    reason: 'secondary_not_in_sync_restart_locally',
    says: ['primary A failed 3 consecutive probes', 'no secondary is in sync', 'restarting it locally'],
    action: { restart: true, epoch: EPOCH },
  },
  {
    name: 'leader side: no sync record: local restart',
    spec: S,
    obs: aLeaderFailed({ sync: {} }),
    kind: 'start-local',
    reason: 'secondary_not_in_sync_restart_locally',
    says: ['no secondary is in sync', 'restarting it locally'],
    action: { restart: true },
  },
  {
    name: 'leader side: SOK predates the last writable moment: local restart',
    spec: S,
    obs: aLeaderFailed({ sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 30_000 }) } }),
    kind: 'start-local',
    reason: 'secondary_not_in_sync_restart_locally',
    says: ['no secondary is in sync'],
    action: { restart: true },
  },
  {
    name: 'leader side: SOK secondary has no live agent: local restart',
    spec: S,
    obs: aLeaderFailed({ reports: {} }),
    kind: 'start-local',
    reason: 'secondary_not_in_sync_restart_locally',
    says: ['restarting it locally'],
    action: { restart: true },
  },
  {
    name: 'leader side: the only SOK secondary is a DR site: local restart',
    spec: spec({
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b', autoTakeover: false },
      ],
    }),
    obs: aLeaderFailed(),
    kind: 'start-local',
    reason: 'secondary_not_in_sync_restart_locally',
    says: ['restarting it locally'],
    action: { restart: true },
  },
  {
    name: 'leader side: SOK secondary, primary failed at threshold: stops itself and releases the key',
    spec: S,
    obs: aLeaderFailed(),
    kind: 'step-down',
    reason: 'primary_failed_takeover',
    says: ['primary A failed 3 consecutive probes', 'stopping it', 'in-sync secondary B'],
    action: { fence: 'stop', epoch: EPOCH },
  },
  {
    name: 'leader side: automatic takeover off: local restart even with a SOK secondary',
    spec: spec({ takeover: { automatic: false } }),
    obs: aLeaderFailed(),
    kind: 'start-local',
    reason: 'restart_primary_locally',
    says: ['automatic takeover is off', 'restarting it locally'],
    action: { restart: true },
  },
];

// ---------------------------------------------------------------------------------------------
// failureThreshold (the agent's counting is tested through the Agent in failure-threshold.test.ts)
// ---------------------------------------------------------------------------------------------
const failedAt = (failedProbes: number, over: Parameters<typeof aLeaderFailed>[0] = {}) =>
  aLeaderFailed({ local: local(downHealth(), { failedProbes, lastWritableAt: T - 8000 }), ...over });

export const thresholdCases: DecisionCase[] = [
  ...[1, 2].map((n): DecisionCase => ({
    name: `${n} of 3 failed probes with a SOK secondary: waits`,
    spec: S,
    obs: failedAt(n),
    kind: 'none',
    reason: 'primary_probe_failed_below_threshold',
    says: [`primary A failed ${n} of 3 probes`, 'timed out', 'waiting'],
  })),
  ...[1, 2].map((n): DecisionCase => ({
    name: `${n} of 3 failed probes with an SFAIL secondary: no restart yet either`,
    spec: S,
    obs: failedAt(n, { sync: { B: syncRecord('B', 'SFAIL') } }),
    kind: 'none',
    reason: 'primary_probe_failed_below_threshold',
    says: [`failed ${n} of 3 probes`, 'waiting'],
  })),
  {
    name: 'a stopped primary below the threshold: the message says it is not running',
    spec: S,
    obs: aLeaderFailed({
      local: local(stoppedPrimaryHealth(), { failedProbes: 1, lastWritableAt: T - 8000 }),
    }),
    kind: 'none',
    reason: 'primary_probe_failed_below_threshold',
    says: ['failed 1 of 3 probes', 'not running'],
  },
  {
    name: 'exactly at the threshold: the decision changes to a takeover',
    spec: S,
    obs: failedAt(3),
    kind: 'step-down',
    reason: 'primary_failed_takeover',
    says: ['failed 3 consecutive probes'],
  },
  {
    name: 'threshold 5: 4 failed probes wait',
    spec: spec({ takeover: { failureThreshold: 5 } }),
    obs: failedAt(4),
    kind: 'none',
    reason: 'primary_probe_failed_below_threshold',
    says: ['failed 4 of 5 probes'],
  },
  {
    name: 'threshold 5: the 5th failed probe acts',
    spec: spec({ takeover: { failureThreshold: 5 } }),
    obs: failedAt(5),
    kind: 'step-down',
    reason: 'primary_failed_takeover',
    says: ['failed 5 consecutive probes'],
  },
  {
    name: 'threshold 1: the first failed probe acts',
    spec: spec({ takeover: { failureThreshold: 1 } }),
    obs: failedAt(1),
    kind: 'step-down',
    reason: 'primary_failed_takeover',
    says: ['failed 1 consecutive probes'],
  },
  {
    name: 'a primary that answers and takes writes is healthy whatever the stale counter says',
    spec: S,
    obs: aLeaderHealthy({ local: local(primaryHealth(), { failedProbes: 7 }) }),
    kind: 'none',
    reason: 'leader_healthy',
    says: ['A is the healthy primary', `epoch ${EPOCH}`],
  },
];

// ---------------------------------------------------------------------------------------------
// preferSiteTakeover false: local restarts first.
// ---------------------------------------------------------------------------------------------
const noPrefer = (localRestartAttempts?: number) =>
  spec({
    takeover:
      localRestartAttempts === undefined
        ? { preferSiteTakeover: false }
        : { preferSiteTakeover: false, localRestartAttempts },
  });
const restarted = (localRestarts: number) =>
  aLeaderFailed({ local: local(downHealth(), { failedProbes: 3, localRestarts, lastWritableAt: T - 8000 }) });

export const preferSiteCases: DecisionCase[] = [
  {
    name: 'preferSiteTakeover false, no restart tried yet: restarts locally despite a SOK secondary',
    spec: noPrefer(),
    obs: restarted(0),
    kind: 'start-local',
    reason: 'restart_primary_locally',
    says: ['preferSiteTakeover is false', 'restarting it locally'],
    action: { restart: true, epoch: EPOCH },
  },
  {
    name: 'preferSiteTakeover false, the one allowed restart was tried: takes over',
    spec: noPrefer(),
    obs: restarted(1),
    kind: 'step-down',
    reason: 'primary_failed_takeover',
    says: ['releasing the leader key for in-sync secondary B'],
    action: { fence: 'stop' },
  },
  {
    name: 'preferSiteTakeover false, 3 attempts, 2 tried: restarts again',
    spec: noPrefer(3),
    obs: restarted(2),
    kind: 'start-local',
    reason: 'restart_primary_locally',
    says: ['preferSiteTakeover is false'],
  },
  {
    name: 'preferSiteTakeover false, 3 attempts, 3 tried: takes over',
    spec: noPrefer(3),
    obs: restarted(3),
    kind: 'step-down',
    reason: 'primary_failed_takeover',
    says: ['in-sync secondary B'],
  },
  {
    name: 'preferSiteTakeover false, 0 attempts allowed: takes over at once',
    spec: noPrefer(0),
    obs: restarted(0),
    kind: 'step-down',
    reason: 'primary_failed_takeover',
    says: ['in-sync secondary B'],
  },
  {
    name: 'preferSiteTakeover false, restarts exhausted but SFAIL: keeps restarting locally',
    spec: noPrefer(),
    obs: aLeaderFailed({
      local: local(downHealth(), { failedProbes: 3, localRestarts: 5, lastWritableAt: T - 8000 }),
      sync: { B: syncRecord('B', 'SFAIL') },
    }),
    kind: 'start-local',
    reason: 'secondary_not_in_sync_restart_locally',
    says: ['no secondary is in sync'],
  },
  {
    name: 'preferSiteTakeover true: no local restart first',
    spec: S,
    obs: restarted(0),
    kind: 'step-down',
    reason: 'primary_failed_takeover',
    says: ['in-sync secondary B'],
  },
];

// ---------------------------------------------------------------------------------------------
// Never two primaries.
// ---------------------------------------------------------------------------------------------
const registerSpec = spec({ takeover: { automatedRegister: true } });
/** A (former primary, stopped) while B leads since LEADER_SINCE and reports a writable primary. */
const formerA = (over: Parameters<typeof observation>[0] extends infer I ? Partial<I> : never = {}) =>
  observation({
    self: 'A',
    local: local(stoppedPrimaryHealth(), { failedProbes: 0 }),
    leader: held('B', false, EPOCH, LEADER_SINCE),
    reports: {
      B: report('B', primaryHealth([link('A', { status: 'ERROR', inSync: false })]), { leader: true }),
    },
    peers: { B: peerWritablePrimary },
    ...over,
  });
const DPT = 7200 * 1000;

/**
 * A, the last leader, stopped with the key free and B in sync at a contact `contactAge` ms old:
 * A leaves the key to B (`waits`) or takes it back.
 */
function stoppedLeaderHeirCase(
  name: string,
  caseSpec: HanaSystemReplicationSpec,
  contactAge: number,
  waits: boolean,
): DecisionCase {
  return {
    name,
    spec: caseSpec,
    obs: observation({
      self: 'A',
      local: local(stoppedPrimaryHealth(), {
        fenced: true,
        lastWritableAt: T - contactAge,
        notWritableSince: T - contactAge + 700,
      }),
      leader: free(EPOCH, 'A'),
      reports: { B: report('B', secondaryHealth('A')) },
      peers: { B: peerSecondary('A') },
      sync: {
        B: syncRecord('B', 'SOK', { confirmedAt: T - contactAge, contactAt: T - contactAge }),
      },
    }),
    ...(waits
      ? { kind: 'none' as const, reason: 'waiting_for_takeover', says: ['B', 'take over'] }
      : { kind: 'acquire-leader' as const, reason: 'reacquire_leader', says: ['acquiring it'] }),
  };
}

export const twoPrimaryCases: DecisionCase[] = [
  {
    name: 'key held by B, A runs as a writable primary: A fences itself',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(primaryHealth()),
      leader: held('B', false),
      reports: { B: report('B', primaryHealth([]), { leader: true }) },
    }),
    kind: 'fence',
    reason: 'leader_key_held_by_other',
    says: ['A runs as primary', 'B holds the leader key', `epoch ${EPOCH}`, 'fencing A'],
    action: { mode: 'stop', epoch: EPOCH },
  },
  {
    name: 'key held by B, A runs as a suspended primary (no writes): still fenced',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(primaryHealth([], { suspended: true, acceptsWrites: false })),
      leader: held('B', false),
    }),
    kind: 'fence',
    reason: 'leader_key_held_by_other',
    says: ['B holds the leader key'],
  },
  {
    name: 'key held by B, A still writable though its probe half-failed: fenced',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(
        primaryHealth([], { probeOk: false, probeError: 'status script timed out', running: false }),
      ),
      leader: held('B', false),
    }),
    kind: 'fence',
    reason: 'leader_key_held_by_other',
    says: ['fencing A'],
  },
  {
    name: 'stopped former primary, automatedRegister off: waits for a DBA, never starts',
    spec: S,
    obs: formerA(),
    kind: 'none',
    reason: 'waiting_for_registration',
    says: ['former primary A stays down', 'automatedRegister is off'],
  },
  {
    name: 'stopped former primary while the leader B is not yet writable: waits',
    spec: registerSpec,
    obs: formerA({ reports: { B: report('B', secondaryHealth('A'), { leader: true }) } }),
    kind: 'none',
    reason: 'waiting_for_leader_healthy',
    says: ['former primary A waits', 'B is not (yet) a running primary'],
  },
  {
    name: 'stopped former primary, leader B has no live report: waits',
    spec: registerSpec,
    obs: formerA({ reports: {} }),
    kind: 'none',
    reason: 'waiting_for_leader_healthy',
    says: ['former primary A waits'],
  },
  {
    name: 'automatedRegister, A has no LPT: registers',
    spec: registerSpec,
    obs: formerA(),
    kind: 'register',
    reason: 'automated_register',
    says: ['registering it as secondary', 'before B'],
    action: { primary: 'B', epoch: EPOCH },
  },
  {
    name: "automatedRegister, A's LPT before B's term began: registers",
    spec: registerSpec,
    obs: formerA({ lpt: { A: LEADER_SINCE - 1000, B: T - 1000 } }),
    kind: 'register',
    reason: 'automated_register',
    says: ['registering it as secondary'],
    action: { primary: 'B' },
  },
  {
    name: "automatedRegister, A's LPT exactly at B's term start: registers",
    spec: registerSpec,
    obs: formerA({ lpt: { A: LEADER_SINCE, B: T - 1000 } }),
    kind: 'register',
    reason: 'automated_register',
    says: ['registering it as secondary'],
  },
  {
    name: 'automatedRegister, both primary within duplicatePrimaryTimeoutSeconds: waits for a DBA',
    spec: registerSpec,
    obs: formerA({ lpt: { A: LEADER_SINCE + 60_000, B: LEADER_SINCE + 120_000 } }),
    kind: 'none',
    reason: 'dual_primary_wait',
    says: ['both A and B were primary', 'waiting for a DBA'],
  },
  {
    name: 'automatedRegister, A trails by exactly duplicatePrimaryTimeoutSeconds: still waits',
    spec: registerSpec,
    obs: formerA({ lpt: { A: LEADER_SINCE + 1000, B: LEADER_SINCE + 1000 + DPT } }),
    kind: 'none',
    reason: 'dual_primary_wait',
    says: ['waiting for a DBA'],
  },
  {
    name: 'automatedRegister, A trails by more than duplicatePrimaryTimeoutSeconds: registers',
    spec: registerSpec,
    obs: formerA({ lpt: { A: LEADER_SINCE + 1000, B: LEADER_SINCE + 1001 + DPT } }),
    kind: 'register',
    reason: 'automated_register_after_dpt',
    says: ['trails', 'more than duplicatePrimaryTimeoutSeconds', 'registering'],
    action: { primary: 'B' },
  },
  {
    name: "automatedRegister, A's LPT leads B's: waits (a former primary never starts as primary)",
    spec: registerSpec,
    obs: formerA({ lpt: { A: LEADER_SINCE + 2 * DPT, B: LEADER_SINCE + 1000 } }),
    kind: 'none',
    reason: 'dual_primary_wait',
    says: ['waiting for a DBA'],
  },
  {
    name: 'register request with a stale epoch: refused',
    spec: S,
    obs: formerA({ intents: [{ kind: 'register', id: 'r1', site: 'A', epoch: EPOCH - 1 }] }),
    kind: 'refuse-intent',
    reason: 'stale_epoch',
    says: [`epoch ${EPOCH - 1}`, `current epoch is ${EPOCH}`, 'refused'],
    action: { intentId: 'r1' },
  },
  {
    name: 'register request at the current epoch, automatedRegister off: registers on request',
    spec: S,
    obs: formerA({ intents: [{ kind: 'register', id: 'r1', site: 'A', epoch: EPOCH }] }),
    kind: 'register',
    reason: 'register_requested',
    says: ['registering former primary A as secondary of B on request'],
    action: { intentId: 'r1', primary: 'B' },
  },
  {
    name: 'register request for another site: ignored, A waits',
    spec: S,
    obs: formerA({ intents: [{ kind: 'register', id: 'r1', site: 'C', epoch: EPOCH }] }),
    kind: 'none',
    reason: 'waiting_for_registration',
    says: ['automatedRegister is off'],
  },
  {
    name: 'key held by A, a stopped secondary B is started',
    spec: S,
    obs: observation({
      self: 'B',
      local: local(secondaryHealth('A', { running: false })),
      leader: held('A', false),
    }),
    kind: 'start-local',
    reason: 'secondary_down_restart',
    says: ['secondary B is not running', 'starting it'],
    action: { restart: false },
  },
  {
    name: 'key held by A, a running secondary B: nothing to do',
    spec: S,
    obs: observation({ self: 'B', local: local(secondaryHealth('A')), leader: held('A', false) }),
    kind: 'none',
    reason: 'secondary_healthy',
    says: ['B is a secondary', 'A is primary'],
  },
  {
    name: 'leader whose lease was last renewed 0.7 x TTL ago: fences before it can expire',
    spec: S,
    obs: aLeaderHealthy({ leaseAgeMs: 7000 }),
    kind: 'fence',
    reason: 'lease_not_renewed',
    says: ['last renewed 7s ago', 'fencing before it can expire'],
    action: { epoch: EPOCH, mode: 'stop' },
  },
  {
    name: 'leader whose probe times out (hung primary, last seen writable) and whose lease is overdue: fences',
    spec: S,
    obs: aLeaderFailed({
      local: local(downHealth(), { failedProbes: 1, lastWritableAt: T - 3000, lastKnownRole: 'primary' }),
      leaseAgeMs: 7000,
    }),
    kind: 'fence',
    reason: 'lease_not_renewed',
    says: ['last renewed 7s ago', 'may still write', 'fencing before it can expire'],
    action: { epoch: EPOCH, mode: 'stop' },
  },
  {
    name: 'leader whose probe fails past the threshold and whose lease is overdue: fences, never hands on',
    spec: S,
    obs: aLeaderFailed({ leaseAgeMs: 8000 }),
    kind: 'fence',
    reason: 'lease_not_renewed',
    says: ['fencing before it can expire'],
  },
  {
    name: 'leader whose primary runs but is not writable yet (starting) and whose lease is overdue: fences',
    spec: S,
    obs: aLeaderHealthy({
      local: local(stoppedPrimaryHealth({ processes: { hdbdaemon: 'GREEN', hdbnameserver: 'YELLOW' } })),
      leaseAgeMs: 7000,
    }),
    kind: 'fence',
    reason: 'lease_not_renewed',
    says: ['fencing before it can expire'],
  },
  {
    name: 'leader whose primary is stopped (every process GRAY) and whose lease is overdue: nothing to fence',
    spec: S,
    obs: aLeaderFailed({ local: local(stoppedPrimaryHealth(), { failedProbes: 3 }), leaseAgeMs: 7000 }),
    kind: 'step-down',
    reason: 'primary_failed_takeover',
    says: ['releasing the leader key'],
  },
  {
    name: 'leader whose lease was renewed just under 0.7 x TTL ago: stays',
    spec: S,
    obs: aLeaderHealthy({ leaseAgeMs: 6999 }),
    kind: 'none',
    reason: 'leader_healthy',
    says: ['healthy primary'],
  },
  {
    name: 'key free, last leader B, A runs as a writable primary: fences itself',
    spec: S,
    obs: observation({ self: 'A', local: local(primaryHealth()), leader: free(EPOCH, 'B') }),
    kind: 'fence',
    reason: 'stale_primary',
    says: ['A runs as primary', 'B was the last leader', 'fencing it'],
    action: { epoch: EPOCH, mode: 'stop' },
  },
  {
    name: 'key free, last leader B, A is a primary starting (started by hand): fenced before it takes writes',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(
        stoppedPrimaryHealth({
          landscapeStatus: 1,
          processes: { hdbdaemon: 'GREEN', hdbnameserver: 'YELLOW', hdbindexserver: 'YELLOW' },
        }),
      ),
      leader: free(EPOCH, 'B'),
    }),
    kind: 'fence',
    reason: 'stale_primary',
    says: ['A runs as primary', 'B was the last leader'],
  },
  {
    name: 'key free, last leader B, A is a primary restarting its indexserver: fenced',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(
        primaryHealth([], {
          running: true,
          acceptsWrites: false,
          landscapeStatus: 1,
          processes: { hdbdaemon: 'GREEN', hdbnameserver: 'GREEN', hdbindexserver: 'YELLOW' },
        }),
      ),
      leader: free(EPOCH, 'B'),
    }),
    kind: 'fence',
    reason: 'stale_primary',
    says: ['fencing it'],
  },
  {
    name: 'key free, last leader B, A is a stopped primary: does not start or take the key',
    spec: S,
    obs: observation({ self: 'A', local: local(stoppedPrimaryHealth()), leader: free(EPOCH, 'B') }),
    kind: 'none',
    reason: 'no_leader_not_eligible',
    says: ['A is not a running secondary'],
  },
  {
    name: 'key free, A was the last leader and runs writable: reacquires (agent restart)',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(primaryHealth()),
      leader: free(EPOCH, 'A'),
      reports: { B: report('B', secondaryHealth('A')) },
    }),
    kind: 'acquire-leader',
    reason: 'reacquire_leader',
    says: ['A is the primary', 'leader key is free', `epoch ${EPOCH + 1}`],
    action: { expectedLastEpoch: EPOCH },
  },
  {
    name: 'fresh cluster, A runs as primary: bootstraps the key',
    spec: S,
    obs: observation({ self: 'A', local: local(primaryHealth()), leader: free(0, null) }),
    kind: 'acquire-leader',
    reason: 'bootstrap_leader',
    says: ['acquiring it (epoch 1)'],
    action: { expectedLastEpoch: 0 },
  },
  {
    name: 'fresh cluster, another site reports a writable primary that A does not list as its secondary: A does not take the key',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(primaryHealth([])),
      leader: free(0, null),
      reports: { B: report('B', primaryHealth([])) },
    }),
    kind: 'none',
    reason: 'another_primary_running',
    says: ['another site runs as primary', 'A does not take the key'],
  },
  ...(
    [
      ['fresh cluster', free(0, null), { B: report('B', primaryHealth([])) }, {}],
      ['A the last leader', free(EPOCH, 'A'), { B: report('B', primaryHealth([])) }, {}],
      [
        'fresh cluster, only a direct check finds B writable',
        free(0, null),
        { B: report('B', downHealth()) },
        { B: peerWritablePrimary },
      ],
    ] as const
  ).map(([what, leader, reports, peers]): DecisionCase => ({
    // sim:fuzz 1070093604: nobody had led (A's required watchdog absent), a DBA took B over by
    // hand; once A's watchdog came back both could lead, and each waited for the other, both
    // writable, until A committed alone. A, which still lists B as its secondary, steps aside.
    name: `${what}: B, which A still lists as its secondary, runs as a writable primary (taken over by hand): A stops`,
    spec: S,
    obs: observation({ self: 'A', local: local(primaryHealth()), leader, reports, peers }),
    kind: 'fence',
    reason: 'primary_taken_over_by_hand',
    says: ['B, which A still lists as its secondary', 'taken over by hand', 'stopping A'],
  })),
  {
    // And B, the primary a DBA made, lists no link to A: it stays (and takes the key once A stopped).
    name: 'B, taken over by hand from A, next to A still writable: B does not stop and does not take the key',
    spec: S,
    obs: observation({
      self: 'B',
      local: local(primaryHealth([])),
      leader: free(0, null),
      reports: { A: report('A', primaryHealth()) },
    }),
    kind: 'none',
    reason: 'another_primary_running',
    says: ['B does not take the key'],
  },
  {
    name: 'fresh cluster, B is a secondary: waits for the primary',
    spec: S,
    obs: observation({ self: 'B', local: local(secondaryHealth('A')), leader: free(0, null) }),
    kind: 'none',
    reason: 'waiting_for_primary',
    says: ['no leader yet', 'B is a secondary'],
  },
  {
    // A stepped down (stopped itself) to let the in-sync B take over. If it took the key back it
    // would bump the epoch, which makes B's SOK record untrusted for ever: no takeover, and the
    // cluster stays down as long as A's local restart fails.
    name: 'key free, A (last leader) stopped itself for a takeover and B is an in-sync candidate: A leaves the key to B',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(stoppedPrimaryHealth(), { failedProbes: 4, fenced: true, lastWritableAt: T - 8000 }),
      leader: free(EPOCH, 'A'),
      reports: { B: report('B', secondaryHealth('A')) },
      peers: { B: peerSecondary('A') },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 8000 }) },
    }),
    kind: 'none',
    reason: 'waiting_for_takeover',
    says: ['B', 'take over'],
  },
  // The e2e region switchover aborted after A had stopped for it: B's contact grew older while
  // nobody could lead. With the skew bound (1 s) above a cycle (0.7 s) B trusts no report of A as
  // fresh, so it refuses from logShippingTimeout less the bound and a cycle on; A, judging B with
  // its own clock, waited for B for ever. A waits only while B would take over.
  ...[20_000, 29_000].map((contactAge) =>
    stoppedLeaderHeirCase(
      `key free, A (last leader) stopped for a switchover that aborted, B's contact ${contactAge / 1000} s old with the skew bound above a cycle: ${contactAge < 28_000 ? 'A leaves the key to B' : 'B would refuse, A takes the key back'}`,
      spec({ probes: { intervalSeconds: 0.2, timeoutSeconds: 0.5 }, lease: { ttlSeconds: 2 } }),
      contactAge,
      contactAge < 28_000,
    ),
  ),
  // sim:fuzz 980006877: B took the key (epoch 2) to take over from A, its node crashed before the
  // takeover, the key ran out. A, which led epoch 1, is a stopped primary; B (node back) a stopped
  // secondary.
  {
    name: 'key free, the last leader B never took over (a stopped secondary) right after A led: A, a stopped primary, takes the key to start',
    spec: S,
    obs: neverTookOver({ reports: { B: STOPPED_B } }, EPOCH - 1),
    kind: 'acquire-leader',
    reason: 'last_leader_never_took_over',
    says: [`B, the last leader (epoch ${EPOCH}, after A`, 'never took over', 'start A as the primary'],
    action: { expectedLastEpoch: EPOCH },
  },
  // Property test seed 1336158586: a handover to another site reserves the key; the rule wins it
  // over a handover that can never complete (its site stopped), and leaves one that can.
  {
    name: 'key free, the last leader B never took over, a handover to B is left (B stopped): A takes the key over it',
    spec: S,
    obs: neverTookOver({ reports: { B: STOPPED_B }, handoverTo: 'B' }, EPOCH - 1),
    kind: 'acquire-leader',
    reason: 'last_leader_never_took_over',
    says: ['never took over', 'over the handover to B, which is stopped'],
    action: { expectedLastEpoch: EPOCH, supersedeHandover: 'B' },
  },
  {
    name: 'key free, the last leader B never took over, but a handover to C, a running secondary, reserves the key: A does not take it',
    spec: spec({ sites: threeSites }),
    obs: neverTookOver(
      { reports: { B: STOPPED_B, C: report('C', secondaryHealth('A')) }, handoverTo: 'C' },
      EPOCH - 1,
    ),
    kind: 'none',
    reason: 'no_leader_not_eligible',
    says: ['no leader'],
  },
  // sim:fuzz 1050016312, 1070039480: A's agent restarted (its memory of the term it led is gone),
  // and the store's record says A was primary in the term right before B's.
  {
    name: "key free, the last leader B never took over, A's agent restarted but the store stamped A primary in the term before B's: A takes the key to start",
    spec: S,
    obs: neverTookOver({ reports: { B: STOPPED_B }, lpe: { A: EPOCH - 1, B: EPOCH - 3 } }, undefined),
    kind: 'acquire-leader',
    reason: 'last_leader_never_took_over',
    says: [`B, the last leader (epoch ${EPOCH}, after A`, 'never took over', 'start A as the primary'],
    action: { expectedLastEpoch: EPOCH },
  },
  ...(
    [
      ['B runs (it may be mid-takeover)', { reports: { B: report('B', secondaryHealth('A')) } }, EPOCH - 1],
      ["B's agent is silent", { reports: {} }, EPOCH - 1],
      [
        'B is a stopped primary (it took over)',
        { reports: { B: report('B', stoppedPrimaryHealth()) } },
        EPOCH - 1,
      ],
      [
        'a direct check finds B running',
        { reports: { B: STOPPED_B }, peers: { B: { ...peerSecondary('A'), running: true } } },
        EPOCH - 1,
      ],
      [
        "A's agent restarted (it does not know which term came before B's)",
        { reports: { B: STOPPED_B } },
        undefined,
      ],
      [
        'A led an older term (another site may have led in between)',
        { reports: { B: STOPPED_B } },
        EPOCH - 2,
      ],
      [
        "A's agent restarted and the store stamped A primary in an older term only",
        { reports: { B: STOPPED_B }, lpe: { A: EPOCH - 2 } },
        undefined,
      ],
      [
        'the store stamped B primary in its own term (it took over; a DBA stopped and registered it since)',
        { reports: { B: STOPPED_B }, lpe: { A: EPOCH - 1, B: EPOCH } },
        EPOCH - 1,
      ],
      [
        "A's agent restarted, and the store stamped B primary in its own term",
        { reports: { B: STOPPED_B }, lpe: { A: EPOCH - 1, B: EPOCH } },
        undefined,
      ],
    ] as const
  ).map(([what, over, led]): DecisionCase => ({
    name: `key free, last leader B, A a stopped primary, but ${what}: A does not take the key`,
    spec: S,
    obs: neverTookOver(over, led),
    kind: 'none',
    reason: 'no_leader_not_eligible',
    says: ['no leader'],
  })),
  // sim:fuzz 1070098632, 1050017408, 1110019491: B took the key for a takeover that never
  // happened (its instance hung, or the handshake kept failing) and runs as A's secondary again;
  // A, stopped, waited for B to stop (it may be mid-takeover), and B was "not a candidate" of
  // itself. B retries its own takeover, on A's records.
  {
    name: 'key free, B the last leader never took over and runs as a secondary of A, stopped primary in the term before: B retries the takeover',
    spec: S,
    obs: retryingB(),
    kind: 'takeover',
    reason: 'last_leader_retries_takeover',
    says: [
      `B led epoch ${EPOCH} and never took over`,
      `A, primary in epoch ${EPOCH - 1}, is stopped`,
      `epoch ${EPOCH + 1}`,
    ],
    action: { expectedLastEpoch: EPOCH, from: 'A', handshake: false, planned: false },
  },
  ...(
    [
      [
        'the store has no primary stamp of A',
        { lpe: {} },
        'last_leader_not_retrying',
        'A is not recorded primary in epoch 4',
      ],
      [
        'A was stamped primary in an older term only',
        { lpe: { A: EPOCH - 2 } },
        'last_leader_not_retrying',
        'A is not recorded primary in epoch 4',
      ],
      [
        'the store stamped B primary in its own term',
        { lpe: { A: EPOCH - 1, B: EPOCH } },
        'last_leader_not_retrying',
        'stamped primary in its own term',
      ],
      [
        "A's agent is silent",
        { reports: {} },
        'last_leader_not_retrying',
        "A's agent does not read it a stopped primary",
      ],
      [
        "A's agent reads A running",
        {
          reports: { A: report('A', stoppedPrimaryHealth({ running: true }), { lastWritableAt: T - 4000 }) },
        },
        'last_leader_not_retrying',
        "A's agent does not read it a stopped primary",
      ],
      [
        "A's agent cannot read A",
        { reports: { A: report('A', downHealth(), { lastWritableAt: T - 4000 }) } },
        'last_leader_not_retrying',
        "A's agent does not read it a stopped primary",
      ],
      [
        'a direct check finds A answering as a primary',
        { peers: { A: peerStoppedPrimary } },
        'last_leader_not_retrying',
        'a direct check of A answers',
      ],
      [
        'the direct check of A has not answered yet',
        { peers: { A: { ...unreachable, pending: true } } },
        'last_leader_not_retrying',
        'has not answered yet',
      ],
      [
        'C runs as a writable primary',
        {
          reports: {
            A: report('A', stoppedPrimaryHealth(), { lastWritableAt: T - 4000, fenced: true }),
            C: report('C', primaryHealth()),
          },
        },
        'another_primary_running',
        'C runs as a writable primary',
      ],
      [
        'its watchdog forbids leading',
        { watchdog: { mayLead: false, message: 'the required watchdog is not usable' } },
        'watchdog_required_unusable',
        'the required watchdog is not usable',
      ],
    ] as const
  ).map(([what, over, reason, says]): DecisionCase => ({
    name: `key free, B the last leader never took over, a secondary of A, but ${what}: B does not retry`,
    spec: S,
    obs: retryingB(over),
    kind: 'none',
    reason,
    says: [says],
  })),
  // Not in sync to retry: B takes the key and hands it to A at once, which starts as primary.
  ...(
    [
      ['B is not in sync (SFAIL)', { sync: { B: syncRecord('B', 'SFAIL', { epoch: EPOCH - 1 }) } }],
      ["B's SOK is of A's older term", { sync: { B: syncRecord('B', 'SOK', { epoch: EPOCH - 2 }) } }],
      ['B has no sync record', { sync: {} }],
    ] as const
  ).map(([what, over]): DecisionCase => ({
    name: `key free, B the last leader never took over, a secondary of A, but ${what}: B takes the key and hands it to A`,
    spec: S,
    obs: retryingB(over),
    kind: 'hand-back',
    reason: 'last_leader_hands_back',
    says: ['B is not promoted', `taking the key (epoch ${EPOCH + 1}) to hand it to A`],
    action: { expectedLastEpoch: EPOCH, to: 'A' },
  })),
  {
    name: 'key free, B the last leader never took over, but automatic takeover is off: B does not retry',
    spec: spec({ takeover: { automatic: false } }),
    obs: retryingB(),
    kind: 'none',
    reason: 'automatic_takeover_off',
    says: ['automatic takeover is off'],
  },
  // sim:fuzz 1050048263: the skew bound (8.2 s) is under a cycle (9.7 s), so a report of A read
  // within 1.5 s of its writing counts as fresh. A publishes once an interval and B reads once an
  // interval: B's reads kept missing that window and judged A's reports stale, refusing once the
  // contact was logShippingTimeout less the bound and a cycle old (60 - 8.2 - 9.7 = 42.1 s). A
  // judged B as for a report made now and waited for ever. It waits only while B would take over
  // with a report of A fresh or an interval old.
  ...[30_000, 45_000].map((contactAge) =>
    stoppedLeaderHeirCase(
      `key free, A (last leader) stopped, B's contact ${contactAge / 1000} s old with the skew bound under a cycle: ${contactAge < 42_000 ? 'A leaves the key to B' : 'B would refuse a report of A an interval old, A takes the key back'}`,
      spec({
        probes: { intervalSeconds: 9.1, timeoutSeconds: 0.6 },
        lease: { ttlSeconds: 10 },
        clock: { maxSkewSeconds: 8.2 },
        replication: { logShippingTimeoutSeconds: 60 },
      }),
      contactAge,
      contactAge < 42_000,
    ),
  ),
  {
    // sim:fuzz 121600175: A's node came back, a DBA started A's instance; while it was starting
    // A "left the key to B", B took over, and A came up as a second primary (commits lost).
    name: 'key free, A (last leader) is starting (processes up, not running yet), B in sync: A takes the key back, not leaving it',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(
        stoppedPrimaryHealth({
          processes: { hdbdaemon: 'GREEN', hdbnameserver: 'YELLOW', hdbindexserver: 'GRAY' },
        }),
        { failedProbes: 4, lastWritableAt: T - 8000 },
      ),
      leader: free(EPOCH, 'A'),
      reports: { B: report('B', secondaryHealth('A')) },
      peers: { B: peerSecondary('A') },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 8000 }) },
    }),
    kind: 'acquire-leader',
    reason: 'reacquire_leader',
    says: ['acquiring it'],
  },
  {
    name: 'key free, A (last leader) is stopped and no secondary is in sync: takes the key back to restart',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(stoppedPrimaryHealth(), { failedProbes: 4, lastWritableAt: T - 8000 }),
      leader: free(EPOCH, 'A'),
      reports: { B: report('B', secondaryHealth('A')) },
      sync: { B: syncRecord('B', 'SFAIL', { confirmedAt: T - 8000 }) },
    }),
    kind: 'acquire-leader',
    reason: 'reacquire_leader',
    says: ['leader key is free'],
  },
  {
    name: 'fence request for this site: stops it',
    spec: S,
    obs: aLeaderHealthy({ intents: [{ kind: 'fence', id: 'f1', site: 'A', epoch: EPOCH }] }),
    kind: 'fence',
    reason: 'fence_requested',
    says: ['fencing requested for A', 'stopping it'],
    action: { intentId: 'f1', mode: 'stop' },
  },
  {
    name: 'fence request for this site whose probe times out (a hung instance): stops it (again)',
    spec: S,
    obs: formerA({
      local: local(downHealth()),
      intents: [{ kind: 'fence', id: 'f1', site: 'A', epoch: EPOCH }],
    }),
    kind: 'fence',
    reason: 'fence_requested',
    says: ['stopping it'],
  },
  {
    name: 'fence request for this site while it is starting: stops it',
    spec: S,
    obs: formerA({
      local: local(
        stoppedPrimaryHealth({
          processes: { hdbdaemon: 'GREEN', hdbnameserver: 'YELLOW', hdbindexserver: 'YELLOW' },
        }),
      ),
      intents: [{ kind: 'fence', id: 'f1', site: 'A', epoch: EPOCH }],
    }),
    kind: 'fence',
    reason: 'fence_requested',
    says: ['stopping it'],
  },
  {
    name: 'fence then register request for a stopped former primary: registers and releases the fence',
    spec: S,
    obs: formerA({
      intents: [
        { kind: 'fence', id: 'f1', site: 'A', epoch: EPOCH },
        { kind: 'register', id: 'r1', site: 'A', epoch: EPOCH },
      ],
    }),
    kind: 'register',
    reason: 'register_requested',
    says: ['registering former primary A as secondary of B on request'],
    action: { intentId: 'r1', primary: 'B', releases: ['f1'] },
  },
  {
    name: 'fence then register request for a stopped secondary: registers it (offline) and releases the fence',
    spec: S,
    obs: observation({
      self: 'B',
      local: local(secondaryHealth('A', { running: false })),
      leader: held('A', false),
      intents: [
        { kind: 'fence', id: 'f1', site: 'B', epoch: EPOCH },
        { kind: 'register', id: 'r1', site: 'B', epoch: EPOCH },
      ],
    }),
    kind: 'register',
    reason: 'register_requested',
    says: ['registering secondary B with A on request'],
    action: { intentId: 'r1', primary: 'A', releases: ['f1'] },
  },
  {
    name: 'register request for a running secondary: registers it online',
    spec: S,
    obs: observation({
      self: 'B',
      local: local(secondaryHealth('A')),
      leader: held('A', false),
      intents: [{ kind: 'register', id: 'r1', site: 'B', epoch: EPOCH }],
    }),
    kind: 'register',
    reason: 'register_requested',
    says: ['(online)'],
    action: { intentId: 'r1', primary: 'A', online: true },
  },
  {
    name: 'register request for a secondary with a stale epoch: refused',
    spec: S,
    obs: observation({
      self: 'B',
      local: local(secondaryHealth('A')),
      leader: held('A', false),
      intents: [{ kind: 'register', id: 'r1', site: 'B', epoch: EPOCH - 1 }],
    }),
    kind: 'refuse-intent',
    reason: 'stale_epoch',
    says: ['refused'],
    action: { intentId: 'r1' },
  },
  {
    name: 'fence request for a site that stopped by itself: stopped once more, so the fence is confirmed',
    spec: S,
    obs: formerA({ intents: [{ kind: 'fence', id: 'f1', site: 'A', epoch: EPOCH }] }),
    kind: 'fence',
    reason: 'fence_requested',
    says: ['stopping it'],
    action: { intentId: 'f1' },
  },
  {
    name: 'fence request for this site, fenced (stop confirmed) and still stopped: stays fenced',
    spec: S,
    obs: formerA({
      local: local(stoppedPrimaryHealth(), { fenced: true }),
      intents: [{ kind: 'fence', id: 'f1', site: 'A', epoch: EPOCH }],
    }),
    kind: 'none',
    reason: 'fenced_by_request',
    says: ['A is fenced on request', 'hanasr fence --release'],
  },
];

// ---------------------------------------------------------------------------------------------
// Failsafe: a store outage alone does not take a healthy primary down.
// ---------------------------------------------------------------------------------------------
const cutLeader = (over: Parameters<typeof aLeaderHealthy>[0] = {}) =>
  aLeaderHealthy({ leader: storeDown(), ...over });

// A primary coming up (started by hand) whose start its agent saw but could not record SFAIL.
const startingByHand = stoppedPrimaryHealth({
  processes: { hdbdaemon: 'GREEN', hdbnameserver: 'YELLOW', hdbindexserver: 'GRAY' },
});

export const failsafeCases: DecisionCase[] = [
  {
    // sim:fuzz 990014876: the start and the cut 0.4 s apart; the primary committed alone until the
    // lease deadline and B was promoted on a SOK from before the start.
    name: 'store unreachable, a start by hand not recorded: stops it at once, before the deadline and the failsafe',
    spec: S,
    obs: cutLeader({
      leaseAgeMs: 1000,
      local: local(startingByHand, { failedProbes: 2, lastWritableAt: T - 6000, startUnrecorded: true }),
    }),
    kind: 'fence',
    reason: 'start_unrecorded',
    says: ['A is starting as primary and the store is unreachable', 'cannot be recorded SFAIL'],
    action: { mode: 'stop' },
  },
  {
    name: 'store unreachable, a start by hand not recorded and already up: stops it too',
    spec: S,
    obs: cutLeader({ leaseAgeMs: 1000, local: local(primaryHealth([link('B')]), { startUnrecorded: true }) }),
    kind: 'fence',
    reason: 'start_unrecorded',
    says: ['cannot be recorded SFAIL'],
    action: { mode: 'stop' },
  },
  {
    name: 'store unreachable, the start recorded: waits for the lease deadline as before',
    spec: S,
    obs: cutLeader({
      leaseAgeMs: 1000,
      peers: { B: unreachable },
      local: local(startingByHand, { failedProbes: 2, lastWritableAt: T - 6000, startUnrecorded: false }),
    }),
    kind: 'none',
    reason: 'lease_renewal_failing',
    says: ['fencing in 6s'],
  },
  {
    name: 'store unreachable, the only peer is a reachable secondary: no fence, long after the deadline',
    spec: S,
    obs: cutLeader({ leaseAgeMs: 60_000 }),
    kind: 'none',
    reason: 'failsafe_peers_healthy',
    says: ['coordination store unreachable', '1 peer site(s) are reachable secondaries', 'failsafe'],
  },
  {
    name: 'store unreachable, all three peers reachable secondaries: no fence',
    spec: spec({ sites: [...threeSites, { name: 'D', host: 'hana-d' }] }),
    obs: cutLeader({
      leaseAgeMs: 60_000,
      peers: { B: peerSecondary('A'), C: peerSecondary('A'), D: peerSecondary('C') },
    }),
    kind: 'none',
    reason: 'failsafe_peers_healthy',
    says: ['all 3 peer site(s)'],
  },
  {
    name: 'store unreachable, one of two peers unreachable, before the deadline: waits',
    spec: spec({ sites: threeSites }),
    obs: cutLeader({ leaseAgeMs: 6999, peers: { B: peerSecondary('A'), C: unreachable } }),
    kind: 'none',
    reason: 'lease_renewal_failing',
    says: ['coordination store unreachable', 'fencing in 0s'],
  },
  {
    name: 'store unreachable, peer unreachable, well before the deadline: says when it will fence',
    spec: S,
    obs: cutLeader({ leaseAgeMs: 2000, peers: { B: unreachable } }),
    kind: 'none',
    reason: 'lease_renewal_failing',
    says: ['fencing in 5s unless the lease is renewed or every peer is seen'],
  },
  {
    name: 'store unreachable, one of two peers unreachable, at the deadline (0.7 x TTL): fences',
    spec: spec({ sites: threeSites }),
    obs: cutLeader({ leaseAgeMs: 7000, peers: { B: peerSecondary('A'), C: unreachable } }),
    kind: 'fence',
    reason: 'lease_not_renewed',
    says: ['cannot renew the leader lease for 7s', 'not every peer is reachable', 'fencing'],
    action: { mode: 'stop' },
  },
  {
    name: 'store unreachable, the peer answers but as a primary (it took over): fences at the deadline',
    spec: S,
    obs: cutLeader({ leaseAgeMs: 7000, peers: { B: peerWritablePrimary } }),
    kind: 'fence',
    reason: 'lease_not_renewed',
    says: ['fencing before the lease can expire'],
  },
  {
    name: 'store unreachable, the peer answers but its role is unknown: fences at the deadline',
    spec: S,
    obs: cutLeader({ leaseAgeMs: 7000, peers: { B: { reachable: true, acceptsWrites: false } } }),
    kind: 'fence',
    reason: 'lease_not_renewed',
    says: ['fencing'],
  },
  {
    name: 'store unreachable, never had a lease, peer not checked: fences',
    spec: S,
    obs: cutLeader({ leaseAgeMs: null, peers: {} }),
    kind: 'fence',
    reason: 'lease_not_renewed',
    says: ['for ever', 'fencing'],
  },
  {
    // Found by a scenario: crash A, isolate A, an administrator starts A again while B took over.
    // A came up as a second writable primary for one cycle before its agent fenced it.
    name: 'store unreachable, a primary is starting again (started by hand), peer unreachable, past the deadline: fences it before it takes writes',
    spec: S,
    obs: cutLeader({
      local: local(
        stoppedPrimaryHealth({
          processes: { hdbdaemon: 'GREEN', hdbnameserver: 'YELLOW', hdbindexserver: 'YELLOW' },
        }),
        { lastWritableAt: T - 60_000 },
      ),
      leaseAgeMs: 60_000,
      peers: { B: unreachable },
    }),
    kind: 'fence',
    reason: 'lease_not_renewed',
    says: ['cannot renew the leader lease', 'fencing'],
    action: { mode: 'stop' },
  },
  {
    name: 'store unreachable, the primary restarts its indexserver (hdbdaemon brings it back), peer unreachable, past the deadline: fences',
    spec: S,
    obs: cutLeader({
      local: local(
        stoppedPrimaryHealth({
          processes: { hdbdaemon: 'GREEN', hdbnameserver: 'GREEN', hdbindexserver: 'RED' },
        }),
        { lastWritableAt: T - 60_000 },
      ),
      leaseAgeMs: 60_000,
      peers: { B: unreachable },
    }),
    kind: 'fence',
    reason: 'lease_not_renewed',
    says: ['fencing'],
  },
  {
    name: 'store unreachable, a primary is starting again, every peer a reachable secondary: failsafe keeps it',
    spec: S,
    obs: cutLeader({
      local: local(
        stoppedPrimaryHealth({
          processes: { hdbdaemon: 'GREEN', hdbnameserver: 'YELLOW', hdbindexserver: 'YELLOW' },
        }),
      ),
      leaseAgeMs: 60_000,
    }),
    kind: 'none',
    reason: 'failsafe_peers_healthy',
    says: ['failsafe'],
  },
  {
    name: 'store unreachable, the primary instance is stopped (nothing can write): not acting',
    spec: S,
    obs: cutLeader({
      local: local(stoppedPrimaryHealth(), { lastWritableAt: T - 60_000 }),
      leaseAgeMs: 60_000,
      peers: { B: unreachable },
    }),
    kind: 'none',
    reason: 'coordination_unreachable',
    says: ['not acting'],
  },
  {
    name: 'store unreachable, this site is a secondary: does nothing',
    spec: S,
    obs: observation({
      self: 'B',
      local: local(secondaryHealth('A')),
      leader: storeDown(false),
      peers: { A: unreachable },
    }),
    kind: 'none',
    reason: 'coordination_unreachable',
    says: ['coordination store unreachable', 'not acting'],
  },
];

// ---------------------------------------------------------------------------------------------
// Planned takeover intents.
// ---------------------------------------------------------------------------------------------
const planned = (target: string, over: { epoch?: number; force?: boolean } = {}) => ({
  kind: 'planned-takeover' as const,
  id: 'p1',
  target,
  epoch: over.epoch ?? EPOCH,
  ...(over.force !== undefined ? { force: over.force } : {}),
});
/** B's side after A handed the key over: A still runs writable (it is suspended by the takeover). */
const bAfterHandover = (over: Parameters<typeof bAfterPrimaryLoss>[0] = {}) =>
  bAfterPrimaryLoss({
    handoverTo: 'B',
    reports: { A: report('A', primaryHealth(), { lastWritableAt: T - 1000 }) },
    peers: { A: peerWritablePrimary },
    intents: [planned('B')],
    ...over,
  });

export const plannedCases: DecisionCase[] = [
  {
    name: 'planned takeover with a stale epoch: refused',
    spec: S,
    obs: aLeaderHealthy({ intents: [planned('B', { epoch: EPOCH - 1 })] }),
    kind: 'refuse-intent',
    reason: 'stale_epoch',
    says: ['planned takeover to B', `epoch ${EPOCH - 1}`, `current epoch is ${EPOCH}`, 'refused'],
    action: { intentId: 'p1' },
  },
  {
    name: 'planned takeover to an SFAIL target: refused',
    spec: S,
    obs: aLeaderHealthy({
      sync: { B: syncRecord('B', 'SFAIL', { confirmedAt: T }) },
      intents: [planned('B')],
    }),
    kind: 'refuse-intent',
    reason: 'target_not_in_sync',
    says: ['planned takeover to B refused', 'SFAIL'],
    action: { intentId: 'p1' },
  },
  {
    name: 'planned takeover to a target without a sync record: refused',
    spec: S,
    obs: aLeaderHealthy({ sync: {}, intents: [planned('B')] }),
    kind: 'refuse-intent',
    reason: 'target_not_in_sync',
    says: ['no sync record'],
  },
  {
    name: 'planned takeover to an SFAIL target with force: handed over',
    spec: S,
    obs: aLeaderHealthy({
      sync: { B: syncRecord('B', 'SFAIL', { confirmedAt: T }) },
      intents: [planned('B', { force: true })],
    }),
    kind: 'step-down',
    reason: 'planned_takeover_handover',
    says: ['handing the leader key to B'],
    action: { fence: 'none', handoverTo: 'B', intentId: 'p1' },
  },
  {
    name: 'planned takeover to a stopped secondary: refused even with force',
    spec: S,
    obs: aLeaderHealthy({
      reports: { B: report('B', secondaryHealth('A', { running: false })) },
      intents: [planned('B', { force: true })],
    }),
    kind: 'refuse-intent',
    reason: 'target_not_ready',
    says: ['B refused', 'not a running secondary with a live agent'],
  },
  {
    name: 'planned takeover to a site without a live agent: refused',
    spec: S,
    obs: aLeaderHealthy({ reports: {}, intents: [planned('B')] }),
    kind: 'refuse-intent',
    reason: 'target_not_ready',
    says: ['not a running secondary with a live agent'],
  },
  {
    name: 'planned takeover to a site that is not in the spec: refused',
    spec: S,
    obs: aLeaderHealthy({ intents: [planned('Z')] }),
    kind: 'refuse-intent',
    reason: 'target_not_ready',
    says: ['planned takeover to Z refused'],
  },
  {
    name: 'planned takeover to a site that is itself a primary: refused',
    spec: S,
    obs: aLeaderHealthy({ reports: { B: report('B', primaryHealth([])) }, intents: [planned('B')] }),
    kind: 'refuse-intent',
    reason: 'target_not_ready',
    says: ['not a running secondary'],
  },
  {
    // C replicates from B: handing the key to it would leave it reserved for a site that refuses
    // it (not_tier2), with no leader and A writing without the key.
    name: 'planned takeover to a tier-3 site: refused even with force',
    spec: multitier,
    obs: aLeaderHealthy({
      reports: { B: report('B', secondaryHealth('A')), C: report('C', secondaryHealth('B')) },
      intents: [planned('C', { force: true })],
    }),
    kind: 'refuse-intent',
    reason: 'target_not_tier2',
    says: ['planned takeover to C refused', 'replicates from B, not from A'],
    action: { intentId: 'p1' },
  },
  {
    name: 'planned takeover to a site that replicates from another by its live topology: refused',
    spec: multitarget(),
    obs: aLeaderHealthy({
      reports: { B: report('B', secondaryHealth('A')), C: report('C', secondaryHealth('B')) },
      intents: [planned('C', { force: true })],
    }),
    kind: 'refuse-intent',
    reason: 'target_not_tier2',
    says: ['replicates from B, not from A'],
  },
  {
    name: 'planned takeover to the current primary: refused',
    spec: S,
    obs: aLeaderHealthy({ intents: [planned('A')] }),
    kind: 'refuse-intent',
    reason: 'already_primary',
    says: ['it is already the primary'],
  },
  {
    name: 'planned takeover to an in-sync secondary: hands the key over naming it',
    spec: S,
    obs: aLeaderHealthy({ intents: [planned('B')] }),
    kind: 'step-down',
    reason: 'planned_takeover_handover',
    says: ['planned takeover', 'handing the leader key to B', '--suspendPrimary'],
    action: { fence: 'none', handoverTo: 'B', intentId: 'p1', epoch: EPOCH },
  },
  {
    name: 'planned takeover to a DR site (a human asked): handed over',
    spec: spec({
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b', autoTakeover: false },
      ],
    }),
    obs: aLeaderHealthy({ intents: [planned('B')] }),
    kind: 'step-down',
    reason: 'planned_takeover_handover',
    says: ['handing the leader key to B'],
  },
  {
    name: 'the named successor takes over with the handshake, though A still answers writable',
    spec: S,
    obs: bAfterHandover(),
    kind: 'takeover',
    reason: 'planned_takeover',
    says: ['planned takeover', 'B takes over from A', '--suspendPrimary', `epoch ${EPOCH + 1}`],
    action: { planned: true, handshake: true, intentId: 'p1', expectedLastEpoch: EPOCH, from: 'A' },
  },
  {
    name: 'the named successor takes over even with automatic takeover off',
    spec: spec({ takeover: { automatic: false } }),
    obs: bAfterHandover(),
    kind: 'takeover',
    reason: 'planned_takeover',
    says: ['planned takeover'],
  },
  {
    name: 'the named successor, a DR site, takes over',
    spec: spec({
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b', autoTakeover: false },
      ],
    }),
    obs: bAfterHandover(),
    kind: 'takeover',
    reason: 'planned_takeover',
    says: ['planned takeover'],
  },
  {
    name: 'the named successor whose record is not SOK (no force): does not take over',
    spec: S,
    obs: bAfterHandover({ sync: { B: syncRecord('B', 'SFAIL') } }),
    kind: 'none',
    reason: 'not_in_sync',
    says: ['B is not promoted', 'SFAIL'],
  },
  {
    // The leader handed over because a DBA forced it; the successor must honour the same force, or
    // nobody takes the key: handoverTo blocks every other site and A keeps writing without it.
    name: 'the named successor of a forced planned takeover takes over although SFAIL',
    spec: S,
    obs: bAfterHandover({ sync: { B: syncRecord('B', 'SFAIL') }, intents: [planned('B', { force: true })] }),
    kind: 'takeover',
    reason: 'planned_takeover',
    says: ['planned takeover'],
    action: { planned: true, handshake: true },
  },
  {
    name: 'a third site does not race while the handover names B',
    spec: multitarget({ C: 900 }),
    obs: bAfterHandover({ self: 'C', sync: { B: syncRecord('B'), C: syncRecord('C') } }),
    kind: 'none',
    reason: 'handover_to_other',
    says: ['being handed over to B'],
  },
  {
    // A stepped down with fence 'none' and still runs as primary; it must not try to take the key
    // back while the handover names B (the store would refuse it, but the decision must not race).
    name: 'the former leader does not race for the key while the handover names B',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(primaryHealth()),
      leader: free(EPOCH, 'A'),
      handoverTo: 'B',
      reports: { B: report('B', secondaryHealth('A')) },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T }) },
      intents: [planned('B')],
    }),
    kind: 'none',
    reason: 'handover_to_other',
    says: ['being handed over to B'],
  },
];

// ---------------------------------------------------------------------------------------------
// A site that does not lead and cannot read its own state stops it (unknown may write).
// ---------------------------------------------------------------------------------------------
const unknownUnderB = (
  over: Partial<LocalView> = {},
  leader: LeaderView = held('B', false),
  links: Parameters<typeof primaryHealth>[0] = [],
) =>
  observation({
    self: 'A',
    local: local(downHealth(), over),
    leader,
    reports: { B: report('B', primaryHealth(links), { leader: true }) },
  });

export const unknownLocalStateCases: DecisionCase[] = [
  {
    name: 'key held by B, A cannot read its own state (agent just started): hard stop',
    spec: registerSpec,
    obs: unknownUnderB({ failedProbes: 1 }),
    kind: 'fence',
    reason: 'local_state_unknown',
    says: ['cannot read the state of A', 'B leads', 'stopping it'],
    action: { mode: 'stop', epoch: EPOCH },
  },
  {
    name: 'key held by B, A last seen as a primary, probe times out: hard stop at once',
    spec: S,
    obs: unknownUnderB({ failedProbes: 1, lastKnownRole: 'primary' }),
    kind: 'fence',
    reason: 'local_state_unknown',
    says: ['may be a primary that writes'],
  },
  {
    name: 'key held by B, A last seen as a secondary, one probe timed out: a blip, waits',
    spec: S,
    obs: unknownUnderB({ failedProbes: 1, lastKnownRole: 'secondary' }),
    kind: 'none',
    reason: 'secondary_probe_failed_below_threshold',
    says: ['cannot read the state of A', '1 of 3 failed probes'],
  },
  {
    name: 'the same blip, the leader reading its link to A ACTIVE: waits',
    spec: S,
    obs: unknownUnderB({ failedProbes: 1, lastKnownRole: 'secondary' }, held('B', false), [link('A')]),
    kind: 'none',
    reason: 'secondary_probe_failed_below_threshold',
    says: ['last seen as a secondary', 'waiting'],
  },
  {
    // sim:fuzz 930003725: A's probe tools hung, a DBA took A over by hand, and it wrote next to
    // the leader until failureThreshold probes had failed.
    name: 'the same blip, but the leader reports its replication to A broken (ERROR): hard stop at once',
    spec: S,
    obs: unknownUnderB({ failedProbes: 1, lastKnownRole: 'secondary' }, held('B', false), [
      link('A', { status: 'ERROR', inSync: false, statusDetails: 'Communication channel closed' }),
    ]),
    kind: 'fence',
    reason: 'local_state_unknown',
    says: ['B reports its replication to A broken', 'stopping it'],
  },
  {
    name: 'key held by B, A last seen as a secondary, failureThreshold probes failed: hard stop',
    spec: S,
    obs: unknownUnderB({ failedProbes: 3, lastKnownRole: 'secondary' }),
    kind: 'fence',
    reason: 'local_state_unknown',
    says: ['stopping it'],
  },
  {
    name: 'key held by B, a half-failed probe still reads A as a stopped primary: hard stop',
    spec: S,
    obs: unknownUnderB({
      health: stoppedPrimaryHealth({ probeOk: false, probeError: 'landscapeHostConfiguration.py timed out' }),
      failedProbes: 1,
      lastKnownRole: 'secondary',
    }),
    kind: 'fence',
    reason: 'local_state_unknown',
    says: ['landscapeHostConfiguration.py timed out'],
  },
  {
    name: 'key held by B, a half-failed probe reads A as a secondary: not unknown, no stop',
    spec: S,
    obs: unknownUnderB({
      health: secondaryHealth('B', { probeOk: false, probeError: 'status script timed out', running: false }),
      failedProbes: 1,
    }),
    kind: 'start-local',
    reason: 'secondary_down_restart',
    says: ['secondary A is not running'],
  },
  {
    name: 'key free (last leader B): no stop from this rule, a stopped candidate could not come back',
    spec: S,
    obs: unknownUnderB({ failedProbes: 3 }, free(EPOCH, 'B')),
    kind: 'none',
    reason: 'no_leader_not_eligible',
    says: ['A is not a running secondary'],
  },
  {
    name: 'key free, A the last leader (its agent restarted under a hung instance): hard stop, a successor may take over',
    spec: S,
    obs: unknownUnderB({ failedProbes: 1 }, free(EPOCH, 'A')),
    kind: 'fence',
    reason: 'local_state_unknown_key_lost',
    says: ['cannot read the state of A', 'leader key ran out', 'stopping it'],
    action: { mode: 'stop', epoch: EPOCH },
  },
  {
    // sim:fuzz 1318982986: A, stepped down after a crash, was started by hand while its probe
    // tools hung and B, the last leader, was cut off; A took writes with C in sync until B came
    // back, took the key again and restarted itself: A's acknowledged commits were lost.
    name: 'key free (last leader B), A last seen as a primary, cannot read its state: hard stop, it may have been started by hand',
    spec: S,
    obs: unknownUnderB({ failedProbes: 1, lastKnownRole: 'primary' }, free(EPOCH, 'B')),
    kind: 'fence',
    reason: 'local_state_unknown_former_primary',
    says: ['cannot read the state of A', 'last seen as a primary', 'B was the last leader', 'stopping it'],
    action: { mode: 'stop', epoch: EPOCH },
  },
  {
    // sim:fuzz 1040006226: no site could ever lead; A's probe tools hung while it wrote unseen.
    name: 'key free, nobody has led yet, A last seen as a primary, cannot read its state: hard stop',
    spec: S,
    obs: unknownUnderB({ failedProbes: 1, lastKnownRole: 'primary' }, { state: 'free', lastEpoch: 0 }),
    kind: 'fence',
    reason: 'local_state_unknown_former_primary',
    says: ['cannot read the state of A', 'last seen as a primary while no site has led yet', 'stopping it'],
    action: { mode: 'stop', epoch: 0 },
  },
  {
    name: 'key free (last leader B), A last seen as a secondary, failureThreshold probes failed: waits, it may be the only candidate',
    spec: S,
    obs: unknownUnderB({ failedProbes: 5, lastKnownRole: 'secondary' }, free(EPOCH, 'B')),
    kind: 'none',
    reason: 'no_leader_not_eligible',
    says: ['A is not a running secondary'],
  },
  {
    name: 'key free (last leader B), A a stopped former primary it can read: nothing unknown, nothing to stop',
    spec: S,
    obs: unknownUnderB({ health: stoppedPrimaryHealth(), lastKnownRole: 'primary' }, free(EPOCH, 'B')),
    kind: 'none',
    reason: 'no_leader_not_eligible',
    says: ['A is not a running secondary'],
  },
  {
    name: 'key free, A the last leader, last seen as a secondary, one probe failed: a blip, no stop',
    spec: S,
    obs: unknownUnderB({ failedProbes: 1, lastKnownRole: 'secondary' }, free(EPOCH, 'A')),
    kind: 'none',
    reason: 'no_leader_not_eligible',
    says: ['A is not a running secondary'],
  },
];

// ---------------------------------------------------------------------------------------------
// A required watchdog that is not usable: the site never leads (Patroni's required).
// ---------------------------------------------------------------------------------------------
const noWatchdog = {
  mayLead: false,
  message: 'watchdog required but unusable: its timeout 60 s exceeds 7 s; this site does not lead',
};
const usableWatchdog = { mayLead: true, message: 'watchdog usable: timeout 7 s within 7 s' };
export const watchdogCases: DecisionCase[] = [
  {
    name: 'B in sync after the primary loss, its required watchdog unusable: does not take over',
    spec: S,
    obs: bAfterPrimaryLoss({ watchdog: noWatchdog }),
    kind: 'none',
    reason: 'watchdog_required_unusable',
    says: ['B does not take over from A', 'timeout 60 s exceeds 7 s'],
  },
  {
    name: 'B in sync after the primary loss, its watchdog usable: takes over',
    spec: S,
    obs: bAfterPrimaryLoss({ watchdog: usableWatchdog }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'the running primary A at bootstrap, its required watchdog unusable: does not take the key',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(primaryHealth()),
      leader: { state: 'free', lastEpoch: 0 },
      watchdog: noWatchdog,
    }),
    kind: 'none',
    reason: 'watchdog_required_unusable',
    says: ['A does not acquire the leader key', 'does not lead'],
  },
  {
    // sim:fuzz schedules 120300000 and 120100538: nobody holds the key (A's required watchdog is
    // unusable), a DBA takes over on B; each primary saw the other writable and waited for it, and
    // A committed alone next to B once logshipping_timeout passed.
    name: 'A runs as primary next to another writable primary, no key, its required watchdog unusable: stops A',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(primaryHealth()),
      leader: free(0, null),
      reports: { B: report('B', primaryHealth([])) },
      watchdog: noWatchdog,
    }),
    kind: 'fence',
    reason: 'primary_cannot_lead',
    says: ['A runs as primary next to another primary', 'never hold the leader key', 'stopping it'],
  },
  {
    // sim:fuzz 1040006226: the other primary's agent could not read it (its probe tools hung), so
    // its report said nothing; the direct check found it writable.
    name: 'A runs as primary next to a primary only a direct check finds writable, its required watchdog unusable: stops A',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(primaryHealth()),
      leader: free(0, null),
      reports: { B: report('B', downHealth()) },
      peers: { B: peerWritablePrimary },
      watchdog: noWatchdog,
    }),
    kind: 'fence',
    reason: 'primary_cannot_lead',
    says: ['A runs as primary next to another primary', 'stopping it'],
  },
  {
    name: 'the same after A was the last leader: stops A',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(primaryHealth()),
      leader: free(EPOCH, 'A'),
      reports: { B: report('B', primaryHealth([])) },
      watchdog: noWatchdog,
    }),
    kind: 'fence',
    reason: 'primary_cannot_lead',
    says: ['stopping it'],
  },
  {
    name: 'next to another writable primary with a usable watchdog, not listed as its secondary: waits as before (the other may stop)',
    spec: S,
    obs: observation({
      self: 'A',
      local: local(primaryHealth([])),
      leader: free(0, null),
      reports: { B: report('B', primaryHealth([])) },
      watchdog: usableWatchdog,
    }),
    kind: 'none',
    reason: 'another_primary_running',
    says: ['A does not take the key'],
  },
  {
    name: 'planned takeover to B whose required watchdog is unusable: refused (nobody could take the key)',
    spec: S,
    obs: aLeaderHealthy({
      reports: {
        B: report('B', secondaryHealth('A'), {
          watchdog: {
            mode: 'required',
            state: 'disarmed',
            usable: false,
            mayLead: false,
            reason: 'watchdog_timeout_too_long',
            message: noWatchdog.message,
          },
        }),
      },
      intents: [planned('B')],
    }),
    kind: 'refuse-intent',
    reason: 'target_watchdog_unusable',
    says: ['planned takeover to B refused', 'does not lead'],
    action: { intentId: 'p1' },
  },
];

// ---------------------------------------------------------------------------------------------
// Fence before promote (STONITH): a lost leader is powered off before an early takeover.
// ---------------------------------------------------------------------------------------------
const fencingSpec = spec({ fencing: { agent: { command: 'fence_ipmilan' } } });
const lostA = (over: Partial<Parameters<typeof observation>[0]> = {}) =>
  observation({
    self: 'B',
    local: local(secondaryHealth('A')),
    leader: held('A', false),
    reports: {
      A: report('A', primaryHealth([link('B')]), { observedAt: T - 6000, lastWritableAt: T - 6000 }),
    },
    peers: { A: unreachable },
    sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 6000 }) },
    leaderSilence: { site: 'A', cycles: 3, silentMs: 6000 },
    ...over,
  });
const fenceRecord = (result: 'confirmed' | 'failed' | 'timed-out', over: Record<string, unknown> = {}) => ({
  A: {
    site: 'A',
    by: 'B',
    epoch: EPOCH,
    action: 'off' as const,
    result,
    startedAt: T - 3000,
    endedAt: T - 500,
    calls: 2,
    message: 'x',
    ...over,
  },
});
export const fenceBeforePromoteCases: DecisionCase[] = [
  {
    name: 'leader A silent for 3 cycles, its node not answering, B in sync: fences A before taking over',
    spec: fencingSpec,
    obs: lostA(),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['A holds the leader key', 'silent', 'powering its node off', 'fence_ipmilan'],
    action: { site: 'A', epoch: EPOCH },
  },
  // The leader's silence counts in time on B's own clock (failureThreshold x interval = 6 s at
  // these defaults), not in B's cycles: each of B's cycles waits out the silent node's port (the
  // probe timeout), so three cycles took about the TTL and the fence came after the key ran out.
  {
    name: "silent for 6 s (failureThreshold x interval) over 2 of B's cycles, each waiting out the silent port: fences A",
    spec: fencingSpec,
    obs: lostA({ leaderSilence: { site: 'A', cycles: 2, silentMs: 6000 } }),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['A holds the leader key', 'silent', '6.0 s', 'powering its node off'],
    action: { site: 'A', epoch: EPOCH },
  },
  {
    // Break it: a slow but alive leader. B's cycles are quick (three unchanged reads), but A's
    // report is only 5.9 s old on B's clock: a live leader publishes every interval plus one
    // cycle of its own (up to the probe timeout), so this is not yet silence.
    name: 'three unchanged reads in only 5.9 s (a slow but alive leader): waits',
    spec: fencingSpec,
    obs: lostA({ leaderSilence: { site: 'A', cycles: 3, silentMs: 5999 } }),
    kind: 'none',
    reason: 'secondary_healthy',
    says: ['B is a secondary'],
  },
  {
    // Break it: one long cycle of B (B itself stalled) is one direct check of A's node, not two.
    name: "silent for 9 s but A's node checked only once: waits",
    spec: fencingSpec,
    obs: lostA({ leaderSilence: { site: 'A', cycles: 1, silentMs: 9000 } }),
    kind: 'none',
    reason: 'secondary_healthy',
    says: ['B is a secondary'],
  },
  {
    // Break it: a short failureThreshold x interval (2 x 1 s) under a 3-s probe timeout. A live
    // leader's report may be interval + probe timeout (+ 1 s for its store calls) old: 5 s.
    name: "tuned probes (2 x 1 s, timeout 3 s): 4.9 s of silence is within a live leader's cycle, waits",
    spec: spec({
      fencing: { agent: { command: 'fence_ipmilan' } },
      probes: { intervalSeconds: 1, timeoutSeconds: 3 },
      takeover: { failureThreshold: 2 },
    }),
    obs: lostA({ leaderSilence: { site: 'A', cycles: 4, silentMs: 4900 } }),
    kind: 'none',
    reason: 'secondary_healthy',
    says: ['B is a secondary'],
  },
  {
    name: 'tuned probes (2 x 1 s, timeout 3 s): 5 s of silence fences A',
    spec: spec({
      fencing: { agent: { command: 'fence_ipmilan' } },
      probes: { intervalSeconds: 1, timeoutSeconds: 3 },
      takeover: { failureThreshold: 2 },
    }),
    obs: lostA({ leaderSilence: { site: 'A', cycles: 2, silentMs: 5000 } }),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['powering its node off'],
  },
  {
    // Break it (clock skew): A's clock runs a minute behind, so its last report looks a minute old
    // to B; the silence B measured on its own clock is 1 s. Times of two hosts are not compared.
    name: "A's report looks a minute old (A's clock behind), silent 1 s on B's clock: waits",
    spec: fencingSpec,
    obs: lostA({
      reports: {
        A: report('A', primaryHealth([link('B')]), { observedAt: T - 60_000, lastWritableAt: T - 60_000 }),
      },
      leaderSilence: { site: 'A', cycles: 3, silentMs: 1000 },
    }),
    kind: 'none',
    reason: 'secondary_healthy',
    says: ['B is a secondary'],
  },
  {
    name: "A's report looks fresh (A's clock ahead), silent 6 s on B's clock: fences A",
    spec: fencingSpec,
    obs: lostA({
      reports: {
        A: report('A', primaryHealth([link('B')]), { observedAt: T + 5000, lastWritableAt: T - 6000 }),
      },
    }),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['powering its node off'],
  },
  {
    name: 'the silence measured is of another site (C), not the leader: waits',
    spec: fencingSpec,
    obs: lostA({ leaderSilence: { site: 'C', cycles: 3, silentMs: 60_000 } }),
    kind: 'none',
    reason: 'secondary_healthy',
    says: ['B is a secondary'],
  },
  {
    name: 'a confirmed fence but only 5 s of silence: no seize (the silence rule comes first)',
    spec: fencingSpec,
    obs: lostA({ fences: fenceRecord('confirmed'), leaderSilence: { site: 'A', cycles: 3, silentMs: 5000 } }),
    kind: 'none',
    reason: 'secondary_healthy',
    says: ['B is a secondary'],
  },
  {
    name: "a confirmed fence of C's node, not A's: A is fenced, no seize",
    spec: fencingSpec,
    obs: lostA({ fences: { C: { ...fenceRecord('confirmed').A, site: 'C' } } }),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['powering its node off'],
    action: { site: 'A', epoch: EPOCH },
  },
  {
    name: "A's node confirmed on (a power-on), not off: fenced, no seize",
    spec: fencingSpec,
    obs: lostA({ fences: fenceRecord('confirmed', { action: 'on' }) }),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['powering its node off'],
  },
  {
    name: "A's node confirmed off in a later term than the key's: fenced again, no seize",
    spec: fencingSpec,
    obs: lostA({ fences: fenceRecord('confirmed', { epoch: EPOCH + 1 }) }),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['powering its node off'],
  },
  {
    name: 'the fence timed out (unconfirmed) just now: the lease rule stays in force',
    spec: fencingSpec,
    obs: lostA({ fences: fenceRecord('timed-out') }),
    kind: 'none',
    reason: 'fence_failed_lease_rule',
    says: ['timed out', 'lease rule stays in force'],
  },
  {
    name: 'no fence agent in the spec: the lease rule only',
    spec: S,
    obs: lostA(),
    kind: 'none',
    reason: 'secondary_healthy',
    says: ['B is a secondary'],
  },
  {
    name: 'B not in sync (SFAIL): A is not fenced',
    spec: fencingSpec,
    obs: lostA({ sync: { B: syncRecord('B', 'SFAIL', { confirmedAt: T - 6000 }) } }),
    kind: 'none',
    reason: 'lost_leader_not_in_sync',
    says: ['not fencing it'],
  },
  {
    name: "A's node confirmed off at this epoch: B seizes the key before the lease runs out",
    spec: fencingSpec,
    obs: lostA({ fences: fenceRecord('confirmed') }),
    kind: 'takeover',
    reason: 'fenced_leader_takeover',
    says: ['confirmed off', 'before the old lease runs out', `epoch ${EPOCH + 1}`],
    action: { seize: 'A', expectedLastEpoch: EPOCH, handshake: false, powerOn: 'A' },
  },
  {
    name: "A's node confirmed off in an older term: fenced again, no seize",
    spec: fencingSpec,
    obs: lostA({ fences: fenceRecord('confirmed', { epoch: EPOCH - 1 }) }),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['powering its node off'],
  },
  {
    name: 'the fence failed just now: the lease rule stays in force',
    spec: fencingSpec,
    obs: lostA({ fences: fenceRecord('failed') }),
    kind: 'none',
    reason: 'fence_failed_lease_rule',
    says: ['failed', 'lease rule stays in force'],
  },
  {
    name: 'the fence failed longer ago than fencing.agent.timeoutSeconds: tried again',
    spec: fencingSpec,
    obs: lostA({ fences: fenceRecord('failed', { endedAt: T - 61_000 }) }),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['powering its node off'],
  },
  {
    name: 'key ran out, A still answers as a writable primary (its agent died): fenced first',
    spec: fencingSpec,
    obs: bAfterPrimaryLoss({
      peers: { A: peerWritablePrimary },
      reports: {},
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) },
    }),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['ran out', 'still answers as a writable primary', 'powering its node off'],
  },
  {
    // sim:fuzz 120300688: watchdog unusable, fence agent configured; A's agent died, then A's
    // node froze. The key ran out, B took over by the lease rule without fencing, and A wrote
    // again at the thaw: two writers, commits lost. A lease that ran out proves nothing of a site
    // whose agent is gone; a fence agent can prove it.
    name: 'key ran out, A gone (no report) and not answering, fence agent: fenced first',
    spec: fencingSpec,
    obs: bAfterPrimaryLoss({ reports: {}, sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) } }),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['ran out', 'nothing shows A stopped', 'powering its node off'],
  },
  {
    name: 'key ran out, A gone and answering as a primary that takes no writes, fence agent: fenced first',
    spec: fencingSpec,
    obs: bAfterPrimaryLoss({
      peers: { A: peerStoppedPrimary },
      reports: {},
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) },
    }),
    kind: 'fence-node',
    reason: 'fence_lost_leader',
    says: ['nothing shows A stopped', 'powering its node off'],
  },
  {
    name: 'key ran out, A gone and not answering, its fence confirmed: takeover',
    spec: fencingSpec,
    obs: bAfterPrimaryLoss({
      reports: {},
      fences: fenceRecord('confirmed'),
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'key ran out, A gone and silent for the TTL, B still fencing it: the lease rule (takeover)',
    spec: fencingSpec,
    obs: bAfterPrimaryLoss({
      reports: {},
      fencingNode: 'A',
      peerSilentMs: { A: 10_000 },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    // sim:fuzz 1319015437: A's agent stopped, its key ran out while it answered as writable, B
    // fenced it; A was cut off for 1 s and B took over 0.8 s after A's last writable answer. A,
    // back, took writes beside B until the fence landed.
    name: 'key ran out, B fencing A, A answered a direct check 0.8 s ago: waits for the fence or the silence',
    spec: fencingSpec,
    obs: bAfterPrimaryLoss({
      reports: {},
      fencingNode: 'A',
      peerSilentMs: { A: 800 },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) },
    }),
    kind: 'none',
    reason: 'fence_running_leader_answered',
    says: ['B is fencing A', 'answered a direct check 0.8 s ago', 'silent for 10 s'],
  },
  {
    name: 'key ran out, B fencing A, A silent for the leader silence window (6 s) but not the TTL: waits',
    spec: fencingSpec,
    obs: bAfterPrimaryLoss({
      reports: {},
      fencingNode: 'A',
      peerSilentMs: { A: 9999 },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) },
    }),
    kind: 'none',
    reason: 'fence_running_leader_answered',
    says: ['answered a direct check 10.0 s ago', 'silent for 10 s (lease.ttlSeconds)'],
  },
  {
    name: 'key ran out, B fencing A, no measure of how long A has been silent: waits',
    spec: fencingSpec,
    obs: bAfterPrimaryLoss({
      reports: {},
      fencingNode: 'A',
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) },
    }),
    kind: 'none',
    reason: 'fence_running_leader_answered',
    says: ['B is fencing A', 'no unanswered direct check'],
  },
  {
    // examples/scenarios/crash-primary-node-fence-fails.yaml: A's node died at 60 s, its fence
    // device hangs until the 60-s fence timeout; A's key (TTL 20 s) ran out, B's checks of A have
    // gone unanswered since the crash: B promotes within its in-sync trust, not after the fence.
    name: 'hung fence of a dead node (TTL 20 s): silent since the crash, B takes over while the fence runs',
    spec: spec({
      lease: { ttlSeconds: 20 },
      replication: { logShippingTimeoutSeconds: 60 },
      fencing: { agent: { command: 'fence_ipmilan' } },
    }),
    obs: bAfterPrimaryLoss({
      reports: {},
      fencingNode: 'A',
      peerSilentMs: { A: 21_000 },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 23_000 }) },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'failureThreshold 10 (a 20-s leader silence window): silent for lease.ttlSeconds while fencing is enough',
    spec: spec({ takeover: { failureThreshold: 10 }, fencing: { agent: { command: 'fence_ipmilan' } } }),
    obs: bAfterPrimaryLoss({
      reports: {},
      fencingNode: 'A',
      peerSilentMs: { A: 10_000 },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'key ran out, A gone and silent for the TTL, its fence failed: the lease rule (takeover)',
    spec: fencingSpec,
    obs: bAfterPrimaryLoss({
      reports: {},
      fences: fenceRecord('failed'),
      peerSilentMs: { A: 10_000 },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'key ran out, its fence failed, A answered a direct check 1 s ago: waits for the silence',
    spec: fencingSpec,
    obs: bAfterPrimaryLoss({
      reports: {},
      fences: fenceRecord('failed'),
      peerSilentMs: { A: 1000 },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) },
    }),
    kind: 'none',
    reason: 'fence_failed_leader_answered',
    says: ['fence of A failed', 'answered a direct check 1.0 s ago'],
  },
  {
    name: 'key ran out, A answers as a secondary, fence agent: no fence needed',
    spec: fencingSpec,
    obs: bAfterPrimaryLoss({
      peers: { A: { reachable: true, acceptsWrites: false, role: 'none', running: false } },
      reports: {},
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 12_000 }) },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: "key ran out, A's agent alive and reading its HANA down, fence agent: no fence needed",
    spec: fencingSpec,
    obs: bAfterPrimaryLoss(),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'key ran out, A writable, no fence agent: still not taking over',
    spec: S,
    obs: bAfterPrimaryLoss({ peers: { A: peerWritablePrimary }, reports: {} }),
    kind: 'none',
    reason: 'former_primary_still_serving',
    says: ['not taking over'],
  },
];

// ---------------------------------------------------------------------------------------------
// A site that does not hold the key and cannot reach the store stops a primary it runs: no lease
// vouches for it (Patroni demotes a primary that cannot reach its DCS unless it is the leader in
// failsafe). Found by npm run sim:fuzz, schedule 73001900: B cut off, taken over by hand, kept
// writing next to A for 40 s, "fencing in 1692s" on its agent's own session lease.
// ---------------------------------------------------------------------------------------------
const longLease = spec({ lease: { ttlSeconds: 2500 }, replication: { logShippingTimeoutSeconds: 3000 } });
const cutNonLeader = (over: Partial<ObservationInput> = {}) =>
  observation({
    self: 'B',
    local: local(primaryHealth(), { lastWritableAt: T - 1000 }),
    leader: storeDown(false, 'coordination store unreachable from B'),
    // The agent's own session lease was renewed a minute ago: it vouches for nothing.
    leaseAgeMs: 60_000,
    peers: { A: unreachable },
    ...over,
  });

export const nonLeaderWithoutStoreCases: DecisionCase[] = [
  {
    name: 'not the leader, store and peer unreachable, HANA taken over by hand (writable): stops it at once',
    spec: longLease,
    obs: cutNonLeader(),
    kind: 'fence',
    reason: 'not_leader_store_unreachable',
    says: ['B runs as primary', 'did not hold the leader key', 'store is unreachable', 'stopping it'],
    action: { mode: 'stop' },
  },
  {
    name: 'not the leader, store unreachable, the peer answers as a writable primary: stops it',
    spec: longLease,
    obs: cutNonLeader({ peers: { A: peerWritablePrimary } }),
    kind: 'fence',
    reason: 'not_leader_store_unreachable',
    says: ['stopping it'],
  },
  {
    name: 'not the leader, store unreachable, every peer a reachable secondary: no failsafe without the key, stops it',
    spec: longLease,
    obs: cutNonLeader({ peers: { A: peerSecondary('B') } }),
    kind: 'fence',
    reason: 'not_leader_store_unreachable',
    says: ['stopping it'],
  },
  {
    name: 'not the leader, store unreachable, the takeover by hand is still under way (not writable yet): stops it',
    spec: longLease,
    obs: cutNonLeader({
      local: local(
        stoppedPrimaryHealth({
          processes: { hdbdaemon: 'GREEN', hdbnameserver: 'GREEN', hdbindexserver: 'YELLOW' },
        }),
      ),
    }),
    kind: 'fence',
    reason: 'not_leader_store_unreachable',
    says: ['stopping it'],
  },
  {
    name: 'not the leader, store unreachable, the probe fails on a site seen writable: stops it',
    spec: longLease,
    obs: cutNonLeader({ local: local(downHealth(), { lastWritableAt: T - 5000, lastKnownRole: 'primary' }) }),
    kind: 'fence',
    reason: 'not_leader_store_unreachable',
    says: ['stopping it'],
  },
  {
    name: 'agent restarted during the store outage (never read the key, no lease), HANA writable: stops it',
    spec: S,
    obs: cutNonLeader({ leaseAgeMs: null, peers: { A: peerSecondary('B') } }),
    kind: 'fence',
    reason: 'not_leader_store_unreachable',
    says: ['stopping it'],
  },
  {
    name: 'not the leader, store unreachable, the primary instance is stopped: not acting',
    spec: longLease,
    obs: cutNonLeader({ local: local(stoppedPrimaryHealth(), { lastWritableAt: T - 60_000 }) }),
    kind: 'none',
    reason: 'coordination_unreachable',
    says: ['not acting'],
  },
  {
    name: 'not the leader, store unreachable, a secondary whose probe fails: not acting',
    spec: longLease,
    obs: cutNonLeader({
      local: local(downHealth(), { lastWritableAt: null, lastKnownRole: 'secondary' }),
    }),
    kind: 'none',
    reason: 'coordination_unreachable',
    says: ['not acting'],
  },
  // sim:fuzz 1140014018: the leader's agent died while cut off, just before its self-fence; a new
  // one started under probe tools that hang, the store out of reach: it knows nothing of its
  // site, which may be the primary that writes on while another site takes over.
  {
    name: 'agent restarted during the store outage, its probe fails and it has read none since it started: stops the site',
    spec: longLease,
    obs: cutNonLeader({ leaseAgeMs: null, local: local(downHealth(), { lastWritableAt: null }) }),
    kind: 'fence',
    reason: 'not_leader_store_unreachable',
    says: ['cannot be read', 'did not hold the leader key', 'stopping it'],
    action: { mode: 'stop' },
  },
];

/**
 * A leader in maintenance mode fences nothing, so its key running out proves nothing (sim:fuzz
 * 996580585; test/regressions/isolated-in-maintenance-lease-runs-out.yaml).
 */
export const maintenanceLeaseCases: DecisionCase[] = [
  {
    name: 'the leader may still act in maintenance mode, its site unreachable: not taking over',
    spec: S,
    obs: bAfterPrimaryLoss({ local: local(secondaryHealth('A'), { leaderMayBeInMaintenance: true }) }),
    kind: 'none',
    reason: 'leader_lost_in_maintenance',
    says: ['ran out while its agent may still act in maintenance mode', 'not taking over'],
  },
  {
    name: 'the leader may still act in maintenance mode, its site reachable and stopped: takes over',
    spec: S,
    obs: bAfterPrimaryLoss({
      local: local(secondaryHealth('A'), { leaderMayBeInMaintenance: true }),
      peers: { A: { ...peerStoppedPrimary, running: false } },
    }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
  {
    name: 'the leader may still act in maintenance mode, its site answers without saying it stopped: not taking over',
    spec: S,
    obs: bAfterPrimaryLoss({
      local: local(secondaryHealth('A'), { leaderMayBeInMaintenance: true }),
      peers: { A: peerStoppedPrimary },
    }),
    kind: 'none',
    reason: 'leader_lost_in_maintenance',
    says: ['not taking over'],
  },
  {
    name: 'the leader reported acting outside maintenance: the lease rule stands',
    spec: S,
    obs: bAfterPrimaryLoss({ local: local(secondaryHealth('A'), { leaderMayBeInMaintenance: false }) }),
    kind: 'takeover',
    reason: 'primary_lost_takeover',
    says: ['taking over'],
  },
];

// ---------------------------------------------------------------------------------------------
// A writable primary next to the leader with no agent reporting for it (started by hand, its
// agent dead: sim:fuzz 1318934025) is fenced by the leader's fence agent.
// ---------------------------------------------------------------------------------------------
const rogueB = (over: Partial<ObservationInput> = {}) =>
  aLeaderHealthy({ reports: {}, peers: { B: peerWritablePrimary }, ...over });
export const roguePrimaryCases: DecisionCase[] = [
  {
    name: 'B answers writable, no agent reports for it, a fence agent: the leader fences its node, then powers it on',
    spec: fencingSpec,
    obs: rogueB(),
    kind: 'fence-node',
    reason: 'fence_rogue_primary',
    says: [
      'B answers as a writable primary next to A',
      'no agent reports for it',
      'fence_ipmilan',
      'on again',
    ],
    action: { site: 'B', epoch: EPOCH, powerOnAfter: true },
  },
  {
    name: 'B answers writable but its agent reports: its own agent stops it, the leader does not fence',
    spec: fencingSpec,
    obs: rogueB({ reports: { B: report('B', primaryHealth()) } }),
    kind: 'none',
    reason: 'leader_healthy',
    says: ['healthy primary'],
  },
  {
    name: 'B unreachable, no report: nothing shows it writes, no fence (the lost-peer rules apply)',
    spec: fencingSpec,
    obs: rogueB({ peers: { B: unreachable } }),
    kind: 'none',
    reason: 'leader_healthy',
    says: ['healthy primary'],
  },
  {
    name: 'B a reachable secondary without a report: nothing to fence',
    spec: fencingSpec,
    obs: rogueB({ peers: { B: peerSecondary('A') } }),
    kind: 'none',
    reason: 'leader_healthy',
    says: ['healthy primary'],
  },
  {
    name: 'no fence agent: nothing the leader can do (README Limits)',
    spec: S,
    obs: rogueB(),
    kind: 'none',
    reason: 'leader_healthy',
    says: ['healthy primary'],
  },
  {
    name: 'a fence already running: one at a time',
    spec: fencingSpec,
    obs: rogueB({ fencingNode: 'B' }),
    kind: 'none',
    reason: 'rogue_primary_fence_running',
    says: ['a fence of B is running'],
  },
  {
    name: 'its fence device used within fencing.agent.timeoutSeconds (plus the skew bound): not again yet',
    spec: fencingSpec,
    obs: rogueB({
      fences: { B: { ...fenceRecord('confirmed').A, site: 'B', by: 'A', action: 'on', endedAt: T - 5000 } },
    }),
    kind: 'none',
    reason: 'rogue_primary_fence_recent',
    says: ['power on: confirmed', 'trying again after fencing.agent.timeoutSeconds'],
  },
  {
    name: 'its fence device last used longer ago than the timeout: fenced again',
    spec: fencingSpec,
    obs: rogueB({
      fences: { B: { ...fenceRecord('failed').A, site: 'B', by: 'A', endedAt: T - 200_000 } },
    }),
    kind: 'fence-node',
    reason: 'fence_rogue_primary',
    says: ['powering its node off'],
    action: { site: 'B', powerOnAfter: true },
  },
  {
    name: "B in another region (a DR site that is primary there): not this leader's to fence",
    spec: spec({
      sites: [
        { name: 'A', host: 'hana-a', region: 'west' },
        { name: 'B', host: 'hana-b', region: 'north' },
      ],
      fencing: { agent: { command: 'fence_ipmilan' } },
    }),
    obs: rogueB(),
    kind: 'none',
    says: [],
    reason: 'leader_healthy',
  },
];

export const tables = {
  'a key that ran out in maintenance proves nothing': maintenanceLeaseCases,
  'fence before promote: a lost leader is powered off first': fenceBeforePromoteCases,
  'a writable primary without an agent next to the leader is fenced': roguePrimaryCases,
  'a required watchdog that is not usable: the site never leads': watchdogCases,
  'takeover only to a secondary that was SOK at the last trustworthy report': takeoverCases,
  failureThreshold: thresholdCases,
  'preferSiteTakeover false: local restart first': preferSiteCases,
  'never two primaries': twoPrimaryCases,
  'failsafe: a store outage alone does not fence a healthy primary': failsafeCases,
  'planned takeover intents': plannedCases,
  'a site that does not lead and cannot read its own state stops it': unknownLocalStateCases,
  'a site that does not hold the key and cannot reach the store stops a primary it runs':
    nonLeaderWithoutStoreCases,
} as const;

export const allCases: DecisionCase[] = Object.values(tables).flat();
