/**
 * A pending handover that cannot complete no longer holds every agent for ever (sim:fuzz
 * 882000445): a stopped primary named by it takes the key itself (handover_accepted), and a
 * handover to a stopped secondary is won over by whoever the rules would otherwise let lead
 * (compare-and-set on the handover naming that site). A handover whose target may still come
 * (its agent silent, its HANA starting, a direct check finding it running) stands.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/domain/decide.js';
import {
  EPOCH,
  T,
  free,
  link,
  local,
  observation,
  peerWritablePrimary,
  primaryHealth,
  report,
  secondaryHealth,
  spec,
  stoppedPrimaryHealth,
  syncRecord,
  threeSites,
  unreachable,
} from '../support/observations.js';

const S = spec({ sites: threeSites });
const stoppedSecondary = secondaryHealth('A', {
  running: false,
  processes: { hdbdaemon: 'GRAY', hdbnameserver: 'GRAY', hdbindexserver: 'GRAY' },
  landscapeStatus: 1,
});

describe('a handover that cannot complete', () => {
  it('a stopped primary named by the handover takes the key, so its agent starts it as the primary', () => {
    const d = decide(
      observation({
        self: 'B',
        local: local(stoppedPrimaryHealth()),
        leader: free(EPOCH, 'A'),
        handoverTo: 'B',
        reports: {
          A: report('A', stoppedPrimaryHealth(), { leader: false }),
          C: report('C', secondaryHealth('B')),
        },
        peers: { A: unreachable, C: unreachable },
      }),
      S,
      T,
    );
    expect(d.reason).toBe('handover_accepted');
    expect(d.action).toEqual({ kind: 'acquire-leader', expectedLastEpoch: EPOCH });
  });

  it('not while another site takes writes (by report or by a direct check)', () => {
    for (const over of [
      { reports: { C: report('C', primaryHealth([])) } },
      { peers: { C: peerWritablePrimary } },
    ]) {
      const d = decide(
        observation({
          self: 'B',
          local: local(stoppedPrimaryHealth()),
          leader: free(EPOCH, 'A'),
          handoverTo: 'B',
          ...over,
        }),
        S,
        T,
      );
      expect(d.action.kind).not.toBe('acquire-leader');
    }
  });

  // The last leader, a running primary, at a free key that it handed to B.
  const handedToB = (b: ReturnType<typeof report>, self = primaryHealth([])) =>
    decide(
      observation({
        self: 'A',
        local: local(self),
        leader: free(EPOCH, 'A'),
        handoverTo: 'B',
        reports: { B: b },
        peers: { B: unreachable },
      }),
      S,
      T,
    );

  it.each([
    ['a stopped secondary', report('B', stoppedSecondary)],
    // sim:fuzz 990011773: a DBA took the handover's target over by hand and its agent stopped it;
    // a stopped primary takes the key only while no other site writes, and A writes.
    ['a primary that was stopped', report('B', stoppedPrimaryHealth(), { leader: false })],
  ])('the last leader, still writable, wins the key over a handover to %s', (_name, b) => {
    const d = handedToB(b);
    expect(d.reason).toBe('reacquire_leader');
    expect(d.action).toEqual({ kind: 'acquire-leader', expectedLastEpoch: EPOCH, supersedeHandover: 'B' });
  });

  it('a handover to a stopped primary stands for a site that does not take writes itself', () => {
    // Both stopped (sim:fuzz 882000445): the target takes the key (handover_accepted), nobody else.
    const d = handedToB(report('B', stoppedPrimaryHealth(), { leader: false }), stoppedPrimaryHealth());
    expect(d.action.kind).not.toBe('acquire-leader');
  });

  it('an in-sync secondary takes over past a handover to a stopped secondary, over that handover', () => {
    const d = decide(
      observation({
        self: 'C',
        local: local(secondaryHealth('A')),
        leader: free(EPOCH, 'A'),
        handoverTo: 'B',
        reports: {
          A: report('A', stoppedPrimaryHealth(), {
            lastWritableAt: T - 4000,
            notWritableSince: T - 3000,
            leader: false,
          }),
          B: report('B', stoppedSecondary),
        },
        peers: { A: unreachable, B: unreachable },
        sync: { C: syncRecord('C') },
      }),
      S,
      T,
    );
    expect(d.action).toMatchObject({ kind: 'takeover', from: 'A', planned: false, supersedeHandover: 'B' });
  });

  it('stands while its target may still come: no report, a process alive, a direct check finding it running', () => {
    const cases = [
      { reports: {}, peers: { B: unreachable } },
      {
        reports: { B: report('B', secondaryHealth('A', { running: false })) },
        peers: { B: unreachable },
      },
      {
        reports: { B: report('B', stoppedSecondary) },
        peers: { B: { reachable: true, acceptsWrites: false, role: 'secondary' as const, running: true } },
      },
    ];
    for (const c of cases) {
      const d = decide(
        observation({
          self: 'A',
          local: local(primaryHealth([])),
          leader: free(EPOCH, 'A'),
          handoverTo: 'B',
          // B in sync as it would judge A's report: only its presence is in doubt.
          sync: { B: syncRecord('B', 'SOK', { confirmedAt: T }) },
          ...c,
        }),
        S,
        T,
      );
      expect(d.reason).toBe('handover_to_other');
    }
  });

  // sim:fuzz 1010002825: B's agent was down when A handed it the key with --suspendPrimary. A went
  // on writing without a leader key; nobody confirms B's SOK while nobody leads, so B refused as
  // not in sync (A wrote after its last SOK) from then on, and A waited for it for ever.
  const wroteOn = (over: Parameters<typeof observation>[0] extends infer I ? Partial<I> : never) =>
    decide(
      observation({
        self: 'A',
        local: local(primaryHealth([link('B')])),
        leader: free(EPOCH, 'A'),
        handoverTo: 'B',
        reports: { B: report('B', secondaryHealth('A')) },
        peers: { B: { reachable: true, acceptsWrites: false, role: 'secondary' as const, running: true } },
        ...over,
      }),
      spec(),
      T,
    );

  it('the site that handed over and goes on writing wins the key back once its target would refuse it', () => {
    for (const sync of [
      { B: syncRecord('B', 'SOK', { confirmedAt: T - 10_000 }) }, // A wrote after the SOK
      { B: syncRecord('B', 'SFAIL', { confirmedAt: T }) },
      { B: syncRecord('B', 'SOK', { confirmedAt: T, epoch: EPOCH - 1 }) },
      {},
    ]) {
      const d = wroteOn({ sync });
      expect(d.reason, JSON.stringify(sync)).toBe('reacquire_leader');
      expect(d.action).toEqual({ kind: 'acquire-leader', expectedLastEpoch: EPOCH, supersedeHandover: 'B' });
      expect(d.message).toMatch(/over the handover to B, which would not take it \(/);
    }
  });

  it('the handover stands while its target would take it, or when the request was forced', () => {
    expect(wroteOn({ sync: { B: syncRecord('B', 'SOK', { confirmedAt: T }) } }).reason).toBe(
      'handover_to_other',
    );
    const forced = wroteOn({
      sync: { B: syncRecord('B', 'SFAIL', { confirmedAt: T }) },
      intents: [{ kind: 'planned-takeover', id: 'p1', target: 'B', epoch: EPOCH, force: true }],
    });
    expect(forced.reason).toBe('handover_to_other');
    // Not the site that handed over (another primary, a stopped one): the older rules.
    const stopped = decide(
      observation({
        self: 'A',
        local: local(stoppedPrimaryHealth(), { lastWritableAt: T - 1000 }),
        leader: free(EPOCH, 'A'),
        handoverTo: 'B',
        reports: { B: report('B', secondaryHealth('A')) },
        sync: { B: syncRecord('B', 'SFAIL', { confirmedAt: T }) },
      }),
      spec(),
      T,
    );
    expect(stopped.reason).toBe('handover_to_other');
  });
});
