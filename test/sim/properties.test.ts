/**
 * Property tests over random fault schedules (the generator behind `npm run sim:fuzz`): whatever
 * happens, every invariant of src/sim/invariants.ts holds. A bounded sample in the unit suite;
 * `npm run sim:fuzz` runs thousands per build and shrinks what fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hanaSystemReplicationSpecSchema, parseSpec } from '../../src/api/spec.js';
import { Prng } from '../../src/standins/hana-sim/prng.js';
import { faultKinds } from '../../src/sim/fault-kinds.js';
import { randomCase, randomSpec } from '../../src/sim/fuzz/generate.js';
import { checkScenario } from '../../src/sim/fuzz/run-case.js';
import { faultGroups } from '../../src/sim/fuzz/shrink.js';
import { scenarioYaml } from '../../src/sim/fuzz/yaml.js';
import { parseScenario, type Fault, type Scenario } from '../../src/sim/scenario.js';

const runs = Number(process.env.HANASR_PROPERTY_RUNS ?? 12);
const seed0 = Number(process.env.HANASR_PROPERTY_SEED ?? Date.now() % 1_000_000);

describe('random schedules', () => {
  it(`hold every invariant (fast-check seed ${seed0})`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.constantFrom(2 as const, 3 as const),
        async (seed, sites) => {
          const c = randomCase(seed, { sites });
          const out = await checkScenario(c.scenario, c.livenessFrom);
          expect(out.violations, `npm run sim:fuzz -- --replay ${seed} --sites ${sites}`).toEqual([]);
        },
      ),
      { numRuns: runs, seed: seed0 },
    );
  }, 600_000);

  it('draw settings the schema accepts, across its whole space', () => {
    const rng = new Prng(99);
    const seen = { modes: new Set<string>(), shortLst: false, threeTier: false, dr: false, fencing: false };
    for (let i = 0; i < 400; i++) {
      const spec = hanaSystemReplicationSpecSchema.parse(randomSpec(rng, i % 2 === 0 ? 2 : 3));
      seen.modes.add(spec.replication.mode);
      const floor =
        spec.lease.ttlSeconds +
        3 * (spec.probes.intervalSeconds + spec.probes.timeoutSeconds) +
        spec.clock.maxSkewSeconds;
      if (spec.replication.logShippingTimeoutSeconds - floor < 1.01) seen.shortLst = true;
      if (spec.sites.some((s) => s.source !== undefined && s.source !== 'A')) seen.threeTier = true;
      if (spec.sites.some((s) => !s.autoTakeover)) seen.dr = true;
      if (spec.fencing.agent !== undefined) seen.fencing = true;
    }
    expect([...seen.modes].sort()).toEqual(['async', 'sync', 'syncmem']);
    expect(seen).toMatchObject({ shortLst: true, threeTier: true, dr: true, fencing: true });
  });

  it('draw a valid scenario for a long run at a high rate (schedule 120500763 with --sites 3 drew 2.6 million writes and ended the whole run)', () => {
    const c = randomCase(120500763, { sites: 3 });
    expect(c.scenario.durationSeconds * c.scenario.workload.writesPerSecond).toBeLessThanOrEqual(2_000_000);
  });

  it('draw every fault of the alphabet, and write scenario files hanasr simulate reads', () => {
    const actions = new Set<string>();
    for (let seed = 1; seed <= 300; seed++) {
      const c = randomCase(seed);
      for (const f of c.scenario.faults) actions.add(f.action);
      if (seed <= 20) expect(parseScenario(scenarioYaml(c.input)).faults).toEqual(c.scenario.faults);
    }
    for (const k of faultKinds) expect(actions).toContain(k.action);
  });

  it('draw node devices too: no watchdog, timeouts within and beyond the lease bound, boot times', () => {
    const seen = {
      noWatchdog: false,
      within: false,
      tooLong: false,
      boot: false,
      fenceAgent: false,
      disabled: false,
    };
    for (let seed = 1; seed <= 300; seed++) {
      const { scenario } = randomCase(seed);
      const { nodes, cluster } = scenario;
      const max = cluster.lease.ttlSeconds - cluster.fencing.watchdog.safetyMarginSeconds;
      const timeouts = [
        nodes?.watchdogTimeoutSeconds,
        ...Object.values(nodes?.sites ?? {}).map((n) => n.watchdogTimeoutSeconds),
      ];
      for (const t of timeouts) if (t !== undefined) seen[t <= max ? 'within' : 'tooLong'] = true;
      if (Object.values(nodes?.sites ?? {}).some((n) => n.watchdog === false)) seen.noWatchdog = true;
      if (nodes?.bootSeconds !== undefined) seen.boot = true;
      if (cluster.fencing.agent !== undefined) seen.fenceAgent = true;
      if (cluster.fencing.watchdog.mode === 'disabled') seen.disabled = true;
    }
    expect(seen).toEqual({
      noWatchdog: true,
      within: true,
      tooLong: true,
      boot: true,
      fenceAgent: true,
      disabled: true,
    });
  });

  it('the same seed gives the same schedule', () => {
    expect(randomCase(1234).input).toEqual(randomCase(1234).input);
    expect(randomCase(1234).input).not.toEqual(randomCase(1235).input);
  });

  it('the shrinker keeps each fault with the clear that ends it', () => {
    const groups = faultGroups([
      { atSeconds: 10, action: 'freeze-site', site: 'A' },
      { atSeconds: 11, action: 'freeze-site', site: 'B' },
      { atSeconds: 12, action: 'thaw-site', site: 'B' },
      { atSeconds: 13, action: 'kill-indexserver', site: 'A' },
      { atSeconds: 14, action: 'thaw-site', site: 'A' },
    ]);
    expect(groups.map((g) => g.map((f) => `${f.action}@${f.atSeconds}`))).toEqual([
      ['freeze-site@10', 'thaw-site@14'],
      ['freeze-site@11', 'thaw-site@12'],
      ['kill-indexserver@13'],
    ]);
  });
});

/**
 * With fencing (the watchdog, automatic, on every node; a fence agent): the alphabet grows by what
 * only fencing can answer: the primary's agent dying (stop-agent, also with isolate-site), fence
 * devices that fail or hang, and watchdogs that go away. One combination stays outside on
 * purpose, as it removes every fence at once (a removed watchdog and a stopped agent on the same
 * cut-off node while the fence device fails): the two alphabets below keep them apart.
 */
