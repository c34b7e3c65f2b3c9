/**
 * Turns made by hand during maintenance, played through the whole system (simulator, agents,
 * in-memory store, virtual time), including the ones that must NOT be adopted. The happy path is
 * examples/scenarios/maintenance-manual-takeover-adopted.yaml.
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/api/spec.js';
import { runScenario } from '../../src/sim/runner.js';
import { parseScenario, type Fault, type Scenario } from '../../src/sim/scenario.js';

function scenario(name: string, faults: Fault[], sites = ['A', 'B'], duration = 300): Scenario {
  return {
    name,
    seed: 3,
    durationSeconds: duration,
    initialPrimary: 'A',
    cluster: parseSpec({
      sid: 'HA1',
      instanceNumber: '00',
      sites: sites.map((s) => ({ name: s, host: `hana-${s.toLowerCase()}` })),
      takeover: { automatedRegister: true },
    }),
    workload: { writesPerSecond: 20 },
    faults,
    expect: {},
  };
}

const after = (r: Awaited<ReturnType<typeof runScenario>>, t: number) => r.timeline.filter((e) => e.t >= t);

describe('a turn by hand in maintenance', () => {
  it('the DBA took over on B but left A running: no adoption, the key holder A stays, B is fenced at once', async () => {
    const r = await runScenario(
      scenario('dba-takeover-old-primary-still-runs', [
        { atSeconds: 60, action: 'maintenance-on' },
        { atSeconds: 70, action: 'manual-takeover', site: 'B' },
        { atSeconds: 100, action: 'maintenance-off' },
      ]),
    );
    expect(r.timeline.some((e) => e.reason === 'adopt_manual_takeover')).toBe(false);
    const fence = after(r, 100).find((e) => e.site === 'B' && e.event === 'action:fence');
    expect(fence).toBeDefined();
    expect(fence!.t).toBeLessThanOrEqual(102);
    expect(after(r, 100).some((e) => e.site === 'A' && /takeover|promote/.test(e.event))).toBe(false);
    expect(r.final.primary).toBe('A');
    expect(r.final.epoch).toBe(1);
    expect(r.metrics.takeovers).toBe(0);
  });

  it('the DBA registered A as secondary of B but did not start it: B is adopted, A started as its secondary', async () => {
    const r = await runScenario(
      scenario('dba-turn-former-primary-not-started', [
        { atSeconds: 60, action: 'maintenance-on' },
        { atSeconds: 70, action: 'crash-instance', site: 'A' },
        { atSeconds: 75, action: 'manual-takeover', site: 'B' },
        { atSeconds: 90, action: 'manual-register', site: 'A', source: 'B' },
        { atSeconds: 120, action: 'maintenance-off' },
      ]),
    );
    expect(r.metrics.maxConcurrentPrimaries).toBe(1);
    expect(r.metrics.lostCommittedWrites).toBe(0);
    expect(r.final).toMatchObject({ primary: 'B', epoch: 2, replicationStatus: 'ACTIVE' });
    expect(r.final.sites['A']).toMatchObject({ role: 'secondary', running: true });
    expect(after(r, 120).some((e) => e.site === 'B' && e.event === 'action:fence')).toBe(false);
  });

  it("the DBA took over on B but did not register A yet: B (in sync at A's last write) is adopted", async () => {
    const r = await runScenario(
      scenario('dba-turn-not-registered', [
        { atSeconds: 60, action: 'maintenance-on' },
        { atSeconds: 70, action: 'crash-instance', site: 'A' },
        { atSeconds: 75, action: 'manual-takeover', site: 'B' },
        { atSeconds: 150, action: 'maintenance-off' },
      ]),
    );
    expect(r.metrics.lostCommittedWrites).toBe(0);
    expect(r.metrics.maxConcurrentPrimaries).toBe(1);
    expect(r.final).toMatchObject({ primary: 'B', epoch: 2, replicationStatus: 'ACTIVE' });
    expect(after(r, 150).some((e) => e.site === 'B' && e.event === 'action:fence')).toBe(false);
  });

  it('a stale former primary started by hand in maintenance is not adopted: the leader keeps its term', async () => {
    // B was primary in term 1 and crashed; A took over (term 2, B SFAIL). In maintenance the DBA
    // stops A and starts B, still configured as primary: B runs writable without A's term-2
    // commits. Adopting B would lose them: A is restarted and B fenced instead.
    const base = scenario('stale-primary-in-maintenance', [
      { atSeconds: 20, action: 'crash-instance', site: 'B' },
      { atSeconds: 100, action: 'maintenance-on' },
      { atSeconds: 110, action: 'crash-instance', site: 'A' },
      { atSeconds: 115, action: 'restart-instance', site: 'B' },
      { atSeconds: 200, action: 'maintenance-off' },
    ]);
    const r = await runScenario({
      ...base,
      initialPrimary: 'B',
      cluster: { ...base.cluster, takeover: { ...base.cluster.takeover, automatedRegister: false } },
    });
    expect(r.timeline.some((e) => e.reason === 'adopt_manual_takeover')).toBe(false);
    expect(after(r, 200).some((e) => e.site === 'B' && e.event === 'action:fence')).toBe(true);
    expect(r.final).toMatchObject({ primary: 'A', epoch: 2 });
  });

  it('three sites: B adopted, C still attached to A follows B', async () => {
    const r = await runScenario(
      scenario(
        'dba-turn-multitarget',
        [
          { atSeconds: 60, action: 'maintenance-on' },
          { atSeconds: 70, action: 'crash-instance', site: 'A' },
          { atSeconds: 75, action: 'manual-takeover', site: 'B' },
          { atSeconds: 90, action: 'manual-register', site: 'A' },
          { atSeconds: 95, action: 'restart-instance', site: 'A' },
          { atSeconds: 150, action: 'maintenance-off' },
        ],
        ['A', 'B', 'C'],
        400,
      ),
    );
    expect(r.metrics.maxConcurrentPrimaries).toBe(1);
    expect(r.metrics.lostCommittedWrites).toBe(0);
    expect(r.final).toMatchObject({ primary: 'B', epoch: 2, replicationStatus: 'ACTIVE' });
    expect(r.final.sites['C']).toMatchObject({ role: 'secondary', running: true });
    expect(r.timeline.some((e) => e.site === 'C' && e.reason === 'reregister_to_new_source')).toBe(true);
  });

  it('B, turned to by hand, crashes before maintenance ends: A does not promote itself back, nobody is adopted', async () => {
    const r = await runScenario(
      scenario('dba-turn-new-primary-lost', [
        { atSeconds: 60, action: 'maintenance-on' },
        { atSeconds: 70, action: 'crash-instance', site: 'A' },
        { atSeconds: 75, action: 'manual-takeover', site: 'B' },
        { atSeconds: 90, action: 'manual-register', site: 'A' },
        { atSeconds: 95, action: 'restart-instance', site: 'A' },
        { atSeconds: 140, action: 'crash-instance', site: 'B' },
        { atSeconds: 150, action: 'maintenance-off' },
      ]),
    );
    expect(after(r, 150).some((e) => e.site === 'A' && /action:(takeover|promote)/.test(e.event))).toBe(
      false,
    );
    expect(r.timeline.some((e) => e.reason === 'manual_turn_unconfirmed')).toBe(true);
    expect(r.metrics.lostCommittedWrites).toBe(0);
    expect(r.metrics.maxConcurrentPrimaries).toBe(1);
  });
});

describe('the manual fault actions in scenario files', () => {
  const base = (fault: string) => `name: x
durationSeconds: 100
initialPrimary: A
cluster: { sid: HA1, instanceNumber: '00', sites: [{ name: A, host: hana-a }, { name: B, host: hana-b }] }
faults:
  - ${fault}
`;
  it('manual-register takes an optional source, another known site; nothing else takes one', () => {
    expect(
      parseScenario(base('{ atSeconds: 1, action: manual-register, site: A, source: B }')).faults[0],
    ).toEqual({
      atSeconds: 1,
      action: 'manual-register',
      site: 'A',
      source: 'B',
    });
    expect(parseScenario(base('{ atSeconds: 1, action: manual-takeover, site: B }')).faults).toHaveLength(1);
    expect(() =>
      parseScenario(base('{ atSeconds: 1, action: manual-register, site: A, source: A }')),
    ).toThrow(/faults\[0\]\.source: must be another site/);
    expect(() =>
      parseScenario(base('{ atSeconds: 1, action: manual-register, site: A, source: Z }')),
    ).toThrow(/unknown site "Z"/);
    expect(() =>
      parseScenario(base('{ atSeconds: 1, action: manual-takeover, site: B, source: A }')),
    ).toThrow(/manual-takeover takes no source/);
    expect(() => parseScenario(base('{ atSeconds: 1, action: manual-takeover }'))).toThrow(/needs a site/);
  });

  it('a manual register of a running site is refused the way hdbnsutil refuses it (the timeline says so)', async () => {
    const r = await runScenario(
      scenario('register-running', [{ atSeconds: 10, action: 'manual-register', site: 'B' }], ['A', 'B'], 30),
    );
    expect(r.timeline.find((e) => e.event === 'fault-failed:manual-register')?.reason).toMatch(/running/);
    expect(r.final.primary).toBe('A');
  });
});
