// Why this file is long: the scenario runner wires simulator, store, agents, devices and backups; to be split (a shared sim-agent starter with demo/landscape.ts) after the parallel branches land (issue 15).
/**
 * Plays a scenario in virtual time: the HANA simulator, the in-memory coordination store and
 * one real Agent per site (the same code as `hanasr agent`), with the scenario's faults injected
 * on schedule. Measures what matters to a DBA: who is primary, how many takeovers, whether a
 * committed write was lost, whether two sites ever took writes at once.
 */
import { VirtualClock } from '../clock.js';
import { Agent, type AgentEvent } from '../agent/agent.js';
import { simPeerProbe } from '../standins/hana-sim/peer-probe.js';
import { MemoryCoordination } from '../coordination/memory.js';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { HanaPort } from '../hana/port.js';
import { SimLandscape } from '../standins/hana-sim/model.js';
import { SimNodeDevices } from '../standins/hana-sim/devices.js';
import { SimBackups } from '../standins/hana-sim/backups.js';
import { simBackupPort } from '../standins/hana-sim/backup-port.js';
import { BackupRunner, type BackupEvent } from '../agent/backup.js';
import { backupHealth, type BackupRun } from '../domain/backup.js';
import { maxWatchdogTimeoutSeconds } from '../domain/fencing.js';
import type { Watchdog } from '../fencing/port.js';
import type { SimSiteControl } from '../standins/hana-sim/snapshot.js';
import { checkExpectations, type ExpectationResult, type Outcome } from './expectations.js';
import { InvariantChecker } from './invariants.js';
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
    /** Scenarios with cluster.backup: the runs the store recorded and the health at the end. */
    readonly backups?: NonNullable<Outcome['backups']> & { readonly runs: readonly BackupRun[] };
  };
  readonly expectations: ExpectationResult[];
  readonly timeline: TimelineEntry[];
}

export type PortFactory = (site: string, control: SimSiteControl, clock: VirtualClock) => HanaPort;

/** What an observer of a run may look at (read only: an observer must not change the run). */
export interface ObservedRun {
  readonly model: SimLandscape;
  readonly store: MemoryCoordination;
  readonly clock: VirtualClock;
  readonly cluster: string;
  /** The spec as the agents read it now (maintenance moves it). */
  spec(): HanaSystemReplicationSpec;
  /** Seconds since the start of the scenario. */
  rel(t: number): number;
  /** Whether a fence left `site`'s node powered off (nothing but a fence "on" brings it back). */
  poweredOff(site: string): boolean;
}

/**
 * Hooks into a run, for checks that need more than the end result (the fuzz runner's
 * invariants). Every hook is called synchronously at the virtual instant it describes.
 */
export interface RunObserver {
  /** Once, before the first agent starts. */
  attach?(run: ObservedRun): void;
  /** Every agent event, decisions included (whatever `decisions` says for the timeline). */
  agentEvent?(e: AgentEvent): void;
  /** An agent's cycle begins (its HANA probe starts) and decides on `spec`. */
  cycleStart?(site: string, t: number, spec: HanaSystemReplicationSpec): void;
  /** A scenario fault was applied (error: the landscape refused it). */
  fault?(f: Fault, t: number, error?: string): void;
  /** A node went down through its fencing hardware (a watchdog reset, a fence agent's off). */
  nodeDown?(site: string, t: number, cause: 'watchdog-reset' | 'fenced-off'): void;
  /** Every SAMPLE_MS of virtual time, with the site holding the leader key. */
  sample?(t: number, leader: string | null): void;
  /** Once, at the end of the scenario, before anything is torn down. */
  finish?(t: number): void;
}

export interface RunOptions {
  /** How each agent reaches its simulated HANA (default: the command path, render -> parse). */
  readonly portFactory?: PortFactory;
  /** Keep agent decisions in the timeline (default true). */
  readonly decisions?: boolean;
  /** Hooks for checks during the run (see RunObserver). */
  readonly observer?: RunObserver;
  /** The store's last epoch at the start (default 0): the first term gets the next one. */
  readonly initialEpoch?: number;
}

/** Seconds kept to the millisecond (timeline times). */
const toMs = (t: number) => Math.round(t * 1000) / 1000;

