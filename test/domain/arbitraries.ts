/**
 * fast-check arbitraries for the decision engine: random specs over two or three sites and random
 * observations from one site's point of view. The domains are kept small (few sites, few epochs,
 * times near T) so that random inputs often land on the interesting branches: free keys, SOK
 * records of the right epoch, handovers, failed probes.
 */
import fc from 'fast-check';
import { parseSpec, type HanaSystemReplicationSpec } from '../../src/api/spec.js';
import type { Observation, PeerView } from '../../src/domain/observation.js';
import type {
  HanaHealth,
  Intent,
  LeaderView,
  ReplicationLink,
  SiteReport,
  SyncRecord,
} from '../../src/domain/types.js';
import { secondaryHealth, stoppedPrimaryHealth, T } from '../support/observations.js';

export const NAMES = ['A', 'B', 'C'] as const;

export const specArb: fc.Arbitrary<HanaSystemReplicationSpec> = fc
  .record({
    count: fc.integer({ min: 2, max: 3 }),
    sourceOfC: fc.constantFrom(undefined, 'A', 'B'),
    autoTakeover: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    priority: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 3, maxLength: 3 }),
    mode: fc.constantFrom('sync' as const, 'syncmem' as const, 'async' as const),
    asyncBound: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
    logShippingTimeoutSeconds: fc.integer({ min: 21, max: 60 }), // > ttl + 3 x (interval + timeout) + maxSkew
    ttlSeconds: fc.integer({ min: 3, max: 10 }),
    automatic: fc.boolean(),
    preferSiteTakeover: fc.boolean(),
    automatedRegister: fc.boolean(),
    duplicatePrimaryTimeoutSeconds: fc.constantFrom(0, 60, 7200),
    failureThreshold: fc.integer({ min: 1, max: 4 }),
    localRestartAttempts: fc.integer({ min: 0, max: 2 }),
    handshake: fc.boolean(),
    maintenance: fc.boolean(),
  })
  .map((r) =>
    parseSpec({
      sid: 'HA1',
      instanceNumber: '00',
      sites: NAMES.slice(0, r.count).map((name, i) => ({
        name,
        host: `hana-${name.toLowerCase()}`,
        priority: r.priority[i]!,
        autoTakeover: r.autoTakeover[i]!,
        ...(name === 'C' && r.sourceOfC !== undefined ? { source: r.sourceOfC } : {}),
      })),
      replication: {
        mode: r.mode,
        logShippingTimeoutSeconds: r.logShippingTimeoutSeconds,
        ...(r.asyncBound !== undefined ? { asyncTakeoverMaxLagSeconds: r.asyncBound } : {}),
      },
      takeover: {
        automatic: r.automatic,
        preferSiteTakeover: r.preferSiteTakeover,
        automatedRegister: r.automatedRegister,
        duplicatePrimaryTimeoutSeconds: r.duplicatePrimaryTimeoutSeconds,
        failureThreshold: r.failureThreshold,
        localRestartAttempts: r.localRestartAttempts,
        handshake: r.handshake,
      },
      probes: { intervalSeconds: 1, timeoutSeconds: 2 },
      lease: { ttlSeconds: r.ttlSeconds },
      maintenance: r.maintenance,
    }),
  );

const name = fc.constantFrom(...NAMES);
const epoch = fc.integer({ min: 0, max: 4 });
/** A time at or before T, often very close to it. */
const past = fc
  .oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 200_000 }))
  .map((d) => T - d);

const linkArb: fc.Arbitrary<ReplicationLink> = fc.record({
  secondary: name,
  mode: fc.constantFrom('sync' as const, 'syncmem' as const, 'async' as const),
  operationMode: fc.constant('logreplay' as const),
  status: fc.constantFrom(
    'ACTIVE' as const,
    'SYNCING' as const,
    'INITIALIZING' as const,
    'ERROR' as const,
    'UNKNOWN' as const,
  ),
  statusDetails: fc.constant(''),
  inSync: fc.boolean(),
  lagSeconds: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
  lagBytes: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: null }),
});

