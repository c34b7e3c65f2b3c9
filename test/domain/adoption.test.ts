/**
 * Adopting a turn made by hand in maintenance (src/domain/adoption.ts), as decide() sees it from
 * each site, and the observations that try to make it adopt wrongly: a takeover in progress (the
 * new leader is a secondary of a still-writable old primary), a DBA takeover while the old primary
 * still runs, a new primary whose agent is silent or that a check finds not writable, a second
 * writer. Every row must never leave two sites with a claim to write.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/domain/decide.js';
import type { ActionKind } from '../../src/domain/decision.js';
import type { Observation } from '../../src/domain/observation.js';
import {
  EPOCH,
  T,
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
  syncRecord,
  threeSites,
} from '../support/observations.js';

const S = spec({ takeover: { automatedRegister: true } });
/** A's term began an hour ago; A stamped itself primary until a minute ago (before the DBA's turn). */
const SINCE = T - 3_600_000;
const WAS_PRIMARY = { A: T - 60_000 };

/** A holds the key of its term and, turned by hand, now replicates from B. */
const fromA = (over: Partial<Parameters<typeof observation>[0]> = {}): Observation =>
  observation({
    self: 'A',
    local: local(secondaryHealth('B')),
    leader: held('A', true, EPOCH, SINCE),
    reports: { B: report('B', primaryHealth([])) },
    peers: { B: peerWritablePrimary },
    lpt: WAS_PRIMARY,
    ...over,
  });

/** B, the writable primary the DBA turned to, while A still holds the key. */
const fromB = (over: Partial<Parameters<typeof observation>[0]> = {}): Observation =>
  observation({
    self: 'B',
    local: local(primaryHealth([])),
    leader: held('A', false, EPOCH, SINCE),
    reports: { A: report('A', secondaryHealth('B'), { leader: true }) },
    peers: { A: peerSecondary('B') },
    lpt: WAS_PRIMARY,
    ...over,
  });

interface Row {
  readonly name: string;
  readonly obs: Observation;
  readonly kind: ActionKind;
  readonly reason: string;
  readonly action?: Record<string, unknown>;
}

