/**
 * Two regions in the simulator (docs/dr.md, src/sim/regions.ts): one store per region, the DR
 * site following a new in-region primary, no automatic action when the primary region is lost,
 * the disaster takeover and its data-loss report, and the old region's return, including the
 * attempts to make it run a second primary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario, type Scenario } from '../../src/sim/scenario.js';
import { runScenario, type SimulationResult } from '../../src/sim/runner.js';

const dir = join(import.meta.dirname, '../../examples/scenarios');
const load = (file: string): Scenario => parseScenario(readFileSync(join(dir, file), 'utf8'), file);
const events = (r: SimulationResult, site: string, event: string) =>
  r.timeline.filter((e) => e.site === site && e.event === event);
const TERM = ['decision:acquire-leader', 'decision:takeover', 'decision:promote'];

describe('two regions', () => {
  it('primary site loss: B takes over in eu-west, C re-registers with B (multitarget)', async () => {
    const r = await runScenario(load('dr-primary-site-loss.yaml'));
    expect(r.passed).toBe(true);
    const reg = events(r, 'C', 'decision:register');
    expect(reg.map((e) => e.reason)).toEqual(['dr_reregister_to_new_source']);
    expect(r.timeline.some((e) => e.site === 'C' && TERM.includes(e.event))).toBe(false);
    expect(
      r.timeline.some(
        (e) => e.site === 'C' && e.event === 'hana:register' && /async secondary of B/.test(e.reason),
      ),
    ).toBe(true);
  });

  it('the old source back as a secondary before C saw it stop: C still moves to B (multitarget)', async () => {
    const r = await runScenario(load('dr-old-source-back-as-secondary.yaml'));
    expect(r.passed).toBe(true);
    // A ran again as B's secondary while C's agent was down; C had reconnected to it (B -> A -> C).
    const back = r.timeline.find((e) => e.site === 'A' && e.event === 'hana:started');
    expect(back?.reason).toMatch(/secondary of B/);
    const reg = events(r, 'C', 'decision:register');
    expect(reg.map((e) => e.reason)).toEqual(['dr_reregister_to_new_source']);
    expect(reg[0]!.t).toBeGreaterThan(back!.t);
    expect(
      r.timeline.some(
        (e) => e.site === 'C' && e.event === 'hana:register' && /async secondary of B/.test(e.reason),
      ),
    ).toBe(true);
    expect(r.timeline.some((e) => e.site === 'C' && TERM.includes(e.event))).toBe(false);
  });

  it('primary region loss: nothing automatic, the alert fires, then the disaster takeover reports the loss', async () => {
    const r = await runScenario(load('dr-region-loss-disaster-takeover.yaml'));
    expect(r.passed).toBe(true);
    const alert = r.timeline.find(
      (e) => e.event === 'alert:HanaSRPrimaryRegionUnreachable' && e.reason === 'firing',
    );
    expect(alert?.site).toBe('eu-north');
    expect(alert!.t).toBeGreaterThanOrEqual(60 + 55);
    expect(alert!.t).toBeLessThan(300);
    // No takeover anywhere between the loss and the DBA's request.
    expect(r.timeline.some((e) => TERM.includes(e.event) && e.t > 60 && e.t < 300)).toBe(false);
    const req = r.timeline.find((e) => e.event === 'disaster-takeover-requested');
    expect(req?.message).toMatch(
      /C was \d+(\.\d+)? s \(\d+ bytes\) behind at the last report, [\d.]+-[\d.]+ s ago \(clock skew bound 1 s\)/,
    );
    const takeover = events(r, 'C', 'decision:takeover');
    expect(takeover.map((e) => e.reason)).toEqual(['disaster_takeover']);
    expect(takeover[0]!.t).toBeGreaterThanOrEqual(300);
  });

  it('a disaster takeover is refused while the active region answers (a switchover is lossless)', async () => {
    const s = load('dr-region-loss-disaster-takeover.yaml');
    const r = await runScenario({
      ...s,
      durationSeconds: 200,
      faults: [{ atSeconds: 100, action: 'disaster-takeover', site: 'C' }],
      expect: { primary: 'A', takeovers: 0 },
    });
    expect(r.passed).toBe(true);
    const refused = r.timeline.find((e) => e.event === 'disaster-takeover-refused');
    expect(refused?.reason).toBe('active_region_reachable');
  });

  it('old region returns: A and B come back as secondaries of C, never primary', async () => {
    const r = await runScenario(load('dr-old-region-returns.yaml'));
    expect(r.passed).toBe(true);
    expect(r.metrics.maxConcurrentPrimaries).toBe(1);
    expect(r.final.sites['A']).toMatchObject({ role: 'secondary', running: true });
    expect(r.final.sites['B']).toMatchObject({ role: 'secondary', running: true });
    for (const site of ['A', 'B']) {
      expect(r.timeline.some((e) => e.site === site && TERM.includes(e.event) && e.t >= 400)).toBe(false);
      expect(
        r.timeline.some(
          (e) => e.site === site && e.event === 'hana:start' && e.t >= 400 && /primary/.test(e.reason),
        ),
      ).toBe(false);
    }
    expect(events(r, 'A', 'decision:register').map((e) => e.reason)).toContain('region_returned_register');
  });

  it('old region returns while it cannot reach the new one: its primary stays stopped until it can', async () => {
    // The break attempt: eu-west's store says eu-west is active, A's key comes back with its lease
    // extended, and eu-north cannot be read. Without the fresh-agent rule A would start as primary.
    const s = load('dr-old-region-returns.yaml');
    const r = await runScenario({
      ...s,
      name: 'old-region-returns-cut-off',
      faults: [
        { atSeconds: 60, action: 'region-down', site: 'A' },
        { atSeconds: 300, action: 'disaster-takeover', site: 'C' },
        { atSeconds: 390, action: 'cut-region-link' },
        { atSeconds: 400, action: 'region-up', site: 'A' },
        { atSeconds: 600, action: 'restore-region-link' },
      ],
      expect: { primary: 'C', maxConcurrentPrimaries: 1 },
    });
    expect(r.passed, JSON.stringify(r.expectations)).toBe(true);
    expect(r.metrics.maxConcurrentPrimaries).toBe(1);
    const refusals = r.timeline.filter(
      (e) => e.site === 'A' && e.reason === 'region_unconfirmed' && e.t >= 400 && e.t < 600,
    );
    expect(refusals.length).toBeGreaterThan(0);
    expect(r.timeline.some((e) => e.site === 'A' && TERM.includes(e.event) && e.t >= 400)).toBe(false);
    expect(r.final.sites['A']?.role).toBe('secondary');
  });

  it('DR link loss: alerts, no action, C catches up afterwards', async () => {
    const r = await runScenario(load('dr-link-loss.yaml'));
    expect(r.passed).toBe(true);
    const fired = r.timeline
      .filter((e) => e.event.startsWith('alert:') && e.reason === 'firing')
      .map((e) => e.event);
    expect(fired.sort()).toEqual(['alert:HanaSRDRLinkDown', 'alert:HanaSRPrimaryRegionUnreachable']);
    expect(r.timeline.some((e) => e.event.startsWith('action:') && e.t > 60)).toBe(false);
  });

  it("planned switchover to C and back: C takes over only holding A's last log position, nothing lost, one primary", async () => {
    const r = await runScenario(load('dr-planned-switchover.yaml'));
    expect(r.passed, JSON.stringify(r.expectations)).toBe(true);
    expect(r.metrics.lostCommittedWrites).toBe(0);
    const handovers = r.timeline.filter((e) => e.event === 'region-switchover-handover');
    expect(handovers.map((e) => e.site)).toEqual(['C', 'A']);
    // The takeover comes after the handover, never during the draining.
    const cTakeover = events(r, 'C', 'decision:takeover');
    expect(cTakeover.map((e) => e.reason)).toEqual(['region_switchover_takeover']);
    expect(cTakeover[0]!.t).toBeGreaterThanOrEqual(handovers[0]!.t);
    // A demoted before the handover: its agent waited for its log to stand still and be shipped to
    // C, stopped, and only then recorded the position the handover names (no model read).
    const demote = events(r, 'A', 'decision:demote-region')[0]!;
    expect(demote.reason).toBe('region_switchover_demote');
    expect(demote.t).toBeLessThanOrEqual(handovers[0]!.t);
    const recorded = r.timeline.find(
      (e) =>
        e.site === 'A' &&
        e.event === 'action:demote-region' &&
        /recorded as the demotion token/.test(e.message ?? ''),
    );
    expect(recorded, 'the demotion recorded').toBeDefined();
    const position = /stood still at (\d+)/.exec(recorded!.message ?? '')?.[1];
    expect(handovers[0]!.message).toContain(`last log position ${position}`);
    expect(recorded!.t).toBeLessThanOrEqual(handovers[0]!.t);
    expect(
      r.timeline.some(
        (e) => e.site === 'A' && e.event === 'hana:register' && /secondary of C/.test(e.reason),
      ),
    ).toBe(true);
  });

  it('break it: the DR link drops mid-switchover: C is never promoted, the old region leads again, nothing lost', async () => {
    const s = load('dr-planned-switchover.yaml');
    const r = await runScenario({
      ...s,
      name: 'switchover-link-drops',
      durationSeconds: 260,
      faults: [
        // C lags (a slow DR link), the switchover starts, and the link drops right after.
        { atSeconds: 30, action: 'slow-replication', site: 'C', factor: 200 },
        { atSeconds: 60, action: 'region-switchover', site: 'C' },
        { atSeconds: 60.2, action: 'cut-region-link' },
        { atSeconds: 240, action: 'restore-region-link' },
      ],
      expect: { maxConcurrentPrimaries: 1, lostCommittedWrites: 0 },
    });
    expect(r.passed, JSON.stringify(r.expectations)).toBe(true);
    expect(r.timeline.some((e) => e.site === 'C' && TERM.includes(e.event))).toBe(false);
    expect(r.timeline.some((e) => e.event === 'region-switchover-handover')).toBe(false);
    const refused = r.timeline.find((e) => e.event === 'region-switchover-refused');
    expect(refused?.reason).toBe('dr_not_caught_up');
    expect(refused!.t).toBeGreaterThanOrEqual(60 + 120);
    // eu-west leads again (A restarted, or B took over in sync): one writer, in the old region.
    expect(['A', 'B']).toContain(r.final.primary);
    expect(r.metrics.maxConcurrentPrimaries).toBe(1);
  });

  it('refused with a clear reason: DR link not ACTIVE, a site of the active region, the other region unreachable, maintenance', async () => {
    const s = load('dr-planned-switchover.yaml');
    const refusal = async (faults: Scenario['faults']) => {
      const r = await runScenario({
        ...s,
        durationSeconds: 70,
        faults,
        expect: { maxConcurrentPrimaries: 1 },
      });
      expect(r.timeline.some((e) => e.event === 'region-switchover-draining')).toBe(false);
      expect(r.timeline.some((e) => TERM.includes(e.event) && e.t >= 40)).toBe(false);
      return r.timeline.find((e) => e.event === 'region-switchover-refused')?.reason;
    };
    expect(
      await refusal([
        { atSeconds: 20, action: 'block-replication', site: 'C' },
        { atSeconds: 40, action: 'region-switchover', site: 'C' },
      ]),
    ).toBe('dr_link_not_active');
    expect(await refusal([{ atSeconds: 40, action: 'region-switchover', site: 'B' }])).toBe(
      'region_already_active',
    );
    // The active region's operator carries it out: it reads its own store, not the target's.
    expect(
      await refusal([
        { atSeconds: 20, action: 'cut-region-link' },
        { atSeconds: 40, action: 'region-switchover', site: 'C' },
      ]),
    ).toBe('target_region_unreachable');
    expect(
      await refusal([
        { atSeconds: 20, action: 'maintenance-on' },
        { atSeconds: 40, action: 'region-switchover', site: 'C' },
      ]),
    ).toBe('maintenance');
  });

  it('backups follow the primary across regions: after the switchover C takes its own backup, never one on a secondary', async () => {
    const text = readFileSync(join(dir, 'dr-planned-switchover.yaml'), 'utf8')
      .replace(
        '  takeover: { automatedRegister: true }\n',
        "  takeover: { automatedRegister: true }\n  backup: { schedule: '0 0 * * *', startingDeadlineSeconds: 86400, logBackup: { required: false } }\n" +
          'backups: { destination: site, throughputMBps: 1000, tenantGB: 5 }\n',
      )
      .replace(
        /faults:[\s\S]*$/,
        'faults:\n  - { atSeconds: 60, action: region-switchover, site: C }\nexpect: { primary: C, maxConcurrentPrimaries: 1 }\n',
      )
      .replace('durationSeconds: 600', 'durationSeconds: 240');
    const r = await runScenario(parseScenario(text, 'switchover-with-backups'));
    expect(r.passed, JSON.stringify(r.expectations)).toBe(true);
    const runs = r.metrics.backups!.runs.filter((x) => x.state === 'succeeded');
    // The day's run on A in eu-west, then C's after-takeover run in eu-north (its store).
    expect(runs.map((x) => [x.site, x.kind])).toEqual([
      ['A', 'scheduled'],
      ['C', 'after-takeover'],
    ]);
    expect(r.metrics.backups!.onSecondary).toBe(0);
    // C's own backup is readable from its own destination: the backups are healthy at the end.
    expect(r.metrics.backups!.health).toBe('BackupsOk');
  });
  it('backups across the loss of the primary region: C backs up after the disaster takeover, and backup-now reaches it there', async () => {
    const r = await runScenario(load('dr-region-loss-backups.yaml'));
    expect(r.passed, JSON.stringify(r.expectations)).toBe(true);
    // Nothing promoted in eu-north before the DBA's disaster takeover at 300 s.
    expect(r.timeline.some((e) => e.site === 'C' && TERM.includes(e.event) && e.t < 300)).toBe(false);
    const runs = r.metrics.backups!.runs.filter((x) => x.state === 'succeeded');
    // The day's run on A in eu-west; C's after-takeover run; the DBA's request, taken by C (the
    // request went to eu-north's store, the active region's, where C's runner reads it).
    expect(runs.map((x) => [x.site, x.kind])).toEqual([
      ['A', 'scheduled'],
      ['C', 'after-takeover'],
      ['C', 'manual'],
    ]);
    expect(runs[1]!.startedAt).toBeGreaterThanOrEqual(runs[0]!.startedAt);
    expect(r.metrics.backups!.onSecondary).toBe(0);
  });

  it("an in-region planned takeover with two regions goes to the active region's store: B takes over", async () => {
    const text = readFileSync(join(dir, 'dr-primary-site-loss.yaml'), 'utf8').replace(
      /faults:[\s\S]*$/,
      'faults:\n  - { atSeconds: 60, action: planned-takeover, site: B }\nexpect: { primary: B, takeovers: 1, maxConcurrentPrimaries: 1, lostCommittedWrites: 0 }\n',
    );
    const r = await runScenario(parseScenario(text, 'dr-planned-in-region'));
    expect(r.passed, JSON.stringify(r.expectations)).toBe(true);
    expect(r.timeline.some((e) => e.event === 'intent-refused')).toBe(false);
  });
  it("backups across a switchover and back: C backs up after the first handover, A after the second (the newest backup, C's, is not readable from A)", async () => {
    const r = await runScenario(load('dr-planned-switchover-backups.yaml'));
    expect(r.passed, JSON.stringify(r.expectations)).toBe(true);
    const runs = r.metrics.backups!.runs.filter((x) => x.state === 'succeeded');
    expect(runs.map((x) => [x.site, x.kind])).toEqual([
      ['A', 'scheduled'],
      ['C', 'after-takeover'],
      ['A', 'after-takeover'],
    ]);
    const handovers = r.timeline.filter((e) => e.event === 'region-switchover-handover');
    expect(runs[1]!.startedAt).toBeGreaterThan(runs[0]!.startedAt);
    // Each after-takeover run follows its handover (relative seconds vs ms since the epoch).
    expect(handovers.map((e) => e.site)).toEqual(['C', 'A']);
    expect(r.metrics.backups!.onSecondary).toBe(0);
    expect(r.metrics.backups!.health).toBe('BackupsOk');
  });
  it("the demo's region-loss scenario: B takes over, C follows B, then eu-west is lost: the alert fires, nothing is promoted", async () => {
    const r = await runScenario(load('dr-demo-region-loss.yaml'));
    expect(r.passed, JSON.stringify(r.expectations)).toBe(true);
    expect(events(r, 'C', 'hana:register').map((e) => e.reason)).toEqual([
      'registered as async secondary of B',
    ]);
    expect(r.timeline.some((e) => e.site === 'C' && TERM.includes(e.event))).toBe(false);
    const alert = r.timeline.find(
      (e) => e.event === 'alert:HanaSRPrimaryRegionUnreachable' && e.reason === 'firing',
    );
    expect(alert?.site).toBe('eu-north');
    // forSeconds (20) after the last read of eu-west's store, which came within a probe interval before 45 s.
    expect(alert!.t).toBeGreaterThanOrEqual(45 - 2 + 20);
  });
});