export const healthArb: fc.Arbitrary<HanaHealth> = fc
  .record({
    probeOk: fc.boolean(),
    running: fc.boolean(),
    landscapeStatus: fc.constantFrom(null, 0 as const, 1 as const, 2 as const, 3 as const, 4 as const),
    srRole: fc.constantFrom('primary' as const, 'secondary' as const, 'none' as const),
    source: fc.option(name, { nil: undefined }),
    suspended: fc.boolean(),
    acceptsWrites: fc.boolean(),
    replication: fc.array(linkArb, { maxLength: 2 }),
    probeError: fc.option(fc.constantFrom('timed out', 'nameserver not responding'), { nil: undefined }),
    yellow: fc.boolean(),
  })
  .map(({ source, probeError, yellow, ...h }) => ({
    ...h,
    processes: {
      hdbdaemon: yellow ? ('YELLOW' as const) : h.running ? ('GREEN' as const) : ('GRAY' as const),
    },
    overallReplicationStatus: h.replication.length === 0 ? ('NONE' as const) : h.replication[0]!.status,
    ...(source !== undefined ? { source } : {}),
    ...(probeError !== undefined ? { probeError } : {}),
  }));

/** Mostly-coherent healths, so that the common roles show up often. */
const coherentHealth: fc.Arbitrary<HanaHealth> = fc.oneof(
  healthArb,
  name.map((source): HanaHealth => ({
    probeOk: true,
    running: true,
    landscapeStatus: 4,
    processes: { hdbdaemon: 'GREEN' },
    srRole: 'secondary',
    source,
    suspended: false,
    acceptsWrites: false,
    replication: [],
    overallReplicationStatus: 'NONE',
  })),
  fc.boolean().map((running): HanaHealth => ({
    probeOk: true,
    running,
    landscapeStatus: running ? 4 : 1,
    processes: { hdbdaemon: running ? 'GREEN' : 'GRAY' },
    srRole: 'primary',
    suspended: false,
    acceptsWrites: running,
    replication: [],
    overallReplicationStatus: 'NONE',
  })),
);

const reportArb = (site: string): fc.Arbitrary<SiteReport> =>
  fc.record({
    site: fc.constant(site),
    observedAt: past,
    health: coherentHealth,
    failedProbes: fc.integer({ min: 0, max: 5 }),
    lastWritableAt: fc.option(past, { nil: null }),
    epoch,
    leader: fc.boolean(),
    fenced: fc.boolean(),
    clockSkew: perSite(() => skewArb, NAMES),
  });

const syncArb = (site: string): fc.Arbitrary<SyncRecord> =>
  fc
    .record({
      site: fc.constant(site),
      state: fc.constantFrom('SOK' as const, 'SOK' as const, 'SFAIL' as const, 'PRIM' as const),
      confirmedAt: past,
      epoch,
      mode: fc.constantFrom('sync' as const, 'async' as const),
      lagSeconds: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
      lagBytes: fc.constant(null),
      // Absent (an older agent's record), unknown, or a contact up to a minute before T.
      contactAt: fc.option(fc.option(past, { nil: null }), { nil: undefined }),
    })
    .map((r) => {
      const { contactAt, ...rest } = r;
      return contactAt === undefined ? rest : { ...rest, contactAt };
    });

/** A skew measurement: mostly within the default bound of 1 s, sometimes beyond it. */
const skewArb = fc.record({
  offsetMs: fc.integer({ min: -3000, max: 3000 }),
  uncertaintyMs: fc.integer({ min: 0, max: 500 }),
  measuredAt: past,
});

const peerArb: fc.Arbitrary<PeerView> = fc.oneof(
  fc.constant({ reachable: false, acceptsWrites: false }),
  fc.record({
    reachable: fc.constant(true),
    acceptsWrites: fc.boolean(),
    role: fc.constantFrom('primary' as const, 'secondary' as const, 'none' as const),
  }),
);

const intentArb: fc.Arbitrary<Intent> = fc.oneof(
  fc.record({
    kind: fc.constant('planned-takeover' as const),
    id: fc.constantFrom('p1', 'p2'),
    target: name,
    epoch,
    force: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('register' as const), id: fc.constant('r1'), site: name, epoch }),
  fc.record({ kind: fc.constant('fence' as const), id: fc.constant('f1'), site: name, epoch }),
);

/** Optional entry per site, as a record keyed by site name. */
/** The epoch of the key as read: the free key's last epoch or the holder's; unknown: none. */
function keyEpoch(leader: LeaderView): number | undefined {
  return leader.state === 'free'
    ? leader.lastEpoch
    : leader.state === 'held'
      ? leader.leader.epoch
      : undefined;
}

function perSite<V>(
  arb: (site: string) => fc.Arbitrary<V>,
  sites: readonly string[],
): fc.Arbitrary<Record<string, V>> {
  return fc.tuple(...sites.map((s) => fc.option(arb(s), { nil: undefined }))).map((values) => {
    const out: Record<string, V> = {};
    values.forEach((v, i) => {
      if (v !== undefined) out[sites[i]!] = v;
    });
    return out;
  });
}