const rows: Row[] = [
  // The turned leader.
  {
    name: 'A, turned into a secondary of the writable primary B: hands the key to B (no stop)',
    obs: fromA(),
    kind: 'step-down',
    reason: 'adopt_manual_takeover',
    action: { epoch: EPOCH, fence: 'none', handoverTo: 'B' },
  },
  {
    name: 'A turned, B writable, no direct check configured: the report is enough',
    obs: fromA({ peers: {} }),
    kind: 'step-down',
    reason: 'adopt_manual_takeover',
  },
  {
    name: 'A turned and stopped (its probe names no source), B lists A among its secondaries: adopted',
    obs: fromA({
      local: local(secondaryHealth('B', { running: false, source: undefined } as never)),
      reports: { B: report('B', primaryHealth([link('A', { status: 'ERROR', inSync: false })])) },
    }),
    kind: 'step-down',
    reason: 'adopt_manual_takeover',
    action: { handoverTo: 'B' },
  },
  {
    name: 'A turned and stopped, no writable primary lists it: waits, never promotes itself back',
    obs: fromA({ local: local(secondaryHealth('B', { running: false, source: undefined } as never)) }),
    kind: 'none',
    reason: 'manual_turn_unconfirmed',
  },
  {
    name: "A turned, but B's agent is silent: neither hands over nor promotes itself back",
    obs: fromA({ reports: {} }),
    kind: 'none',
    reason: 'manual_turn_unconfirmed',
  },
  {
    name: 'A turned, B reports its HANA down: waits, never promotes itself back',
    obs: fromA({ reports: { B: report('B', downHealth()) } }),
    kind: 'none',
    reason: 'manual_turn_unconfirmed',
  },
  {
    name: 'A turned, B reports writable but a direct check finds it not writable: waits',
    obs: fromA({ peers: { B: peerStoppedPrimary } }),
    kind: 'none',
    reason: 'manual_turn_unconfirmed',
  },
  {
    name: 'A turned to B, but C takes writes too: waits',
    obs: fromA({
      reports: { B: report('B', primaryHealth([])), C: report('C', primaryHealth([])) },
    }),
    kind: 'none',
    reason: 'manual_turn_unconfirmed',
  },
  {
    name: 'a takeover in progress: B just won the key as a secondary of the still-writable A: promotes, never hands back',
    obs: observation({
      self: 'B',
      local: local(secondaryHealth('A')),
      leader: held('B', true, EPOCH, T - 1000),
      reports: { A: report('A', primaryHealth([])) },
      peers: { A: peerWritablePrimary },
      lpt: { A: T - 2000, B: SINCE - 1 },
    }),
    kind: 'promote',
    reason: 'promote_after_acquiring_leader',
    action: { handshake: true },
  },
  {
    name: 'maintenance ended while the DBA took over on B but A still runs writable: A keeps leading',
    obs: fromA({ local: local(primaryHealth([])) }),
    kind: 'none',
    reason: 'leader_healthy',
  },
  {
    name: "A stopped, not registered yet; B writable and SOK at A's last write: hands the key to B",
    obs: fromA({
      local: local(stoppedPrimaryHealth(), { lastWritableAt: T - 60_000, notWritableSince: T - 59_000 }),
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 60_000 }) },
    }),
    kind: 'step-down',
    reason: 'adopt_manual_takeover',
    action: { fence: 'none', handoverTo: 'B' },
  },
  {
    name: 'A stopped, B writable but SFAIL in this term (a stale primary started by hand): not adopted',
    obs: fromA({
      local: local(stoppedPrimaryHealth(), { lastWritableAt: T - 60_000 }),
      sync: { B: syncRecord('B', 'SFAIL', { confirmedAt: T - 60_000 }) },
    }),
    kind: 'start-local',
    reason: 'secondary_not_in_sync_restart_locally',
  },
  {
    name: 'A stopped, B SOK only before A took writes again: not adopted',
    obs: fromA({
      local: local(stoppedPrimaryHealth(), { lastWritableAt: T - 60_000 }),
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 600_000 }) },
    }),
    kind: 'start-local',
    reason: 'secondary_not_in_sync_restart_locally',
  },
  // The new primary while A holds the key.
  {
    name: 'B, writable, A (leader of its term) is its secondary: waits for the key, not fenced',
    obs: fromB(),
    kind: 'none',
    reason: 'manual_takeover_adoption_pending',
  },
  {
    name: "B, writable, A's agent silent but a direct check finds A a secondary of B: not fenced",
    obs: fromB({ reports: {} }),
    kind: 'none',
    reason: 'manual_takeover_adoption_pending',
  },
  {
    name: 'B, writable, A (leader of its term) stopped and B SOK at its last write: waits for the key, not fenced',
    obs: fromB({
      reports: {
        A: report('A', stoppedPrimaryHealth(), {
          leader: true,
          lastWritableAt: T - 60_000,
          notWritableSince: T - 59_000,
          observedAt: T - 1000,
        }),
      },
      peers: {},
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 60_000 }) },
    }),
    kind: 'none',
    reason: 'manual_takeover_adoption_pending',
  },
  {
    name: 'B, writable, A stopped but B SFAIL in its term: fenced',
    obs: fromB({
      reports: {
        A: report('A', stoppedPrimaryHealth(), {
          leader: true,
          lastWritableAt: T - 60_000,
          observedAt: T - 1000,
        }),
      },
      peers: {},
      sync: { B: syncRecord('B', 'SFAIL', { confirmedAt: T - 60_000 }) },
    }),
    kind: 'fence',
    reason: 'leader_key_held_by_other',
  },
  {
    name: 'B, the old primary, while A just won the key to take over from it (A never primary in its term): fenced',
    obs: fromB({ lpt: { A: SINCE - 1 } }),
    kind: 'fence',
    reason: 'leader_key_held_by_other',
  },
  {
    name: 'B took over by hand while A still runs writable: B is fenced (A holds the key)',
    obs: fromB({ reports: { A: report('A', primaryHealth([]), { leader: true }) }, peers: {} }),
    kind: 'fence',
    reason: 'leader_key_held_by_other',
  },
  {
    name: 'B writable, A its secondary, but C takes writes too: B is fenced',
    obs: fromB({
      reports: { A: report('A', secondaryHealth('B')), C: report('C', primaryHealth([])) },
    }),
    kind: 'fence',
    reason: 'leader_key_held_by_other',
  },
  // The handover.
  {
    name: 'key free and named for B, a writable primary, A a secondary: B takes it (new epoch)',
    obs: observation({
      self: 'B',
      local: local(primaryHealth([])),
      leader: free(EPOCH, 'A'),
      handoverTo: 'B',
      reports: { A: report('A', secondaryHealth('B')) },
    }),
    kind: 'acquire-leader',
    reason: 'adopt_manual_takeover',
    action: { expectedLastEpoch: EPOCH },
  },
  {
    name: 'key named for B, but A reports writable: no adoption, B is a stale primary and fenced',
    obs: observation({
      self: 'B',
      local: local(primaryHealth([])),
      leader: free(EPOCH, 'A'),
      handoverTo: 'B',
      reports: { A: report('A', primaryHealth([])) },
    }),
    kind: 'fence',
    reason: 'stale_primary',
  },
  {
    name: 'key named for B, a secondary (a planned handover): the planned takeover, not an adoption',
    obs: observation({
      self: 'B',
      local: local(secondaryHealth('A')),
      leader: free(EPOCH, 'A'),
      handoverTo: 'B',
      reports: { A: report('A', primaryHealth([])) },
      sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 1000 }) },
    }),
    kind: 'takeover',
    reason: 'planned_takeover',
  },
];

describe('adopting a turn made by hand', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const d = decide(r.obs, S, T);
    expect({ kind: d.action.kind, reason: d.reason }, d.message).toEqual({ kind: r.kind, reason: r.reason });
    if (r.action) expect(d.action).toMatchObject(r.action);
    expect(d.message.length).toBeGreaterThan(10);
  });

  it('in maintenance mode nothing is adopted', () => {
    for (const r of rows) {
      expect(decide(r.obs, { ...S, maintenance: true }, T).action.kind).toBe('none');
    }
  });

  it('multitarget: C still replicating from A does not stop the adoption of B', () => {
    const obs = fromA({
      reports: { B: report('B', primaryHealth([])), C: report('C', secondaryHealth('A')) },
    });
    const d = decide(obs, spec({ sites: threeSites }), T);
    expect(d).toMatchObject({ reason: 'adopt_manual_takeover', action: { handoverTo: 'B' } });
  });
});
