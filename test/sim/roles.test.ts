/**
 * Faults and expectations that name a role (`primary`, `secondary`) instead of a site: resolved
 * when the fault fires (faults) or at the start (expect), by one rule shared with the demo.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/sim/runner.js';
import { parseScenario, ScenarioError } from '../../src/sim/scenario.js';

const dir = join(import.meta.dirname, '../../examples/scenarios');

/** The tour's scenario with another initial primary (what the README tour's step 3 leaves). */
function demoTakeoverFrom(initialPrimary: string) {
  const text = readFileSync(join(dir, 'demo-takeover.yaml'), 'utf8').replace(
    'initialPrimary: A',
    `initialPrimary: ${initialPrimary}`,
  );
  return parseScenario(text, 'demo-takeover.yaml');
}

const twoSites = `
seed: 1
durationSeconds: 120
initialPrimary: A
cluster:
  sid: HA1
  instanceNumber: '00'
  sites: [{ name: A, host: hana-a }, { name: B, host: hana-b }]
  takeover: { automatedRegister: true }
`;

describe('role-named faults', () => {
  it('the tour scenario passes whichever site is primary at the start', async () => {
    for (const initial of ['A', 'B']) {
      const r = await runScenario(demoTakeoverFrom(initial));
      const other = initial === 'A' ? 'B' : 'A';
      expect(r.passed, JSON.stringify(r.expectations)).toBe(true);
      expect(r.final.primary).toBe(other);
      const fault = r.timeline.find((e) => e.event === 'fault:crash-instance');
      expect(fault).toMatchObject({ site: initial, reason: 'scenario (primary when it fired)' });
      expect(r.expectations.find((e) => e.key === 'primary')).toMatchObject({
        expected: other,
        note: 'the secondary at the start',
        ok: true,
      });
    }
  });

  it('a role is resolved when the fault fires: the second crash hits the new primary', async () => {
    const r = await runScenario(
      parseScenario(`name: twice
${twoSites}
faults:
  - { atSeconds: 10, action: crash-instance, site: primary }
  - { atSeconds: 80, action: crash-instance, site: primary }
`),
    );
    const crashes = r.timeline.filter((e) => e.event === 'fault:crash-instance').map((e) => e.site);
    expect(crashes).toEqual(['A', 'B']);
  });

  it('secondary is the in-sync secondary of the primary (the first in site order among equals)', async () => {
    const three = (faults: string) =>
      parseScenario(`name: three
seed: 2
durationSeconds: 90
initialPrimary: A
cluster:
  sid: HA1
  instanceNumber: '00'
  sites: [{ name: A, host: hana-a }, { name: B, host: hana-b }, { name: C, host: hana-c }]
faults:
${faults}
`);
    // Both in sync: B, the first in site order.
    const both = await runScenario(three('  - { atSeconds: 10, action: kill-indexserver, site: secondary }'));
    expect(both.timeline.find((e) => e.event === 'fault:kill-indexserver')?.site).toBe('B');
    // B's link cut for longer than logshipping_timeout: B is SFAIL, C is the in-sync one.
    const cut = await runScenario(
      three(`  - { atSeconds: 5, action: block-replication, site: B }
  - { atSeconds: 60, action: kill-indexserver, site: secondary }`),
    );
    expect(cut.timeline.some((e) => e.site === 'B' && e.event === 'hana:sfail')).toBe(true);
    expect(cut.timeline.find((e) => e.event === 'fault:kill-indexserver')?.site).toBe('C');
  });

  it('a role no site has when the fault fires: the fault fails with a timeline entry', async () => {
    // In maintenance nobody takes over: once A's node is gone and its lease has run out, the key
    // is free and no site takes writes.
    const r = await runScenario(
      parseScenario(`name: nobody
${twoSites}
faults:
  - { atSeconds: 1, action: maintenance-on }
  - { atSeconds: 5, action: crash-node, site: A }
  - { atSeconds: 60, action: restart-instance, site: primary }
  - { atSeconds: 61, action: crash-instance, site: secondary }
`),
    );
    const failed = r.timeline.filter((e) => e.event.startsWith('fault-failed:'));
    expect(failed.map((e) => [e.event, e.site, e.reason])).toEqual([
      ['fault-failed:restart-instance', 'primary', expect.stringMatching(/^no primary when the fault fired/)],
      [
        'fault-failed:crash-instance',
        'secondary',
        expect.stringMatching(/^no secondary when the fault fired: there is no primary/),
      ],
    ]);
    expect(r.timeline.some((e) => e.event === 'fault:restart-instance')).toBe(false);
  });

  it('the schema takes role words in faults and expect.primary, and refuses a site named like a role', () => {
    const ok = parseScenario(`name: ok
${twoSites}
faults: [{ atSeconds: 5, action: planned-takeover, site: secondary }]
expect: { primary: secondary }
`);
    expect(ok.faults[0]?.site).toBe('secondary');
    expect(() =>
      parseScenario(`name: bad
${twoSites.replace('name: B,', 'name: primary,')}
`),
    ).toThrow(/cluster\.sites\[1\]\.name: "primary" is a role word in scenarios/);
    expect(() =>
      parseScenario(`name: bad
${twoSites}
faults: [{ atSeconds: 5, action: crash-instance, site: leader }]
`),
    ).toThrow(ScenarioError);
  });

  it('planned-takeover to the secondary, then expect the site that was secondary at the start', async () => {
    const r = await runScenario(
      parseScenario(`name: planned
${twoSites}
faults: [{ atSeconds: 10, action: planned-takeover, site: secondary }]
expect: { primary: secondary, takeovers: 1, lostCommittedWrites: 0 }
`),
    );
    expect(r.passed, JSON.stringify(r.expectations)).toBe(true);
    expect(r.final.primary).toBe('B');
  });
});
