/**
 * The schema's node-loss timing rule against the trust rule it exists for (src/domain/sync-trust.ts):
 * every setting the schema accepts must leave the in-sync secondary of a primary whose node died
 * trusted when it first may act, in the worst case the rule's own terms allow.
 *
 * Worst case, on paper: the node dies at t0. Its last SOK (lag 0) was confirmed up to a probe
 * cycle before (c = intervalSeconds + timeoutSeconds); a keepalive just before t0 keeps the key
 * (and the report, on the same lease) until t0 + ttl; the secondary reads the key gone up to a
 * cycle later, at t0 + ttl + c, and finds the primary silent. It trusts the SOK only while
 * now + maxSkew + c < contact + logShippingTimeout (the skew bound and a cycle of margin for a
 * primary that is not the reader): ttl + 3c + maxSkew < logShippingTimeoutSeconds, with the two
 * clocks alike. The rule used to be ttl + 2c + maxSkew, a cycle short: it accepted settings under
 * which the secondary of a lost node is never trusted. (A secondary clock running ahead of the
 * primary's by up to the bound would need the bound a second time: not in the rule.)
 */
import { describe, expect, it } from 'vitest';
import { hanaSystemReplicationSpecSchema } from '../../src/api/spec.js';
import { cycleMs, inSyncVerdict } from '../../src/domain/sync-trust.js';

function spec(logShippingTimeoutSeconds: number, maxSkewSeconds: number) {
  return hanaSystemReplicationSpecSchema.safeParse({
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    replication: { mode: 'sync', logShippingTimeoutSeconds },
    probes: { intervalSeconds: 2, timeoutSeconds: 3 },
    lease: { ttlSeconds: 10 },
    clock: { maxSkewSeconds },
  });
}

function tiny(logShippingTimeoutSeconds: number, maxSkewSeconds: number) {
  return hanaSystemReplicationSpecSchema.safeParse({
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    replication: { mode: 'sync', logShippingTimeoutSeconds },
    probes: { intervalSeconds: 1, timeoutSeconds: 0.5 },
    lease: { ttlSeconds: 2 },
    clock: { maxSkewSeconds },
  });
}

/** B's verdict on A's SOK at the first moment B may act after A's node died, B's clock `ahead` ms ahead of A's. */
function verdictAfterNodeLoss(lst: number, skew: number, aheadMs: number) {
  const parsed = spec(lst, skew);
  if (!parsed.success) return 'refused by the schema' as const;
  const s = parsed.data;
  const c = cycleMs(s);
  const t0 = 1_000_000; // A's clock
  const confirmedAt = t0 - c;
  const firstAct = t0 + s.lease.ttlSeconds * 1000 + c; // on A's clock
  return inSyncVerdict(s, {
    candidate: 'B',
    primary: 'A',
    lastEpoch: 1,
    record: { site: 'B', state: 'SOK', confirmedAt, epoch: 1, mode: 'sync', lagSeconds: 0, lagBytes: 0 },
    primaryView: { kind: 'silent' },
    skew: undefined,
    now: firstAct + aheadMs,
  });
}

describe('node-loss timing rule', () => {
  it('every accepted setting trusts the SOK of a lost node when the secondary first may act', () => {
    // ttl 10 s, a cycle of 5 s, skew bound 1 s: the old rule accepted 22 s and up.
    for (let lst = 20; lst <= 40; lst++) {
      const v = verdictAfterNodeLoss(lst, 1, 0);
      if (v !== 'refused by the schema') expect(v, `logShippingTimeoutSeconds ${lst}`).toEqual({ ok: true });
    }
  });

  it('the rule is tight: right above its edge the worst case is trusted, at the edge it is not', () => {
    // 10 + 3 x 5 + 1 = 26: 27 is the first accepted value (whole seconds), and enough.
    expect(verdictAfterNodeLoss(26, 1, 0)).toBe('refused by the schema');
    expect(verdictAfterNodeLoss(27, 1, 0)).toEqual({ ok: true });
    // With fractions (interval 1, timeout 0.5, ttl 2): 2 + 3 x 1.5 + 1.5 = 8 is at the edge.
    expect(tiny(8, 1.5).success).toBe(false);
    expect(tiny(8, 1.4).success).toBe(true);
  });
});