export function observationArb(spec: HanaSystemReplicationSpec): fc.Arbitrary<Observation> {
  const sites = spec.sites.map((s) => s.name);
  return fc.constantFrom(...sites).chain((self) => {
    const others = sites.filter((s) => s !== self);
    const leader: fc.Arbitrary<LeaderView> = fc.oneof(
      fc
        .record({ site: fc.constantFrom(...sites), epoch, since: past })
        .map((l): LeaderView => ({ state: 'held', leader: l, mine: l.site === self })),
      fc
        .record({ lastEpoch: epoch, lastLeader: fc.option(fc.constantFrom(...sites), { nil: undefined }) })
        .map(({ lastEpoch, lastLeader }): LeaderView =>
          lastLeader === undefined ? { state: 'free', lastEpoch } : { state: 'free', lastEpoch, lastLeader },
        ),
      fc.boolean().map<LeaderView>((wasMine) => ({
        state: 'unknown',
        error: 'coordination store unavailable',
        wasMine,
      })),
    );
    return fc
      .record({
        health: coherentHealth,
        failedProbes: fc.integer({ min: 0, max: 5 }),
        localRestarts: fc.integer({ min: 0, max: 3 }),
        fenced: fc.boolean(),
        lastWritableAt: fc.option(past, { nil: null }),
        // Relative to the key's epoch: the term before it (last_leader_never_took_over), or another.
        ledEpochDelta: fc.option(fc.constantFrom(-1, -1, -2, 0), { nil: undefined }),
        leader,
        leaseAgeMs: fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: null }),
        reports: perSite(reportArb, others),
        peers: perSite(() => peerArb, others),
        sync: perSite(syncArb, sites),
        lpt: perSite(() => past, sites),
        // The store's last-primary epochs, relative to the key's epoch like ledEpochDelta.
        lpeDelta: perSite(() => fc.constantFrom(-1, -1, -2, 0), sites),
        handoverTo: fc.option(fc.constantFrom(...sites), { nil: undefined }),
        intents: fc.array(intentArb, { maxLength: 2 }),
        clockSkew: perSite(() => skewArb, others),
      })
      .map((r): Observation => ({
        self,
        local: {
          health: r.health,
          failedProbes: r.failedProbes,
          localRestarts: r.localRestarts,
          fenced: r.fenced,
          lastWritableAt: r.lastWritableAt,
          ...((e) =>
            r.ledEpochDelta !== undefined && e !== undefined && e + r.ledEpochDelta >= 0
              ? { ledEpoch: e + r.ledEpochDelta }
              : {})(keyEpoch(r.leader)),
        },
        leader: r.leader,
        leaseAgeMs: r.leaseAgeMs,
        reports: r.reports,
        peers: r.peers,
        sync: r.sync,
        lpt: r.lpt,
        ...((e) => {
          if (e === undefined) return {};
          const lpe: Record<string, number> = {};
          for (const [site, d] of Object.entries(r.lpeDelta)) if (e + d >= 1) lpe[site] = e + d;
          return Object.keys(lpe).length > 0 ? { lpe } : {};
        })(keyEpoch(r.leader)),
        ...(r.handoverTo !== undefined ? { handoverTo: r.handoverTo } : {}),
        intents: r.intents,
        clockSkew: r.clockSkew,
      }));
  });
}

/**
 * Observations biased towards the takeover branch: the key is free after A's term, this site is
 * (mostly) a running secondary of A with a (mostly) SOK record of about the right epoch, and the
 * rest stays random, so the trust rules are what decides.
 */
