/**
 * Property tests over random specs and observations: whatever the engine is shown, it must not
 * throw, must not promote a site that was not a trusted SOK (unless a planned handover names it),
 * must not start a primary without the key, and must not race for a key that is held.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HanaSystemReplicationSpec } from '../../src/api/spec.js';
import { cycleMs, decide, promotable } from '../../src/domain/decide.js';
import type { Action } from '../../src/domain/decision.js';
import type { Observation } from '../../src/domain/observation.js';
import { T } from '../support/observations.js';
import { caseArb, retryCaseArb } from './arbitraries.js';

const RUNS = 3000;

/**
 * An independent statement of "a trusted SOK": a record of this site from the last term, SOK,
 * within the async bound, no measured clock skew to the primary beyond the bound, a known
 * replication contact (the lag, or a carried contact), and either confirmed no earlier than one
 * cycle before the primary's last writable moment as a fresh report tells it (with that moment a
 * cycle short of the log-shipping window), or, when that moment is unknown (silent primary, null,
 * a report older than a cycle), a contact younger than the log-shipping timeout less the skew bound.
 */
function trustedSok(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  a: Extract<Action, { kind: 'takeover' }>,
  termEpoch: number = a.expectedLastEpoch,
): boolean {
  const rec = obs.sync[obs.self];
  if (!rec || rec.state !== 'SOK' || rec.epoch !== termEpoch) return false;
  if (spec.replication.mode === 'async') {
    const bound = spec.replication.asyncTakeoverMaxLagSeconds;
    if (bound === undefined || rec.lagSeconds === null || rec.lagSeconds > bound) return false;
  }
  const skewBound = spec.clock.maxSkewSeconds * 1000;
  const skew = a.from === null ? undefined : obs.clockSkew?.[a.from];
  if (skew !== undefined && Math.abs(skew.offsetMs) + skew.uncertaintyMs > skewBound) return false;
  const contact =
    rec.contactAt !== undefined
      ? rec.contactAt
      : rec.lagSeconds === null
        ? null
        : rec.confirmedAt - rec.lagSeconds * 1000;
  if (contact === null) return false;
  const window = spec.replication.logShippingTimeoutSeconds * 1000;
  const report = a.from === null ? undefined : obs.reports[a.from];
  const fresh = report !== undefined && T + skewBound - report.observedAt <= cycleMs(spec);
  const lastWritable = fresh ? report.lastWritableAt : null;
  if (lastWritable === null) return T + skewBound < contact + window;
  return lastWritable - rec.confirmedAt <= cycleMs(spec) && lastWritable + cycleMs(spec) < contact + window;
}

function isPlannedFor(obs: Observation): boolean {
  return obs.handoverTo === obs.self;
}

/**
 * A takeover decision rests on what the rules say it must: the free key at its epoch, a trusted
 * SOK of the term taken over from, an automatic candidate. True: it was the retried takeover of a
 * last leader that never took over.
 */
function expectSoundTakeover(
  spec: HanaSystemReplicationSpec,
  obs: Observation,
  reason: string,
  a: Extract<Action, { kind: 'takeover' }>,
): boolean {
  expect(obs.leader.state).toBe('free');
  if (obs.leader.state !== 'free') return false;
  expect(a.expectedLastEpoch).toBe(obs.leader.lastEpoch);
  // The last leader that never took over retries its takeover from the site that was
  // primary in the term before its own, on that term's records; anyone else takes over from
  // the last leader, on the records of its term.
  const retry = reason === 'last_leader_retries_takeover';
  const termEpoch = retry ? obs.leader.lastEpoch - 1 : obs.leader.lastEpoch;
  if (retry) {
    expect(obs.leader.lastLeader).toBe(obs.self);
    expect(obs.lpe?.[a.from!]).toBe(termEpoch);
    expect(obs.lpe?.[obs.self]).not.toBe(obs.leader.lastEpoch);
    const old = obs.reports[a.from!]?.health;
    expect(old?.probeOk && old.srRole === 'primary' && !old.running && !old.acceptsWrites).toBe(true);
    expect(obs.peers[a.from!]?.acceptsWrites ?? false).toBe(false);
  } else {
    expect(a.from).toBe(obs.leader.lastLeader ?? null);
  }
  expect(a.planned).toBe(isPlannedFor(obs));
  if (a.planned) return retry;
  expect(trustedSok(obs, spec, a, termEpoch)).toBe(true);
  const me = spec.sites.find((s) => s.name === obs.self)!;
  expect(me.autoTakeover && spec.takeover.automatic).toBe(true);
  expect(me.source === undefined || me.source === a.from).toBe(true);
  expect(obs.local.health.srRole).toBe('secondary');
  // A handover for another site stands in the way unless it can never complete: its site's
  // agent reports it a stopped secondary (or no role), and the key is won over it.
  if (obs.handoverTo !== undefined) {
    expect(a.supersedeHandover).toBe(obs.handoverTo);
    const target = obs.reports[obs.handoverTo]?.health;
    expect(target?.probeOk).toBe(true);
    expect(target?.srRole).not.toBe('primary');
    expect(target?.running).toBe(false);
  }
  return retry;
}

