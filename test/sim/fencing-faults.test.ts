import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/sim/scenario.js';
import { runScenario } from '../../src/sim/runner.js';

const scenario = (faults: string, extra = '') => `
name: fencing-faults
seed: 3
durationSeconds: 120
initialPrimary: A
cluster: { sid: HA1, instanceNumber: "00", sites: [{ name: A, host: hana-a }, { name: B, host: hana-b }] }
${extra}
faults:
${faults}
`;

describe('fencing faults in scenarios', () => {
  it('parses fail-fencing (with hang), restore-fencing, remove-watchdog, restore-watchdog and nodes', () => {
    const s = parseScenario(
      scenario(
        `  - { atSeconds: 10, action: fail-fencing, site: A, hang: true }
  - { atSeconds: 20, action: restore-fencing, site: A }
  - { atSeconds: 30, action: remove-watchdog, site: B }
  - { atSeconds: 40, action: restore-watchdog, site: B }`,
        'nodes: { watchdogTimeoutSeconds: 5, bootSeconds: 30 }',
      ),
    );
    expect(s.faults.map((f) => f.action)).toEqual([
      'fail-fencing',
      'restore-fencing',
      'remove-watchdog',
      'restore-watchdog',
    ]);
    expect(s.faults[0]!.hang).toBe(true);
    expect(s.nodes).toEqual({ watchdogTimeoutSeconds: 5, bootSeconds: 30 });
  });

  it('takes per-site watchdogs: another timeout, or none', async () => {
    const s = parseScenario(
      scenario(
        '  []',
        'nodes: { sites: { A: { watchdogTimeoutSeconds: 60 }, B: { watchdog: false } } }',
      ).replace('faults:\n  []', 'faults: []'),
    );
    expect(s.nodes?.sites).toEqual({ A: { watchdogTimeoutSeconds: 60 }, B: { watchdog: false } });
    expect(() =>
      parseScenario(
        scenario('  []', 'nodes: { sites: { C: { watchdog: false } } }').replace(
          'faults:\n  []',
          'faults: []',
        ),
      ),
    ).toThrow(/nodes\.sites\.C: unknown site "C"/);
  });

  it('refuses hang on other faults and the fencing faults without a site', () => {
    expect(() =>
      parseScenario(scenario('  - { atSeconds: 10, action: crash-node, site: A, hang: true }')),
    ).toThrow(/faults\[0\]\.hang: only fail-fencing takes hang/);
    expect(() => parseScenario(scenario('  - { atSeconds: 10, action: remove-watchdog }'))).toThrow(
      /remove-watchdog needs a site/,
    );
  });

  it('plays them: the devices change, the timeline says so, and the HANA story is the same as without', async () => {
    const faults = `  - { atSeconds: 10, action: fail-fencing, site: A }
  - { atSeconds: 20, action: remove-watchdog, site: A }
  - { atSeconds: 30, action: restore-fencing, site: A }
  - { atSeconds: 40, action: restore-watchdog, site: A }`;
    const withFaults = await runScenario(parseScenario(scenario(faults)));
    const faultsOnly = /^node:(fail-fencing|restore-fencing|remove-watchdog|restore-watchdog)$/;
    const node = withFaults.timeline.filter((e) => faultsOnly.test(e.event));
    expect(node.map((e) => `${e.t} ${e.site} ${e.event}`)).toEqual([
      '10 A node:fail-fencing',
      '20 A node:remove-watchdog',
      '30 A node:restore-fencing',
      '40 A node:restore-watchdog',
    ]);
    const without = await runScenario(parseScenario(scenario('  []').replace('faults:\n  []', 'faults: []')));
    expect(withFaults.final).toEqual(without.final);
    expect(withFaults.metrics.acknowledgedWrites).toBe(without.metrics.acknowledgedWrites);
  });
});
