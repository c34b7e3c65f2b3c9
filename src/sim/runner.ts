/**
 * Plays a scenario in virtual time: the HANA simulator, the in-memory coordination store and
 * one real Agent per site (the same code as `hanasr agent`), with the scenario's faults injected
 * on schedule. Measures what matters to a DBA: who is primary, how many takeovers, whether a
 * committed write was lost, whether two sites ever took writes at once.
 */
import { VirtualClock } from '../clock.js';
import { Agent, type AgentEvent } from '../agent/agent.js';
import { simPeerProbe } from '../hana/sim/peer-probe.js';
import { MemoryCoordination } from '../coordination/memory.js';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { HanaPort } from '../hana/port.js';
import { SimLandscape } from '../hana/sim/model.js';
import { SimNodeDevices } from '../hana/sim/devices.js';
import { maxWatchdogTimeoutSeconds } from '../domain/fencing.js';
import type { SimSiteControl } from '../hana/sim/snapshot.js';
import { checkExpectations, type ExpectationResult } from './expectations.js';
import { applyFault, resolveFault, rolesOf, type FaultTarget } from './faults.js';
import { resolveExpect } from './expectations.js';
import { siteClock } from './site-clock.js';
import type { Fault, Scenario } from './scenario.js';
import { SimRegions } from './regions.js';
import { linkReplicationMode } from '../domain/region.js';

/** Wall time of t=0 in every simulation, so outputs are reproducible byte for byte. */
export const SIM_EPOCH = Date.UTC(2026, 0, 1, 0, 0, 0);
const SAMPLE_MS = 100;

export interface TimelineEntry {
  /** Seconds since the start of the scenario. */
  readonly t: number;
  readonly site: string;
  readonly event: string;
  readonly reason: string;
  readonly message?: string;
}

export interface SimulationResult {
  readonly name: string;
  readonly seed: number;
  readonly passed: boolean;
  readonly final: {
    readonly primary: string | null;
    readonly replicationStatus: string;
    readonly epoch: number;
    readonly sites: Record<
      string,
      { role: string; running: boolean; acceptsWrites: boolean; fenced: boolean; agent: boolean }
    >;
  };
  readonly metrics: {
    readonly takeovers: number;
    readonly lostCommittedWrites: number;
    readonly maxConcurrentPrimaries: number;
    readonly writeUnavailableSeconds: number;
    readonly acknowledgedWrites: number;
    readonly firstTakeoverSeconds: number | null;
    readonly wallMilliseconds: number;
  };
  readonly expectations: ExpectationResult[];
  readonly timeline: TimelineEntry[];
}

export type PortFactory = (site: string, control: SimSiteControl, clock: VirtualClock) => HanaPort;

export interface RunOptions {
  /** How each agent reaches its simulated HANA (default: the command path, render -> parse). */
  readonly portFactory?: PortFactory;
  /** Keep agent decisions in the timeline (default true). */
  readonly decisions?: boolean;
  /** The store's last epoch at the start (default 0): the first term gets the next one. */
  readonly initialEpoch?: number;
}