describe('decide over random observations', () => {
  it('never throws and always explains itself', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, obs }) => {
        const d = decide(obs, spec, T);
        expect(d.reason).toMatch(/^[a-z][a-z0-9_]*$/);
        expect(d.message.length).toBeGreaterThan(10);
      }),
      { numRuns: RUNS },
    );
  });

  it('never takes over to a site whose sync record is not a trusted SOK, unless a planned handover names it', () => {
    let takeovers = 0;
    fc.assert(
      fc.property(caseArb, ({ spec, obs }) => {
        const d = decide(obs, spec, T);
        if (d.action.kind !== 'takeover') return;
        takeovers++;
        expectSoundTakeover(spec, obs, d.reason, d.action);
      }),
      { numRuns: RUNS },
    );
    // The property is only worth something if random inputs reach the takeover branch.
    expect(takeovers).toBeGreaterThan(5);
  });

  it('a last leader that never took over takes the key again only on the evidence of the term before, next to no writer', () => {
    let retried = 0;
    let handedBack = 0;
    let refused = 0;
    fc.assert(
      fc.property(retryCaseArb, ({ spec, obs }) => {
        const d = decide(obs, spec, T);
        if (d.action.kind !== 'takeover' && d.action.kind !== 'hand-back') {
          refused++;
          return;
        }
        expect(obs.leader.state === 'free' && obs.leader.lastLeader === obs.self).toBe(true);
        if (obs.leader.state !== 'free') return;
        // Both rest on the same evidence: the old primary was stamped primary in the term right
        // before, this site never in its own; the old primary's agent reads it stopped, no direct
        // check reaches it, this site runs as its secondary, and nobody takes writes.
        const from = d.action.kind === 'takeover' ? d.action.from! : d.action.to;
        expect(d.action.expectedLastEpoch).toBe(obs.leader.lastEpoch);
        expect(obs.lpe?.[from]).toBe(obs.leader.lastEpoch - 1);
        expect(obs.lpe?.[obs.self]).not.toBe(obs.leader.lastEpoch);
        const old = obs.reports[from]?.health;
        expect(old?.probeOk && old.srRole === 'primary' && !old.running && !old.acceptsWrites).toBe(true);
        expect(obs.peers[from]?.reachable ?? false).toBe(false);
        expect(obs.peers[from]?.pending).toBeUndefined();
        expect(obs.local.health.running && obs.local.health.source === from).toBe(true);
        for (const r of Object.values(obs.reports)) expect(r.health.acceptsWrites).toBe(false);
        expect(obs.watchdog?.mayLead ?? true).toBe(true);
        if (d.action.kind === 'takeover') {
          // A promotion, so every rule of a takeover: a trusted SOK of that term, a candidate.
          expect(d.reason).toBe('last_leader_retries_takeover');
          expect(expectSoundTakeover(spec, obs, d.reason, d.action)).toBe(true);
          expect(d.action.handshake).toBe(false);
          retried++;
        } else {
          expect(d.reason).toBe('last_leader_hands_back');
          handedBack++;
        }
      }),
      { numRuns: RUNS },
    );
    // Reached both ways, and refused, often enough for the property to mean something.
    expect(retried).toBeGreaterThan(100);
    expect(handedBack).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it('promotes only while holding the key', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, obs }) => {
        const d = decide(obs, spec, T);
        if (d.action.kind !== 'promote') return;
        expect(obs.leader).toMatchObject({ state: 'held', mine: true });
      }),
      { numRuns: RUNS },
    );
  });

  it('never starts a primary-role site that does not hold the key', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, obs }) => {
        const d = decide(obs, spec, T);
        if (d.action.kind !== 'start-local' || obs.local.health.srRole !== 'primary') return;
        expect(obs.leader).toMatchObject({ state: 'held', mine: true });
      }),
      { numRuns: RUNS },
    );
  });

  it('never races for a key that is held or that it cannot see, nor for one reserved for another site', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, obs }) => {
        const d = decide(obs, spec, T);
        if (d.action.kind !== 'acquire-leader' && d.action.kind !== 'takeover') return;
        expect(obs.leader.state).toBe('free');
        if (obs.handoverTo !== undefined && obs.handoverTo !== obs.self) {
          // Only over a handover that can never complete, and the key is won over that very
          // handover: its site's agent reports it stopped, a secondary (or no role), or a primary
          // while this site takes writes (a stopped primary takes the key only while no other
          // site does); or this site handed over, goes on taking writes, and its target would
          // refuse the key (not in sync as it judges a report of this site; not forced).
          expect(d.action.supersedeHandover).toBe(obs.handoverTo);
          const target = obs.reports[obs.handoverTo]?.health;
          const refused =
            obs.leader.state === 'free' &&
            obs.leader.lastLeader === obs.self &&
            obs.local.health.acceptsWrites &&
            !obs.intents.some(
              (i) => i.kind === 'planned-takeover' && i.target === obs.handoverTo && i.force === true,
            ) &&
            !promotable(
              obs,
              spec,
              obs.handoverTo,
              obs.self,
              obs.leader.lastEpoch,
              {
                kind: 'report',
                lastWritableAt: obs.local.lastWritableAt,
                notWritableSince: obs.local.notWritableSince ?? null,
                observedAt: T,
              },
              T,
            ).ok;
          if (!refused) {
            expect(target?.probeOk).toBe(true);
            if (target?.srRole === 'primary') expect(obs.local.health.acceptsWrites).toBe(true);
            expect(target?.running).toBe(false);
          }
        }
        if (d.action.kind === 'acquire-leader' && obs.leader.state === 'free') {
          expect(obs.local.health.srRole).toBe('primary');
          if (obs.handoverTo === obs.self && ![undefined, obs.self].includes(obs.leader.lastLeader)) {
            // Adopting a turn by hand (the former leader named this site, a writable primary), or
            // accepting the handover as a stopped primary; either way no other site takes writes.
            expect(obs.local.health.acceptsWrites || !obs.local.health.running).toBe(true);
            for (const [site, r] of Object.entries(obs.reports))
              if (site !== obs.self) expect(r.health.acceptsWrites).toBe(false);
            for (const [site, p] of Object.entries(obs.peers))
              if (site !== obs.self) expect(p.acceptsWrites).toBe(false);
          } else if (![undefined, obs.self].includes(obs.leader.lastLeader)) {
            // The last leader never took over: this site led the term right before (its agent's
            // memory, or the store stamped it primary then), the last leader was not stamped
            // primary in its own term and its agent reads it a stopped secondary, and this site
            // is a stopped primary next to no writer.
            const last = obs.reports[obs.leader.lastLeader!]?.health;
            expect(d.reason).toBe('last_leader_never_took_over');
            expect([obs.local.ledEpoch, obs.lpe?.[obs.self]]).toContain(obs.leader.lastEpoch - 1);
            expect(obs.lpe?.[obs.leader.lastLeader!]).not.toBe(obs.leader.lastEpoch);
            expect(last?.srRole).toBe('secondary');
            expect(last?.running).toBe(false);
            expect(obs.local.health.running || obs.local.health.acceptsWrites).toBe(false);
            for (const [site, r] of Object.entries(obs.reports))
              if (site !== obs.self) expect(r.health.acceptsWrites).toBe(false);
            for (const [site, p] of Object.entries(obs.peers))
              if (site !== obs.self) expect(p.acceptsWrites).toBe(false);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('steps down for a takeover (unplanned) only when a secondary has a SOK record of this term', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, obs }) => {
        const d = decide(obs, spec, T);
        if (d.action.kind !== 'step-down' || d.action.fence !== 'stop') return;
        const epoch = d.action.epoch;
        const heirs = Object.values(obs.sync).filter(
          (r) => r.site !== obs.self && r.state === 'SOK' && r.epoch === epoch,
        );
        expect(heirs.length).toBeGreaterThan(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('in maintenance always answers none, and says so', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, obs }) => {
        const d = decide(obs, { ...spec, maintenance: true }, T);
        expect(d.action).toEqual({ kind: 'none' });
        expect(d.message.startsWith('maintenance mode')).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