export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<SimulationResult> {
  const wallStart = performance.now();
  // Nothing in a simulated landscape waits on real I/O or real timers: an empty microtask queue
  // means every chain has settled. Light abort signals (a Node one costs microseconds, ~10,000
  // deadlines a schedule); the code combines signals with anySignal, which Node 24's
  // AbortSignal.any needs (it refuses a light one: 84 tests failed there when it was called
  // directly).
  const clock = new VirtualClock(SIM_EPOCH, { settle: 'microtasks', lightSignals: true });
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
  // With `watches` the store offers watches as etcd does: the agents watch the leader key (an
  // outage or a cut breaks the watch; the agent reopens it on its next cycle once it can).
  const store = new MemoryCoordination(clock, { watches: scenario.watches === true });
  if (options.initialEpoch !== undefined) store.data(cluster).lastEpoch = options.initialEpoch;
  const timeline: TimelineEntry[] = [];
  const rel = (t: number) => Math.round(t - SIM_EPOCH) / 1000;
  const portFactory = options.portFactory ?? (await defaultPortFactory(spec));
  const keepDecisions = options.decisions ?? true;
  // Two regions: a store per region (src/sim/regions.ts); one region: `store` alone.
  const regions = SimRegions.create(
    () => spec,
    cluster,
    clock,
    model,
    { watches: scenario.watches === true },
    (e) =>
      timeline.push({
        t: rel(e.t),
        site: e.site,
        event: e.event,
        reason: e.reason,
        ...(e.message ? { message: e.message } : {}),
      }),
  );
  // The spec as the operator would publish it, with its maintenance generation, which the agents
  // report and compare (src/domain/maintenance-watch.ts): in every store the agents read.
  const stores = (): MemoryCoordination[] => (regions ? [...regions.stores.values()] : [store]);
  const publish = () => {
    for (const s of stores()) s.publishSpecNow(cluster, spec);
  };
  publish();
  const leaderSite = (): string | null =>
    regions ? regions.leader() : (store.snapshot(cluster).leader?.site ?? null);
  // A scenario that expects invariants is watched by the checker (with any observer given).
  const checker = scenario.expect.invariants ? new InvariantChecker(scenario) : undefined;
  const observer =
    checker && options.observer ? fanOut(checker, options.observer) : (checker ?? options.observer);
  observer?.attach?.({
    model,
    store,
    clock,
    cluster,
    spec: () => spec,
    rel,
    poweredOff: (site) => devices.poweredOff(site),
  });

  const onEvent = (e: AgentEvent) => {
    observer?.agentEvent?.(e);
    if (e.event === 'decision' && !keepDecisions) return;
    timeline.push({
      t: rel(e.t),
      site: e.site,
      event: `${e.event}:${e.action}`,
      reason: e.reason,
      message: e.message,
    });
  };

  const backups =
    spec.backup !== undefined
      ? new SimBackups({
          model,
          clock,
          sid: spec.sid,
          startedAt: SIM_EPOCH,
          scope: scenario.backups?.destination ?? 'site',
          throughputBytesPerSecond: (scenario.backups?.throughputMBps ?? 100) * 1e6,
          databaseBytes: {
            SYSTEMDB: (scenario.backups?.systemDbGB ?? 1) * 1e9,
            [spec.sid]: (scenario.backups?.tenantGB ?? 10) * 1e9,
          },
          logBackupIntervalSeconds: scenario.backups?.logBackupIntervalSeconds ?? 900,
        })
      : undefined;
  const onBackupEvent = (e: BackupEvent) =>
    timeline.push({ t: rel(e.t), site: e.site, event: e.event, reason: e.reason, message: e.message });
  const runners = new Map<string, BackupRunner>();

  const agents = new Map<string, Agent>();
  const probeMs = Math.round((scenario.probeSeconds ?? 0) * 1000);
  // Whether each agent process still lives. A killed process runs no more code: its in-flight
  // work stops at its next call outside (commands it had sent still act on HANA, as a stop sent
  // to a frozen instance does when it thaws), it starts no command and tells nothing (sim:fuzz
  // 1318979946: an agent stopped mid-fence told the fence's outcome 35 s later, in maintenance).
  const lives = new Map<string, { alive: boolean }>();
  const startAgent = async (site: string) => {
    if (agents.has(site)) return;
    if (backups !== undefined) {
      const offset = () => model.clockOffsetMs(site);
      const runner = new BackupRunner({
        cluster,
        site,
        spec: () => spec,
        // Two regions: the runner follows its own region's leader and records there.
        coordination: regions?.storeOf(site) ?? store,
        port: simBackupPort(model, backups, site),
        clock: siteClock(clock, offset),
        intervalMs: 5000,
        storeTimeoutMs: 1000,
        onEvent: onBackupEvent,
      });
      runners.set(site, runner);
      runner.start();
    }
    const offset = () => model.clockOffsetMs(site);
    const life = { alive: true };
    lives.set(site, life);
    const port = mortalPort(slowProbe(portFactory(site, model.site(site), clock), clock, probeMs), life);
    const watchdog = mortalWatchdog(devices.watchdog(site), life);
    const fenceAgent = devices.fenceAgent(site);
    const agent = new Agent({
      cluster,
      site,
      spec: () => spec,
      specGeneration: () => (regions?.storeOf(site) ?? store).publishedMaintenanceGeneration(cluster),
      hana: observer?.cycleStart ? observedPort(port, site, clock, () => spec, observer) : port,
      coordination: regions?.storeOf(site) ?? store,
      ...(regions ? { region: regions.linkFor(site) } : {}),
      clock: siteClock(clock, offset),
      peers: simPeerProbe(model, site),
      onEvent: (e) => {
        if (life.alive) onEvent(e);
      },
      storeTimeoutMs: 1000,
      actionTimeoutMs: 60_000,
      // The node's watchdog and fence agent, opened by this agent process.
      watchdog: () => watchdog,
      ...(fenceAgent !== undefined
        ? {
            fenceAgent: {
              call: (...a: Parameters<typeof fenceAgent.call>) => mortal(life, () => fenceAgent.call(...a)),
            },
          }
        : {}),
    });
    agents.set(site, agent);
    await agent.start();
  };
  const killAgent = (site: string) => {
    const life = lives.get(site);
    if (life) life.alive = false;
    lives.delete(site);
    agents.get(site)?.kill();
    agents.delete(site);
    runners.get(site)?.kill();
    runners.delete(site);
  };
  // Every node's watchdog and fence device, which the agents use (arm, feed, fence a lost node).
  const devices = new SimNodeDevices({
    model,
    clock,
    watchdogTimeoutSeconds:
      scenario.nodes?.watchdogTimeoutSeconds ?? Math.max(1, Math.floor(maxWatchdogTimeoutSeconds(spec))),
    ...(scenario.nodes?.bootSeconds !== undefined ? { bootSeconds: scenario.nodes.bootSeconds } : {}),
    ...(scenario.nodes?.sites !== undefined ? { sites: scenario.nodes.sites } : {}),
    onNodeDown: (site, cause) => {
      killAgent(site);
      observer?.nodeDown?.(site, clock.now(), cause);
    },
    onNodeUp: (site) => startAgent(site),
  });

  const target: FaultTarget = {
    model,
    leader: leaderSite,
    devices,
    ...(regions ? { regions } : {}),
    // The site's own store: with two regions its region's (the one-region store is nobody's there).
    cutCoordination: (site, cut) => (regions?.storeOf(site) ?? store).cut(site, cut),
    setCoordinationAvailable: (available) => store.setAvailable(available),
    startAgent,
    killAgent,
    setMaintenance: (on) => {
      spec = { ...spec, maintenance: on };
      publish();
    },
    ...(backups !== undefined
      ? {
          backups,
          // As `hanasr backup --now`: to the active region's store, where the primary's runner reads.
          requestBackup: async () => {
            const to = regions?.activeStore() ?? store;
            const state = to.snapshot(cluster);
            await to
              .addIntent(cluster, {
                kind: 'backup',
                id: `backup-${rel(clock.now())}`,
                epoch: state.lastEpoch,
              })
              .catch((err: unknown) =>
                timeline.push({
                  t: rel(clock.now()),
                  site: '*',
                  event: 'intent-refused',
                  reason: err instanceof Error ? err.message : String(err),
                }),
              );
          },
        }
      : {}),
    plannedTakeover: async (site) => {
      const to = regions?.activeStore() ?? store;
      const state = to.snapshot(cluster);
      await to
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
    const t = clock.now();
    const f = await resolveFault(target, fault);
    timeline.push({
      t: rel(t),
      site: f.site ?? '*',
      event: `fault:${f.action}`,
      reason: f.site === fault.site ? 'scenario' : `scenario (${fault.site} when it fired)`,
    });
    await applyFault(target, f);
    observer?.fault?.(f, t);
  };

  // Sampling: who holds the leader key (takeovers are changes of that site).
  let takeovers = 0;
  let firstTakeover: number | null = null;
  let holder: string | null = null;
  const sample = () => {
    const leader = regions ? regions.leader() : store.leaderOf(cluster);
    if (leader !== null && leader !== holder) {
      if (holder !== null) {
        takeovers++;
        firstTakeover ??= rel(clock.now());
      }
      holder = leader;
    }
    regions?.checkAlerts();
    observer?.sample?.(clock.now(), leader);
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
          observer?.fault?.(f, clock.now(), err instanceof Error ? err.message : String(err));
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
  observer?.finish?.(clock.now());

  const keyHolder = leaderSite();
  // The backup record: one region's store, or with two regions every region's runs (a switchover
  // moves the runner that records them) and the active region's facts.
  const state = regions ? regions.backupState() : store.snapshot(cluster);
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
    timeline.push({ t: toMs(e.t), site: e.site, event: `hana:${e.event}`, reason: e.reason });
  for (const e of devices.events())
    timeline.push({ t: toMs(e.t), site: e.site, event: `node:${e.event}`, reason: e.reason });
  for (const v of checker?.violations ?? [])
    timeline.push({ t: v.t, site: v.site ?? '*', event: `violation:${v.invariant}`, reason: v.message });
  timeline.sort((a, b) => a.t - b.t);

  let backupOutcome: SimulationResult['metrics']['backups'];
  if (backups !== undefined && spec.backup !== undefined) {
    const runs = state.backup?.runs ?? [];
    const perRun = new Map<string, number>();
    for (const r of runs) if (r.state === 'succeeded') perRun.set(r.id, (perRun.get(r.id) ?? 0) + 1);
    const health = backupHealth(spec.backup, state.backup, clock.now(), {
      staleAfterMs: 60_000,
      maxSkewMs: spec.clock.maxSkewSeconds * 1000,
    });
    backupOutcome = {
      runs,
      succeeded: runs.filter((r) => r.state === 'succeeded').length,
      failed: runs.filter((r) => r.state === 'failed').length,
      interrupted: runs.filter((r) => r.state === 'interrupted').length,
      maxSucceededPerRun: Math.max(0, ...perRun.values()),
      onSecondary: backups.refusedOnSecondary,
      health: health.reason,
    };
    timeline.push({
      t: rel(clock.now()),
      site: '*',
      event: 'backup-health',
      reason: health.reason,
      message: health.message,
    });
  }
  for (const r of runners.values()) r.kill();
  backups?.dispose();
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
    ...(backupOutcome !== undefined ? { backups: backupOutcome } : {}),
  };
  const expectations = checkExpectations(expect, {
    primary,
    takeovers,
    lostCommittedWrites: metrics.lostCommittedWrites,
    maxConcurrentPrimaries: metrics.maxConcurrentPrimaries,
    replicationStatus,
    writeUnavailableSeconds: metrics.writeUnavailableSeconds,
    ...(checker ? { violated: checker.violations.map((v) => v.invariant) } : {}),
    ...(backupOutcome !== undefined ? { backups: backupOutcome } : {}),
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

/** Two observers as one (the scenario's invariant checker and the caller's). */
function fanOut(a: RunObserver, b: RunObserver): RunObserver {
  return {
    attach: (run) => (a.attach?.(run), b.attach?.(run)),
    agentEvent: (e) => (a.agentEvent?.(e), b.agentEvent?.(e)),
    cycleStart: (site, t, spec) => (a.cycleStart?.(site, t, spec), b.cycleStart?.(site, t, spec)),
    fault: (f, t, error) => (a.fault?.(f, t, error), b.fault?.(f, t, error)),
    nodeDown: (site, t, cause) => (a.nodeDown?.(site, t, cause), b.nodeDown?.(site, t, cause)),
    sample: (t, leader) => (a.sample?.(t, leader), b.sample?.(t, leader)),
    finish: (t) => (a.finish?.(t), b.finish?.(t)),
  };
}

/** The port as the agent uses it, telling the observer when each cycle (its probe) starts. */
/** A promise that never settles: what a dead process waits for. */
const never = <T>(): Promise<T> => new Promise<T>(() => {});

/** A call of a process that may die: none after its death, and no answer reaches a dead one. */
function mortal<T>(life: { readonly alive: boolean }, call: () => Promise<T>): Promise<T> {
  if (!life.alive) return never();
  return call().then(
    (v) => (life.alive ? v : never()),
    (err: unknown) => (life.alive ? Promise.reject(err) : never()),
  );
}

/**
 * The node's watchdog as one agent process opens it: once that process is dead it arms, feeds and
 * closes nothing (sim:fuzz 930006397: a killed agent's cycle, still in flight, armed the device
 * after a node reset; nobody fed it, and the node reset again at every boot).
 */
function mortalWatchdog(wd: Watchdog, life: { readonly alive: boolean }): Watchdog {
  // Only the start of a call is gated (no extra promise hops for a live agent): a call already
  // made before the process died has acted on the device, as a real open or write has.
  const gate = (call: () => Promise<void>): Promise<void> => (life.alive ? call() : never());
  return {
    device: wd.device,
    probe: (signal) => wd.probe(signal),
    arm: (signal) => gate(() => wd.arm(signal)),
    feed: (signal) => gate(() => wd.feed(signal)),
    disarm: (signal) => gate(() => wd.disarm(signal)),
    state: () => wd.state(),
  };
}

/**
 * Each probe of `port` answers `ms` later (the site read at the end, as the last command of a real
 * probe reads it); an abort meanwhile (the deadline, a superseding wake) ends it at once.
 */
function slowProbe(port: HanaPort, clock: VirtualClock, ms: number): HanaPort {
  if (ms <= 0) return port;
  return withProbe(port, (signal) => clock.sleep(ms, signal).then(() => port.probe(signal)));
}

/** `port` with its probe replaced by `probe`, every other method its own. */
function withProbe(port: HanaPort, probe: HanaPort['probe']): HanaPort {
  // Methods one by one: a port may be a class instance, whose methods a spread would not copy.
  return {
    probe,
    takeover: (o, signal) => port.takeover(o, signal),
    register: (o, signal) => port.register(o, signal),
    start: (signal) => port.start(signal),
    stop: (o, signal) => port.stop(o, signal),
    kill: (signal, o) => port.kill(signal, o),
    ...(port.suspend ? { suspend: (signal?: AbortSignal) => port.suspend!(signal) } : {}),
  };
}

/** `port` as one agent process uses it (see `mortal`). */
function mortalPort(port: HanaPort, life: { readonly alive: boolean }): HanaPort {
  return {
    probe: (signal) => mortal(life, () => port.probe(signal)),
    takeover: (o, signal) => mortal(life, () => port.takeover(o, signal)),
    register: (o, signal) => mortal(life, () => port.register(o, signal)),
    start: (signal) => mortal(life, () => port.start(signal)),
    stop: (o, signal) => mortal(life, () => port.stop(o, signal)),
    kill: (signal, o) => mortal(life, () => port.kill(signal, o)),
    ...(port.suspend ? { suspend: (signal?: AbortSignal) => mortal(life, () => port.suspend!(signal)) } : {}),
  };
}

function observedPort(
  port: HanaPort,
  site: string,
  clock: VirtualClock,
  spec: () => HanaSystemReplicationSpec,
  observer: RunObserver,
): HanaPort {
  return withProbe(port, (signal) => {
    observer.cycleStart?.(site, clock.now(), spec());
    return port.probe(signal);
  });
}

/** The agent reaches its simulated HANA the way it reaches real HANA: commands, then parsing. */
async function defaultPortFactory(spec: HanaSystemReplicationSpec): Promise<PortFactory> {
  const { simCommandPort } = await import('../standins/hana-sim/command-port.js');
  return (site, control, clock) => simCommandPort(spec, site, control, clock);
}

/** The faster path without text (for thousands of property-test runs). */
export async function directPortFactory(): Promise<PortFactory> {
  const { SimDirectPort } = await import('../standins/hana-sim/direct-port.js');
  return (_site, control, clock) => new SimDirectPort(control, clock);
}
