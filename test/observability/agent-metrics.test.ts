/**
 * The agent's metrics: AgentMetrics on its own (probe results, links, events), then wired into a
 * real Agent (in-memory store, virtual clock, a controlled HanaPort) to show the hooks are called.
 */
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { AgentMetrics, clusterLabels } from '../../src/agent/metrics.js';
import { VirtualClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { CoordinationUnavailableError, type ClusterState } from '../../src/coordination/port.js';
import { RegionLink } from '../../src/agent/region-link.js';
import { unknownHealth, type HanaHealth } from '../../src/domain/types.js';
import type { Watchdog, WatchdogState } from '../../src/fencing/port.js';
import type { HanaPort } from '../../src/hana/port.js';
import { createMetrics, type HanasrMetrics } from '../../src/observability/metrics.js';
import { link, primaryHealth, spec } from '../operator/fixtures.js';
import { agentRig } from '../support/agents.js';

async function value(
  m: HanasrMetrics,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const base = name.replace(/_count$/, '');
  const metric = m.registry.getSingleMetric(name) ?? m.registry.getSingleMetric(base);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const hit = values.find(
    (v) =>
      ((v as { metricName?: string }).metricName ?? name) === name &&
      Object.entries(labels).every(([k, x]) => v.labels[k] === x),
  );
  return hit?.value;
}

const A = { namespace: 'hana', cluster: 'ha1', site: 'A' };
const B = { namespace: 'hana', cluster: 'ha1', site: 'B' };

describe('AgentMetrics', () => {
  it('splits the coordination key into namespace and cluster', () => {
    expect(clusterLabels('hana.ha1')).toEqual({ namespace: 'hana', cluster: 'ha1' });
    expect(clusterLabels('ha1')).toEqual({ namespace: '', cluster: 'ha1' });
  });

  it('turns a probe into role, landscape, and the real lag, status and sync flag of each secondary', async () => {
    const m = createMetrics(undefined, { version: 'test' });
    const am = new AgentMetrics({ metrics: m, ...A });
    am.probed(
      primaryHealth([
        link('B', { mode: 'async', lagSeconds: 12.5, lagBytes: 64_000, inSync: false, status: 'SYNCING' }),
      ]),
      0.25,
    );
    expect(await value(m, 'hanasr_replication_lag_seconds', B)).toBe(12.5);
    expect(await value(m, 'hanasr_replication_unshipped_bytes', B)).toBe(64_000);
    expect(await value(m, 'hanasr_replication_in_sync', B)).toBe(0);
    expect(await value(m, 'hanasr_replication_status', { ...B, status: 'SYNCING' })).toBe(1);
    expect(await value(m, 'hanasr_replication_status', { ...B, status: 'ACTIVE' })).toBe(0);
    expect(await value(m, 'hanasr_site_role', { ...A, role: 'primary' })).toBe(1);
    expect(await value(m, 'hanasr_landscape_status', A)).toBe(4);
    expect(await value(m, 'hanasr_probe_duration_seconds_count', A)).toBe(1);
    expect(await value(m, 'hanasr_probe_failures_total', A)).toBe(0);

    // Lag unknown on the next probe: the series goes rather than showing a stale value.
    am.probed(primaryHealth([link('B', { lagSeconds: null, lagBytes: null })]), 0.1);
    expect(await value(m, 'hanasr_replication_lag_seconds', B)).toBeUndefined();
    // A failed probe counts, and keeps the last known role.
    am.probed(unknownHealth('HANA probe timed out after 3000 ms'), 3);
    expect(await value(m, 'hanasr_probe_failures_total', A)).toBe(1);
    expect(await value(m, 'hanasr_site_role', { ...A, role: 'primary' })).toBe(1);
    // The link disappears (A is no longer a source): every series of B goes.
    am.probed(primaryHealth([]), 0.1);
    expect(await value(m, 'hanasr_replication_in_sync', B)).toBeUndefined();
    expect(await value(m, 'hanasr_replication_status', { ...B, status: 'SYNCING' })).toBeUndefined();
  });

  it('counts lease renewals, fencing and takeovers by outcome; reports set epoch and last report time', async () => {
    const m = createMetrics(undefined, { version: 'test' });
    const am = new AgentMetrics({ metrics: m, ...B });
    expect(await value(m, 'hanasr_takeovers_total', { ...B, outcome: 'succeeded' })).toBe(0);
    am.leaseRenewed(0.01);
    am.leaseRenewed(1, new Error('deadline exceeded'));
    const base = { t: 0, cluster: 'hana.ha1', site: 'B', epoch: 2, reason: 'r', message: 'm' };
    am.event({ ...base, event: 'action-failed', action: 'takeover', reason: 'handshake_failed' });
    am.event({ ...base, event: 'action', action: 'takeover', reason: 'takeover_done' });
    am.event({ ...base, event: 'action-failed', action: 'takeover', reason: 'primary_failed' });
    am.event({ ...base, event: 'action', action: 'fence', reason: 'lease_lost' });
    am.event({ ...base, event: 'decision', action: 'fence', reason: 'lease_lost' });
    expect(await value(m, 'hanasr_fencing_failures_total', B)).toBe(0);
    am.event({ ...base, event: 'action-failed', action: 'fence', reason: 'stop_failed' });
    am.event({ ...base, event: 'action-failed', action: 'step-down', reason: 'fence_failed' });
    am.reported(1_700_000_000_000, 3);
    expect(await value(m, 'hanasr_lease_renewal_duration_seconds_count', B)).toBe(2);
    expect(await value(m, 'hanasr_lease_renewal_failures_total', B)).toBe(1);
    expect(await value(m, 'hanasr_takeovers_total', { ...B, outcome: 'succeeded' })).toBe(1);
    expect(await value(m, 'hanasr_takeovers_total', { ...B, outcome: 'failed' })).toBe(1);
    expect(await value(m, 'hanasr_fencing_actions_total', B)).toBe(1);
    expect(await value(m, 'hanasr_fencing_failures_total', B)).toBe(1);
    expect(await value(m, 'hanasr_leader_epoch', { namespace: 'hana', cluster: 'ha1' })).toBe(3);
    expect(await value(m, 'hanasr_agent_last_report_timestamp_seconds', B)).toBe(1_700_000_000);
  });

  it('exports the watchdog as reported and counts node fences by target, action and result', async () => {
    const m = createMetrics(undefined, { version: 'test' });
    const am = new AgentMetrics({ metrics: m, ...B });
    const base = { mode: 'automatic' as const, mayLead: true, reason: 'watchdog_usable', message: 'ok' };
    am.watchdog({ ...base, state: 'armed', usable: true, device: '/dev/watchdog', timeoutSeconds: 5 });
    expect(await value(m, 'hanasr_watchdog_armed', B)).toBe(1);
    expect(await value(m, 'hanasr_watchdog_usable', B)).toBe(1);
    expect(await value(m, 'hanasr_watchdog_timeout_seconds', B)).toBe(5);
    // A device that vanished: not armed, not usable, and no stale timeout.
    am.watchdog({ ...base, state: 'disarmed', usable: false, reason: 'watchdog_absent' });
    expect(await value(m, 'hanasr_watchdog_armed', B)).toBe(0);
    expect(await value(m, 'hanasr_watchdog_usable', B)).toBe(0);
    expect(await value(m, 'hanasr_watchdog_timeout_seconds', B)).toBeUndefined();
    const fence = { site: 'A', by: 'B', epoch: 4, startedAt: 1, endedAt: 2, calls: 2, message: 'm' };
    am.nodeFenced({ ...fence, action: 'off', result: 'confirmed' });
    am.nodeFenced({ ...fence, action: 'off', result: 'timed-out' });
    am.nodeFenced({ ...fence, action: 'on', result: 'confirmed' });
    const off = { ...B, peer: 'A', action: 'off' };
    expect(await value(m, 'hanasr_node_fences_total', { ...off, outcome: 'confirmed' })).toBe(1);
    expect(await value(m, 'hanasr_node_fences_total', { ...off, outcome: 'timed-out' })).toBe(1);
    expect(
      await value(m, 'hanasr_node_fences_total', { ...B, peer: 'A', action: 'on', outcome: 'confirmed' }),
    ).toBe(1);
  });

  it('a running Agent feeds probe, lease renewal, report and epoch metrics through its hooks', async () => {
    const rig = agentRig({ startAt: 1_700_000_000_000, cluster: 'hana.ha1', spec: spec() });
    const { clock } = rig;
    const m = createMetrics(undefined, { version: 'test' });
    let health: HanaHealth = primaryHealth([link('B', { lagSeconds: 4, lagBytes: 6400 })]);
    const hana: HanaPort = {
      probe: async () => health,
      takeover: async () => {},
      register: async () => {},
      start: async () => {},
      stop: async () => {},
      kill: async () => {},
    };
    // A device stand-in through the Watchdog port (the real adapter and the simulator's have
    // their own tests): the agent arms it once it leads.
    let armed: WatchdogState = 'disarmed';
    const watchdog: Watchdog = {
      device: '/dev/watchdog',
      state: () => armed,
      probe: async () => ({ device: '/dev/watchdog', present: true, timeoutSeconds: 5 }),
      arm: async () => void (armed = 'armed'),
      feed: async () => {},
      disarm: async () => void (armed = 'disarmed'),
    };
    const agent = rig.agent('A', hana, {
      watchdog: () => watchdog,
      metrics: new AgentMetrics({ metrics: m, ...A }),
    });
    await agent.start();
    await clock.advanceBy(10_000);
    expect(await value(m, 'hanasr_leader_epoch', { namespace: 'hana', cluster: 'ha1' })).toBe(1);
    expect(await value(m, 'hanasr_replication_lag_seconds', B)).toBe(4);
    expect(await value(m, 'hanasr_lease_renewal_duration_seconds_count', A)).toBeGreaterThan(0);
    expect(await value(m, 'hanasr_agent_last_report_timestamp_seconds', A)).toBeGreaterThan(1_700_000_000);
    expect(await value(m, 'hanasr_watchdog_armed', A)).toBe(1);
    expect(await value(m, 'hanasr_watchdog_timeout_seconds', A)).toBe(5);
    health = primaryHealth([link('B', { lagSeconds: 40, lagBytes: 64_000 })]);
    await clock.advanceBy(5_000);
    expect(await value(m, 'hanasr_replication_lag_seconds', B)).toBe(40);
    await agent.stop();
  });

  it('exports the region signals: the DR agent reads the active store or not; the active region sees the DR link or not', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const WEST = 'eu-west';
    const NORTH = 'eu-north';
    const s = spec({
      sites: [
        { name: 'A', host: 'hana-a', region: WEST },
        { name: 'B', host: 'hana-b', region: WEST },
        { name: 'C', host: 'hana-c', region: NORTH },
      ],
    });
    const stores: Record<string, MemoryCoordination> = {
      [WEST]: new MemoryCoordination(clock),
      [NORTH]: new MemoryCoordination(clock),
    };
    let linkUp = true;
    const remote = (region: string) => ({
      read: async (cluster: string): Promise<ClusterState> => {
        if (!linkUp) throw new CoordinationUnavailableError(`region ${region} unreachable`);
        return stores[region]!.read(cluster);
      },
    });
    const m = createMetrics(undefined, { version: 'test' });
    let linkToC = link('C', { mode: 'async', status: 'ACTIVE' });
    const port = (health: () => HanaHealth): HanaPort => ({
      probe: async () => health(),
      takeover: async () => {},
      register: async () => {},
      start: async () => {},
      stop: async () => {},
      kill: async () => {},
    });
    const agentOf = (site: string, region: string, other: string, health: () => HanaHealth) =>
      new Agent({
        cluster: 'hana.ha1',
        site,
        spec: () => s,
        hana: port(health),
        coordination: stores[region]!,
        region: new RegionLink({
          cluster: 'hana.ha1',
          own: stores[region]!,
          peers: [{ region: other, store: remote(other) }],
          timeoutMs: 500,
          setTimer: (ms, fn) => clock.setTimer(ms, fn),
        }),
        clock,
        metrics: new AgentMetrics({ metrics: m, namespace: 'hana', cluster: 'ha1', site }),
      });
    const a = agentOf('A', WEST, NORTH, () => primaryHealth([link('B', { status: 'ACTIVE' }), linkToC]));
    const c = agentOf('C', NORTH, WEST, () =>
      primaryHealth([], { srRole: 'secondary', acceptsWrites: false }),
    );
    await a.start();
    await c.start();
    await clock.advanceBy(10_000);
    const C = { namespace: 'hana', cluster: 'ha1', site: 'C' };
    // A bootstrapped eu-west as the active region; C adopted it and reads it.
    expect(stores[NORTH]!.snapshot('hana.ha1').region?.active).toBe(WEST);
    expect(await value(m, 'hanasr_region_active_store_reachable', { ...C, region: NORTH })).toBe(1);
    expect(await value(m, 'hanasr_region_dr_link_active', { ...C, source: 'A' })).toBe(1);
    // Only the DR agent says whether it reaches the active store; only the active region reports links.
    expect(await value(m, 'hanasr_region_active_store_reachable', { ...A, region: WEST })).toBeUndefined();
    expect(await value(m, 'hanasr_region_dr_link_active', { ...A, source: 'C' })).toBeUndefined();

    // The link between the regions is cut: C cannot read eu-west, A sees no ACTIVE link into C.
    linkUp = false;
    linkToC = link('C', { mode: 'async', status: 'ERROR' });
    await clock.advanceBy(5_000);
    expect(await value(m, 'hanasr_region_active_store_reachable', { ...C, region: NORTH })).toBe(0);
    expect(await value(m, 'hanasr_region_dr_link_active', { ...C, source: 'A' })).toBe(0);

    // Back: both signals recover.
    linkUp = true;
    linkToC = link('C', { mode: 'async', status: 'ACTIVE' });
    await clock.advanceBy(5_000);
    expect(await value(m, 'hanasr_region_active_store_reachable', { ...C, region: NORTH })).toBe(1);
    expect(await value(m, 'hanasr_region_dr_link_active', { ...C, source: 'A' })).toBe(1);
    await a.stop();
    await c.stop();
  });

  it('a failed probe in the active region counts as no DR link (unknown is never healthy)', async () => {
    const m = createMetrics(undefined, { version: 'test' });
    const am = new AgentMetrics({ metrics: m, ...A });
    const s = spec({
      sites: [
        { name: 'A', host: 'hana-a', region: 'w' },
        { name: 'C', host: 'hana-c', region: 'n' },
      ],
    });
    const record = { generation: 1, active: 'w', since: 0, by: 'bootstrap' as const };
    const view = {
      region: 'w',
      own: record,
      peers: [{ region: 'n', reachable: true, record, leader: null }],
      confirmed: true,
    };
    const C = { namespace: 'hana', cluster: 'ha1', site: 'C', source: 'A' };
    am.region(s, view, primaryHealth([link('C', { status: 'ACTIVE' })]));
    expect(await value(m, 'hanasr_region_dr_link_active', C)).toBe(1);
    am.region(s, view, unknownHealth('HANA probe timed out'));
    expect(await value(m, 'hanasr_region_dr_link_active', C)).toBe(0);
    // No region view any more (one region): the series goes.
    am.region(s, undefined, primaryHealth([]));
    expect(await value(m, 'hanasr_region_dr_link_active', C)).toBeUndefined();
  });
});