export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<SimulationResult> {
  const wallStart = performance.now();
  const clock = new VirtualClock(SIM_EPOCH);
  let spec: HanaSystemReplicationSpec = scenario.cluster;
  const cluster = scenario.name;
  const model = new SimLandscape({
    sid: spec.sid,
    instanceNumber: spec.instanceNumber,
    sites: spec.sites.map((s) => ({
      name: s.name,
      host: s.host,
      ...(s.source ? { source: s.source } : {}),
      // Across regions async (docs/dr.md); one region: the spec's mode.
      mode: linkReplicationMode(spec, s.name, s.source ?? scenario.initialPrimary),
    })),
    initialPrimary: scenario.initialPrimary,
    mode: spec.replication.mode,
    operationMode: spec.replication.operationMode,
    logShippingTimeoutSeconds: spec.replication.logShippingTimeoutSeconds,
    clock,
    seed: scenario.seed,
    writesPerSecond: scenario.workload.writesPerSecond,
    startedAt: SIM_EPOCH,
  });
  const store = new MemoryCoordination(clock);
  if (options.initialEpoch !== undefined) store.data(cluster).lastEpoch = options.initialEpoch;
  const timeline: TimelineEntry[] = [];
  const rel = (t: number) => Math.round((t - SIM_EPOCH) / 100) / 10;
  const portFactory = options.portFactory ?? (await defaultPortFactory(spec));
  const keepDecisions = options.decisions ?? true;
  // Two regions: a store per region (src/sim/regions.ts); one region: `store` alone.
  const regions = SimRegions.create(
    () => spec,
    cluster,
    clock,
    model,
    (e) =>
      timeline.push({
        t: rel(e.t),
        site: e.site,
        event: e.event,
        reason: e.reason,
        ...(e.message ? { message: e.message } : {}),
      }),
  );
  const leaderSite = (): string | null =>
    regions ? regions.leader() : (store.snapshot(cluster).leader?.site ?? null);

  const onEvent = (e: AgentEvent) => {
    if (e.event === 'decision' && !keepDecisions) return;
    timeline.push({
      t: rel(e.t),
      site: e.site,
      event: `${e.event}:${e.action}`,
      reason: e.reason,
      message: e.message,
    });
  };

  const agents = new Map<string, Agent>();
  const startAgent = async (site: string) => {
    if (agents.has(site)) return;
    const offset = () => model.clockOffsetMs(site);
    const watchdog = devices.watchdog(site);
    const agent = new Agent({
      cluster,
      site,
      spec: () => spec,
      hana: portFactory(site, model.site(site), clock),
      coordination: regions?.storeOf(site) ?? store,
      ...(regions ? { region: regions.linkFor(site) } : {}),
      clock: siteClock(clock, offset),
      peers: simPeerProbe(model, site),
      onEvent,
      storeTimeoutMs: 1000,
      actionTimeoutMs: 60_000,
      // The node's watchdog and fence agent, opened by this agent process.
      watchdog: () => watchdog,
      fenceAgent: devices.fenceAgent(site),
    });
    agents.set(site, agent);
    await agent.start();
  };
  const killAgent = (site: string) => {
    agents.get(site)?.kill();
    agents.delete(site);
  };
  // Every node's watchdog and fence device, which the agents use (arm, feed, fence a lost node).
  const devices = new SimNodeDevices({
    model,
    clock,
    watchdogTimeoutSeconds:
      scenario.nodes?.watchdogTimeoutSeconds ?? Math.max(1, Math.floor(maxWatchdogTimeoutSeconds(spec))),
    ...(scenario.nodes?.bootSeconds !== undefined ? { bootSeconds: scenario.nodes.bootSeconds } : {}),
    ...(scenario.nodes?.sites !== undefined ? { sites: scenario.nodes.sites } : {}),
    onNodeDown: (site) => killAgent(site),
    onNodeUp: (site) => startAgent(site),
  });

  const target: FaultTarget = {
    model,
    leader: leaderSite,
    devices,
    ...(regions ? { regions } : {}),
    cutCoordination: (site, cut) => store.cut(site, cut),
    setCoordinationAvailable: (available) => store.setAvailable(available),
    startAgent,
    killAgent,
    setMaintenance: (on) => {
      spec = { ...spec, maintenance: on };
    },
    plannedTakeover: async (site) => {
      const state = store.snapshot(cluster);
      await store
        .addIntent(cluster, {
          kind: 'planned-takeover',
          id: `planned-${rel(clock.now())}-${site}`,
          target: site,
          epoch: state.lastEpoch,
        })
        .catch((err: unknown) =>
          timeline.push({
            t: rel(clock.now()),
            site,
            event: 'intent-refused',
            reason: err instanceof Error ? err.message : String(err),
          }),
        );
    },
  };
  const applyScenarioFault = async (fault: Fault) => {
    const f = await resolveFault(target, fault);
    timeline.push({
      t: rel(clock.now()),
      site: f.site ?? '*',
      event: `fault:${f.action}`,
      reason: f.site === fault.site ? 'scenario' : `scenario (${fault.site} when it fired)`,
    });
    await applyFault(target, f);
  };

  // Sampling: who holds the leader key (takeovers are changes of that site).
  let takeovers = 0;
  let firstTakeover: number | null = null;
  let holder: string | null = null;
  const sample = () => {
    const leader = leaderSite();
    if (leader !== null && leader !== holder) {
      if (holder !== null) {
        takeovers++;
        firstTakeover ??= rel(clock.now());
      }
      holder = leader;
    }
    regions?.checkAlerts();
  };

  for (const s of spec.sites) await startAgent(s.name);
  // Role words in `expect` name the sites that had those roles at the start.
  const expect = resolveExpect(scenario.expect, rolesOf(model, leaderSite()));
  const end = SIM_EPOCH + scenario.durationSeconds * 1000;
  const pending: Promise<unknown>[] = [];
  for (const f of [...scenario.faults].sort((a, b) => a.atSeconds - b.atSeconds)) {
    clock.setTimer(f.atSeconds * 1000, () => {
      const applied = Promise.resolve()
        .then(() => applyScenarioFault(f))
        .catch((err: unknown) => {
          // A fault the landscape refuses (e.g. starting a frozen instance) is part of the story.
          timeline.push({
            t: rel(clock.now()),
            site: f.site ?? '*',
            event: `fault-failed:${f.action}`,
            reason: err instanceof Error ? err.message : String(err),
          });
        });
      pending.push(applied);
    });
  }
  const sampleLoop = () => {
    sample();
    if (clock.now() + SAMPLE_MS <= end) clock.setTimer(SAMPLE_MS, sampleLoop, { sync: true });
  };
  sampleLoop();
  await clock.advanceTo(end);
  await Promise.all(pending);

  const keyHolder = leaderSite();
  const lastEpoch = regions ? regions.lastEpoch() : store.snapshot(cluster).lastEpoch;
  const primary = keyHolder !== null && model.acceptsWrites(keyHolder) ? keyHolder : null;
  const stats = model.stats(primary);
  const replicationStatus = primary ? model.overallReplicationStatus(primary) : 'UNKNOWN';
  const sites: SimulationResult['final']['sites'] = {};
  for (const s of spec.sites) {
    const snap = model.site(s.name).snapshot();
    sites[s.name] = {
      role: snap.srMode === 'primary' ? 'primary' : snap.srMode === 'none' ? 'none' : 'secondary',
      running: snap.running,
      acceptsWrites: model.acceptsWrites(s.name),
      fenced: agents.get(s.name)?.isFenced ?? false,
      agent: agents.has(s.name),
    };
  }
  for (const e of model.events())
    timeline.push({ t: Math.round(e.t * 10) / 10, site: e.site, event: `hana:${e.event}`, reason: e.reason });
  for (const e of devices.events())
    timeline.push({ t: Math.round(e.t * 10) / 10, site: e.site, event: `node:${e.event}`, reason: e.reason });
  timeline.sort((a, b) => a.t - b.t);

  for (const a of agents.values()) a.kill();
  devices.dispose();
  model.dispose();

  const metrics = {
    takeovers,
    lostCommittedWrites: stats.lostCommittedWrites,
    maxConcurrentPrimaries: stats.maxConcurrentWritable,
    writeUnavailableSeconds: Math.round(stats.writeUnavailableSeconds * 10) / 10,
    acknowledgedWrites: stats.acknowledgedWrites,
    firstTakeoverSeconds: firstTakeover,
    wallMilliseconds: Math.round(performance.now() - wallStart),
  };
  const expectations = checkExpectations(expect, {
    primary,
    takeovers,
    lostCommittedWrites: metrics.lostCommittedWrites,
    maxConcurrentPrimaries: metrics.maxConcurrentPrimaries,
    replicationStatus,
    writeUnavailableSeconds: metrics.writeUnavailableSeconds,
  });
  return {
    name: scenario.name,
    seed: scenario.seed,
    passed: expectations.every((e) => e.ok),
    final: { primary, replicationStatus, epoch: lastEpoch, sites },
    metrics,
    expectations,
    timeline,
  };
}

/** The agent reaches its simulated HANA the way it reaches real HANA: commands, then parsing. */
async function defaultPortFactory(spec: HanaSystemReplicationSpec): Promise<PortFactory> {
  const { simCommandPort } = await import('../hana/sim/command-port.js');
  return (site, control, clock) => simCommandPort(spec, site, control, clock);
}

/** The faster path without text (for thousands of property-test runs). */
export async function directPortFactory(): Promise<PortFactory> {
  const { SimDirectPort } = await import('../hana/sim/direct-port.js');
  return (_site, control, clock) => new SimDirectPort(control, clock);
}
