/**
 * Scenarios with `watches: true`: the agents watch the leader key as `hanasr agent` does on etcd
 * (src/agent/leader-watch.ts), so a release or expiry wakes them at once and a cycle whose probe
 * is in flight is superseded (with `probeSeconds` a healthy probe is in flight for a while too); an
 * outage or a cut breaks the watch and the agent reopens it. The fuzz runner draws both options,
 * and they round-trip through the scenario file format so a shrunk finding replays as it was found.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { randomCase, WATCHES_CHANCE } from '../../src/sim/fuzz/generate.js';
import { scenarioYaml } from '../../src/sim/fuzz/yaml.js';
import { directPortFactory, runScenario, type SimulationResult } from '../../src/sim/runner.js';
import { parseScenario, scenarioSchema, type Scenario } from '../../src/sim/scenario.js';

const base = {
  name: 'watches',
  seed: 5,
  durationSeconds: 120,
  initialPrimary: 'A',
  cluster: {
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    replication: { logShippingTimeoutSeconds: 60 },
    takeover: { automatedRegister: true },
    probes: { intervalSeconds: 5, timeoutSeconds: 4 },
    lease: { ttlSeconds: 10 },
  },
  workload: { writesPerSecond: 10 },
};

/** The timeline's agent events of `site` named `event` (written `event:action`, the action none). */
const events = (r: SimulationResult, site: string, event: string) =>
  r.timeline.filter((e) => e.site === site && e.event === `${event}:none`);

async function run(input: Record<string, unknown>): Promise<SimulationResult> {
  return runScenario(scenarioSchema.parse(input), { portFactory: await directPortFactory() });
}

describe('scenarios with watches', () => {
  it('an expired leader key wakes the secondary at once; without watches it waits for its interval', async () => {
    // A's agent dies: its key runs out a lease later, and B's watch tells B at that instant.
    const faults = [{ atSeconds: 30, action: 'stop-agent', site: 'A' }];
    const watched = await run({ ...base, watches: true, faults });
    const plain = await run({ ...base, faults });

    const woken = events(watched, 'B', 'leader-key-changed');
    expect(woken.length).toBeGreaterThan(0);
    // The first change after the death is the expiry: a lease (10 s) after A's last renewal.
    const expiry = woken.find((e) => e.t > 30)!;
    expect(expiry.t).toBeGreaterThan(30);
    expect(expiry.t).toBeLessThanOrEqual(41);
    expect(events(plain, 'B', 'leader-key-changed')).toEqual([]);
    expect(plain.timeline.some((e) => e.event.startsWith('leader-watch'))).toBe(false);
  });

  it('a wake while the probe hangs supersedes the running cycle', async () => {
    // B's probe tools hang: every cycle of B waits its whole probe timeout, so A's key runs out
    // while B probes, and the wake aborts that cycle for a fresh one.
    const faults = [
      { atSeconds: 20, action: 'hang-probe-tools', site: 'B' },
      { atSeconds: 30, action: 'stop-agent', site: 'A' },
    ];
    const r = await run({ ...base, watches: true, faults });
    const superseded = events(r, 'B', 'cycle-superseded');
    expect(superseded.length).toBeGreaterThan(0);
    expect(superseded[0]!.message).toMatch(/superseded by a wake while the local probe ran/);
    expect(
      events(r, 'B', 'leader-key-changed').some((e) =>
        /the running cycle is superseded/.test(e.message ?? ''),
      ),
    ).toBe(true);
  });

  it('with probes that take time, a key change during a healthy probe supersedes that cycle', async () => {
    // A's instance crashes: A steps down and releases the key while B's 2 s probe is in flight
    // (B's cycles run 2 s of every 5 s); without probeSeconds a healthy probe answers at once.
    const faults = [{ atSeconds: 30, action: 'crash-instance', site: 'A' }];
    const slow = await run({ ...base, watches: true, probeSeconds: 2, faults });
    const instant = await run({ ...base, watches: true, faults });
    expect(events(slow, 'B', 'cycle-superseded').length).toBeGreaterThan(0);
    expect(events(instant, 'B', 'cycle-superseded')).toEqual([]);
    for (const r of [slow, instant]) expect(r.final.primary).toBe('B');
    expect(() => scenarioSchema.parse({ ...base, probeSeconds: 4 })).toThrow(/probeSeconds/);
  });

  it('an outage and a cut break the watch, and the agent reopens it once the store answers', async () => {
    const faults = [
      { atSeconds: 20, action: 'coordination-outage' },
      { atSeconds: 26, action: 'coordination-restore' },
      { atSeconds: 50, action: 'isolate-site', site: 'B' },
      { atSeconds: 56, action: 'reconnect-site', site: 'B' },
    ];
    const r = await run({ ...base, watches: true, faults });
    const lost = (site: string) => events(r, site, 'leader-watch-lost');
    const restored = (site: string) => events(r, site, 'leader-watch-restored');
    // The outage: both lose the watch at 20 s and get it back after 26 s.
    expect(lost('A').map((e) => [e.t, e.reason])).toEqual([[20, 'leader_watch_broken']]);
    expect(restored('A')).toHaveLength(1);
    expect(restored('A')[0]!.t).toBeGreaterThanOrEqual(26);
    // The cut reaches B alone.
    expect(lost('B').map((e) => [e.t, e.reason])).toEqual([
      [20, 'leader_watch_broken'],
      [50, 'leader_watch_broken'],
    ]);
    expect(restored('B').map((e) => e.t >= 56)).toEqual([false, true]);
    expect(restored('B')[0]!.t).toBeGreaterThanOrEqual(26);
  });

  it('two regions: every region store offers watches, and a cut reaches the site on its own region store', async () => {
    const file = 'examples/scenarios/dr-primary-site-loss.yaml';
    const scenario: Scenario = {
      ...parseScenario(readFileSync(file, 'utf8'), file),
      watches: true,
    };
    const r = await runScenario({
      ...scenario,
      faults: [
        ...scenario.faults,
        { atSeconds: 300, action: 'isolate-site', site: 'C' },
        { atSeconds: 320, action: 'reconnect-site', site: 'C' },
      ],
    });
    expect(r.expectations.filter((e) => !e.ok)).toEqual([]);
    // A's crash and B's takeover change the key in eu-west; C (eu-north) watches its own store.
    expect(events(r, 'B', 'leader-key-changed').length).toBeGreaterThan(0);
    expect(events(r, 'C', 'leader-watch-lost').map((e) => [e.t, e.reason])).toEqual([
      [300, 'leader_watch_broken'],
    ]);
  });
});