const fencingPairs: Record<
  'agentDeath' | 'deviceLoss',
  [Fault['action'], Fault['action'] | null, boolean?][]
> = {
  agentDeath: [
    ['stop-agent', 'start-agent'],
    ['isolate-site', 'reconnect-site'],
    ['freeze-site', 'thaw-site'],
    ['crash-node', 'restore-node'],
    ['hang-instance', 'unhang-instance'],
    ['fail-fencing', 'restore-fencing'],
    ['fail-fencing', 'restore-fencing', true],
    ['crash-instance', 'restart-instance'],
  ],
  deviceLoss: [
    ['remove-watchdog', 'restore-watchdog'],
    ['fail-fencing', 'restore-fencing', true],
    ['isolate-site', 'reconnect-site'],
    ['freeze-site', 'thaw-site'],
    ['crash-node', 'restore-node'],
    ['hang-instance', 'unhang-instance'],
    ['coordination-outage', 'coordination-restore'],
  ],
};

const faultArb = (sites: string[]) =>
  fc.record({
    pair: fc.integer({ min: 0, max: 7 }),
    site: fc.constantFrom(...sites),
    at: fc.integer({ min: 10, max: 200 }),
    lasts: fc.integer({ min: 5, max: 120 }),
  });

function fencedScenarioOf(
  seed: number,
  alphabet: keyof typeof fencingPairs,
  faults: { pair: number; site: string; at: number; lasts: number }[],
): Scenario {
  const pairsHere = fencingPairs[alphabet];
  const list: Fault[] = [];
  for (const f of faults) {
    const [start, end, hang] = pairsHere[f.pair % pairsHere.length]!;
    const global = start.startsWith('coordination');
    const where = global ? {} : { site: f.site };
    list.push({ atSeconds: f.at, action: start, ...where, ...(hang ? { hang: true } : {}) });
    if (end) list.push({ atSeconds: f.at + f.lasts, action: end, ...where });
  }
  return {
    name: `fenced-${alphabet}-${seed}`,
    seed,
    durationSeconds: 420,
    initialPrimary: 'A',
    cluster: parseSpec({
      sid: 'HA1',
      instanceNumber: '00',
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b' },
      ],
      takeover: { automatedRegister: true },
      fencing: {
        watchdog: { resetHungSecondaryAfterSeconds: 60 },
        agent: { command: 'fence_ipmilan', timeoutSeconds: 20, callTimeoutSeconds: 5 },
      },
    }),
    workload: { writesPerSecond: 10 },
    faults: list,
    expect: {},
  };
}

describe.each(['agentDeath', 'deviceLoss'] as const)(
  'random fault schedules with fencing (%s)',
  (alphabet) => {
    it('holds every invariant (one writer, no lost commit, in-sync promotion, ...)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 1_000_000 }),
          fc.array(faultArb(['A', 'B']), { minLength: 1, maxLength: 4 }),
          async (seed, faults) => {
            const out = await checkScenario(fencedScenarioOf(seed, alphabet, faults));
            expect(out.violations).toEqual([]);
            expect(out.limitViolations).toEqual([]);
          },
        ),
        { numRuns: Math.max(1, Math.round(runs / 2)), seed: seed0 },
      );
    }, 600_000);
  },
);