export function nearTakeoverArb(spec: HanaSystemReplicationSpec): fc.Arbitrary<Observation> {
  const sites = spec.sites.map((s) => s.name).filter((s) => s !== 'A');
  return fc
    .record({
      base: observationArb(spec),
      self: fc.constantFrom(...sites),
      lastEpoch: fc.integer({ min: 1, max: 3 }),
      recordEpochDelta: fc.constantFrom(0, 0, 0, -1, 1),
      state: mostly<'SOK' | 'SFAIL'>('SOK', ['SFAIL']),
      confirmedAt: past,
      lag: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }),
      secondary: fc.constantFrom(true, true, true, false),
      primaryReport: fc.option(
        fc.record({
          lastWritableAt: fc.option(past, { nil: null }),
          fenced: fc.boolean(),
          health: healthArb,
        }),
        { nil: undefined },
      ),
      handover: fc.constantFrom(undefined, undefined, undefined, 'self', 'other'),
      // The last leader (this site) took the key after A's term and never took over: it may retry
      // (decide.ts last_leader_retries_takeover). A stopped primary in A's report, mostly; the
      // store's stamps of A's term and, now and then, of this site's own.
      retry: fc.constantFrom(false, false, true),
      retryStoppedA: fc.constantFrom(true, true, false),
      retryLpe: fc.constantFrom('A' as const, 'A' as const, 'both' as const, 'none' as const),
    })
    .map((r): Observation => {
      const { self } = r;
      const reports: Record<string, SiteReport> = { ...r.base.reports };
      delete reports[self];
      if (r.primaryReport === undefined) delete reports.A;
      else
        reports.A = {
          site: 'A',
          observedAt: T - 1000,
          health: { ...r.primaryReport.health, acceptsWrites: false },
          failedProbes: 3,
          lastWritableAt: r.primaryReport.lastWritableAt,
          epoch: r.lastEpoch,
          leader: false,
          fenced: r.primaryReport.fenced,
        };
      if (r.retry && r.retryStoppedA)
        reports.A = {
          site: 'A',
          observedAt: T - 1000,
          failedProbes: 3,
          epoch: r.lastEpoch,
          leader: false,
          // Its stop confirmed at the last SOK confirmation, as after a step-down for the takeover.
          lastWritableAt: r.confirmedAt,
          fenced: true,
          health: stoppedPrimaryHealth(),
        };
      const lpe =
        r.retryLpe === 'none'
          ? undefined
          : { A: r.lastEpoch, ...(r.retryLpe === 'both' ? { [self]: r.lastEpoch + 1 } : {}) };
      const handoverTo = r.retry
        ? undefined
        : r.handover === 'self'
          ? self
          : r.handover === 'other'
            ? 'A'
            : undefined;
      const { handoverTo: _drop, ...base } = r.base;
      return {
        ...base,
        self,
        leader: r.retry
          ? { state: 'free', lastEpoch: r.lastEpoch + 1, lastLeader: self }
          : { state: 'free', lastEpoch: r.lastEpoch, lastLeader: 'A' },
        ...(r.retry && lpe !== undefined ? { lpe } : {}),
        local: r.secondary
          ? {
              ...r.base.local,
              health: {
                probeOk: true,
                running: true,
                landscapeStatus: 4,
                processes: { hdbdaemon: 'GREEN' },
                srRole: 'secondary',
                source: 'A',
                suspended: false,
                acceptsWrites: false,
                replication: [],
                overallReplicationStatus: 'NONE',
              },
            }
          : r.base.local,
        reports,
        sync: {
          ...r.base.sync,
          [self]: {
            site: self,
            state: r.state,
            confirmedAt: r.confirmedAt,
            epoch: r.lastEpoch + r.recordEpochDelta,
            mode: spec.replication.mode,
            lagSeconds: r.lag,
            lagBytes: null,
          },
        },
        ...(handoverTo !== undefined ? { handoverTo } : {}),
      };
    });
}

/** A spec and an observation that fits it: fully random, or biased towards a takeover. */
export const caseArb = specArb.chain((spec) =>
  fc.oneof(observationArb(spec), nearTakeoverArb(spec)).map((obs) => ({ spec, obs })),
);

/** `usual` seven times in eight, else one of `others`. */
function mostly<V>(usual: V, others: readonly V[]): fc.Arbitrary<V> {
  return fc.oneof(
    { arbitrary: fc.constant(usual), weight: 7 },
    { arbitrary: fc.constantFrom(...others), weight: 1 },
  );
}

/**
 * B, the last leader, took the key after A's term and never took over (decide.ts
 * last_leader_retries_takeover): the evidence around a retry at random, and mostly the evidence
 * a retry needs (A stamped primary in the term before, A's report a stopped primary, B a running
 * secondary of A with a SOK of A's term), so the rule is reached often and refused often.
 */