describe('the fuzz generator and the scenario file', () => {
  it('draws watches in about three schedules of four, and the draw changes nothing else of a seed', () => {
    let on = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const drawn = randomCase(seed).input;
      if (drawn.watches === true) on++;
      else expect(drawn.watches).toBeUndefined();
      // Drawn last: the settings and faults are those of the same seed with the option forced.
      const { watches: _w, ...rest } = drawn;
      expect(randomCase(seed, { watches: false }).input).toEqual(rest);
      expect(randomCase(seed, { watches: true }).input).toEqual({ ...rest, watches: true });
    }
    expect(WATCHES_CHANCE).toBe(0.75);
    expect(on).toBeGreaterThan(260);
    expect(on).toBeLessThan(340);
  });

  it('draws a probe duration in about half the schedules, always within half the probe timeout', () => {
    let slow = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const { scenario } = randomCase(seed);
      if (scenario.probeSeconds === undefined) continue;
      slow++;
      expect(scenario.probeSeconds).toBeGreaterThan(0);
      expect(scenario.probeSeconds).toBeLessThanOrEqual(scenario.cluster.probes.timeoutSeconds / 2);
    }
    expect(slow).toBeGreaterThan(150);
    expect(slow).toBeLessThan(250);
  });

  it('round-trips through the scenario file format', () => {
    for (const watches of [true, false]) {
      const c = randomCase(42, { watches });
      const yaml = scenarioYaml(c.input);
      expect(yaml.includes('watches: true')).toBe(watches);
      const parsed = parseScenario(yaml);
      expect(parsed.watches === true).toBe(watches);
      expect(parsed).toEqual(c.scenario);
    }
    expect(() => parseScenario(scenarioYaml({ ...randomCase(42).input, watches: 'yes' as never }))).toThrow(
      /watches/,
    );
  });
});
