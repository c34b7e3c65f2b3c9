/**
 * The decision engine, rule by rule: every row of the tables in cases.ts must give the expected
 * action kind and machine reason, carry the expected action fields, and its human message must
 * say what and why. Plus the small named predicates (syncTrust, takeoverCandidates).
 */
import { describe, expect, it } from 'vitest';
import { cycleMs, decide, fenceDeadlineMs, takeoverCandidates } from '../../src/domain/decide.js';
import { inSyncVerdict, type PrimaryView } from '../../src/domain/sync-trust.js';
import type { SyncRecord } from '../../src/domain/types.js';
import {
  T,
  EPOCH,
  bAfterPrimaryLoss,
  report,
  secondaryHealth,
  spec,
  syncRecord,
  threeSites,
} from '../support/observations.js';
import { tables, type DecisionCase } from './cases.js';

function check(c: DecisionCase): void {
  const d = decide(c.obs, c.spec, c.now ?? T);
  expect({ kind: d.action.kind, reason: d.reason }, d.message).toEqual({ kind: c.kind, reason: c.reason });
  for (const words of c.says) expect(d.message).toContain(words);
  if (c.action) expect(d.action).toMatchObject(c.action);
  expect(d.reason).toMatch(/^[a-z][a-z0-9_]*$/);
  expect(d.message.length).toBeGreaterThan(10);
}

for (const [rule, cases] of Object.entries(tables)) {
  describe(rule, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => check(c));
  });
}

describe('decide is a pure function of its inputs', () => {
  it('gives the same decision twice and does not mutate the observation', () => {
    const obs = bAfterPrimaryLoss();
    const frozen = JSON.stringify(obs);
    const s = spec();
    const first = decide(obs, s, T);
    expect(decide(obs, s, T)).toEqual(first);
    expect(JSON.stringify(obs)).toBe(frozen);
  });

  it('does not act for a site that is not in the spec', () => {
    const d = decide(bAfterPrimaryLoss({ self: 'Z' }), spec(), T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('unknown_site');
    expect(d.message).toContain('site Z is not in the spec');
  });
});

describe('timing constants derived from the spec', () => {
  it('fences at 0.7 x TTL and counts one cycle as interval + timeout', () => {
    const s = spec({ lease: { ttlSeconds: 20 }, replication: { logShippingTimeoutSeconds: 60 } });
    expect(fenceDeadlineMs(s)).toBe(14_000);
    expect(cycleMs(spec({ probes: { intervalSeconds: 1, timeoutSeconds: 2.5 } }))).toBe(3500);
  });
});

describe('inSyncVerdict (the in-sync rule)', () => {
  const s = spec();
  const self = (lastWritableAt: number | null, notWritableSince: number | null = null): PrimaryView => ({
    kind: 'self',
    lastWritableAt,
    notWritableSince,
  });
  const trust = (record: SyncRecord | undefined, primaryView: PrimaryView) =>
    inSyncVerdict(s, {
      candidate: 'B',
      primary: 'A',
      lastEpoch: EPOCH,
      record,
      primaryView,
      skew: undefined,
      now: T,
    });
  it.each([
    ['no record', undefined, 'no sync record'],
    ['SFAIL', syncRecord('B', 'SFAIL'), 'SFAIL'],
    ['older epoch', syncRecord('B', 'SOK', { epoch: EPOCH - 1 }), `epoch ${EPOCH - 1}`],
  ] as const)('distrusts %s', (_name, record, why) => {
    const verdict = trust(record, self(T - 4000));
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.why).toContain(why);
  });

  it('trusts a SOK confirmed at the last writable moment, whatever its age, once the primary was seen stopped right after', () => {
    const old = syncRecord('B', 'SOK', { confirmedAt: T - 3_600_000 });
    expect(trust(old, self(T - 3_600_000, T - 3_598_000))).toEqual({ ok: true });
    // Nothing shows it stopped: it may have taken writes until now.
    expect(trust(old, self(T - 3_600_000)).ok).toBe(false);
  });

  it('checks the age against logShippingTimeoutSeconds (less the skew bound and a cycle for another site) when the last writable moment is unknown', () => {
    const silent: PrimaryView = { kind: 'silent' };
    const old = syncRecord('B', 'SOK', { confirmedAt: T - 29_500 });
    expect(trust(old, silent).ok).toBe(false);
    expect(trust(old, self(null)).ok).toBe(true); // its own clock: no skew, and it acts itself
    expect(trust(syncRecord('B', 'SOK', { confirmedAt: T - 31_000 }), self(null)).ok).toBe(false);
    // 30 s - 1 s of skew - 5 s (one cycle: the silent primary sees the new one only at its next)
    expect(trust(syncRecord('B', 'SOK', { confirmedAt: T - 24_000 }), silent).ok).toBe(false);
    const fresh = syncRecord('B', 'SOK', { confirmedAt: T - 23_000 });
    expect(trust(fresh, silent).ok).toBe(true);
    expect(trust(fresh, self(null)).ok).toBe(true);
  });
});

describe('takeoverCandidates', () => {
  const s = spec({
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b', priority: 100 },
      { name: 'C', host: 'hana-c', priority: 300 },
      { name: 'D', host: 'hana-d', priority: 200 },
      { name: 'E', host: 'hana-e', priority: 999, autoTakeover: false },
      { name: 'F', host: 'hana-f', priority: 999, source: 'C' },
    ],
  });
  const obs = bAfterPrimaryLoss({
    reports: {
      C: report('C', secondaryHealth('A')),
      D: report('D', secondaryHealth('A')),
      E: report('E', secondaryHealth('A')),
      F: report('F', secondaryHealth('C')),
    },
    sync: Object.fromEntries(['B', 'C', 'D', 'E', 'F'].map((n) => [n, syncRecord(n)])),
  });

  it('orders eligible sites by priority and leaves out DR and tier-3 sites', () => {
    expect(
      takeoverCandidates(
        obs,
        s,
        'A',
        EPOCH,
        { kind: 'self', lastWritableAt: T - 4000, notWritableSince: T - 3000 },
        T,
      ),
    ).toEqual(['C', 'D', 'B']);
  });

  it('leaves out a site whose record is not trusted', () => {
    const o = { ...obs, sync: { ...obs.sync, C: syncRecord('C', 'SFAIL') } };
    expect(
      takeoverCandidates(
        o,
        s,
        'A',
        EPOCH,
        { kind: 'self', lastWritableAt: T - 4000, notWritableSince: T - 3000 },
        T,
      ),
    ).toEqual(['D', 'B']);
  });

  it('never lists the failed primary itself', () => {
    const two = spec({ sites: threeSites });
    expect(
      takeoverCandidates(
        bAfterPrimaryLoss(),
        two,
        'A',
        EPOCH,
        { kind: 'self', lastWritableAt: T - 4000, notWritableSince: T - 3000 },
        T,
      ),
    ).not.toContain('A');
  });
});