export const retryCaseArb: fc.Arbitrary<{ spec: HanaSystemReplicationSpec; obs: Observation }> = fc
  .record({
    spec: specArb,
    lastEpoch: fc.integer({ min: 2, max: 4 }),
    lpeA: mostly(-1, [-2, undefined]),
    lpeB: mostly<number | undefined>(undefined, [0, -1]),
    aHealth: mostly('stopped', ['running', 'writable', 'unknown', 'silent']),
    aPeer: mostly('unreachable', ['stopped', 'pending', 'answers-primary', 'writable']),
    bHealth: mostly('secondary-of-A', ['secondary-of-C', 'stopped']),
    bAuto: mostly(true, [false]),
    record: fc.record({
      state: fc.constantFrom('SOK' as const, 'SOK' as const, 'SOK' as const, 'SFAIL' as const),
      epochDelta: mostly(-1, [0, -2]),
      age: fc.integer({ min: 0, max: 20_000 }),
      lag: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }),
    }),
    lastWritableDelta: fc.option(fc.integer({ min: -3_000, max: 3_000 }), { nil: null }),
    aFenced: fc.boolean(),
    skew: fc.option(
      fc.record({
        offsetMs: fc.integer({ min: -3_000, max: 3_000 }),
        uncertaintyMs: fc.integer({ min: 0, max: 500 }),
      }),
      {
        nil: undefined,
      },
    ),
    cWritable: mostly(false, [true]),
    mayLead: mostly(true, [false]),
    maintenanceSeen: mostly(false, [true]),
  })
  .map((r) => {
    const spec: HanaSystemReplicationSpec = {
      ...r.spec,
      maintenance: false,
      takeover: { ...r.spec.takeover, automatic: true },
      sites: r.spec.sites.map((site) => (site.name === 'B' ? { ...site, autoTakeover: r.bAuto } : site)),
    };
    const E = r.lastEpoch;
    const confirmedAt = T - r.record.age;
    const stopped = stoppedPrimaryHealth();
    const aHealth: HanaHealth | undefined =
      r.aHealth === 'silent'
        ? undefined
        : r.aHealth === 'stopped'
          ? stopped
          : r.aHealth === 'unknown'
            ? { ...stopped, probeOk: false, srRole: 'none', probeError: 'HANA probe timed out' }
            : { ...stopped, running: true, landscapeStatus: 4, acceptsWrites: r.aHealth === 'writable' };
    const reports: Record<string, SiteReport> = {};
    if (aHealth !== undefined)
      reports.A = {
        site: 'A',
        observedAt: T - 1000,
        health: aHealth,
        failedProbes: 3,
        lastWritableAt: r.lastWritableDelta === null ? null : confirmedAt + r.lastWritableDelta,
        epoch: E,
        leader: false,
        fenced: r.aFenced,
      };
    if (r.cWritable)
      reports.C = {
        site: 'C',
        observedAt: T - 1000,
        health: { ...stopped, running: true, landscapeStatus: 4, acceptsWrites: true },
        failedProbes: 0,
        lastWritableAt: T - 1000,
        epoch: E,
        leader: false,
        fenced: false,
      };
    const peers: Record<string, PeerView> = {
      A:
        r.aPeer === 'unreachable'
          ? { reachable: false, acceptsWrites: false }
          : r.aPeer === 'pending'
            ? { reachable: false, acceptsWrites: false, pending: true }
            : r.aPeer === 'stopped'
              ? { reachable: true, acceptsWrites: false, role: 'primary', running: false }
              : { reachable: true, acceptsWrites: r.aPeer === 'writable', role: 'primary' },
    };
    const lpe: Record<string, number> = {};
    if (r.lpeA !== undefined) lpe.A = E + r.lpeA;
    if (r.lpeB !== undefined) lpe.B = E + r.lpeB;
    const obs: Observation = {
      self: 'B',
      local: {
        health:
          r.bHealth === 'stopped'
            ? secondaryHealth('A', {
                running: false,
                landscapeStatus: 1,
                processes: { hdbdaemon: 'GRAY', hdbnameserver: 'GRAY', hdbindexserver: 'GRAY' },
              })
            : secondaryHealth(r.bHealth === 'secondary-of-A' ? 'A' : 'C'),
        failedProbes: r.bHealth === 'stopped' ? 3 : 0,
        localRestarts: 0,
        fenced: false,
        lastWritableAt: null,
        ...(r.maintenanceSeen ? { leaderMayBeInMaintenance: true } : {}),
      },
      leader: { state: 'free', lastEpoch: E, lastLeader: 'B' },
      leaseAgeMs: null,
      reports,
      peers,
      sync: {
        B: {
          site: 'B',
          state: r.record.state,
          confirmedAt,
          epoch: E + r.record.epochDelta,
          mode: spec.replication.mode,
          lagSeconds: r.record.lag,
          lagBytes: null,
        },
      },
      lpt: {},
      ...(Object.keys(lpe).length > 0 ? { lpe } : {}),
      intents: [],
      ...(r.skew !== undefined ? { clockSkew: { A: { ...r.skew, measuredAt: T - 1000 } } } : {}),
      ...(r.mayLead ? {} : { watchdog: { mayLead: false, message: 'the required watchdog is not usable' } }),
    };
    return { spec, obs };
  });
