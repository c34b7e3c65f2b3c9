/**
 * `hanasr explain --what-if FAULT`: the simulator seeded from a live cluster — its published
 * spec, the site that is primary, the epoch, which secondaries are in sync, which sites are down
 * and which agents are silent — then the fault, played in virtual time with the real agent code,
 * and the predicted timeline from the fault on.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { PublishedState } from '../domain/observation.js';
import { runScenario, type SimulationResult, type TimelineEntry } from './runner.js';
import { faultActions, isSiteRole, scenarioSchema, type Fault, type Scenario } from './scenario.js';

export class WhatIfError extends Error {
  readonly code = 'WHAT_IF_INVALID' as const;
  constructor(message: string) {
    super(message);
    this.name = 'WhatIfError';
  }
}

/**
 * `ACTION[:SITE[:VALUE]]`, e.g. `crash-instance:A`, `crash-node:primary`, `coordination-outage`,
 * `slow-replication:B:50` (the factor), `skew-clock:B:-5` (seconds).
 */
export function parseWhatIfFault(text: string): Omit<Fault, 'atSeconds'> {
  const [action, site, value, extra] = text.trim().split(':');
  if (extra !== undefined || action === undefined || action === '') {
    throw new WhatIfError(`--what-if takes ACTION[:SITE[:VALUE]], e.g. crash-instance:A (got "${text}")`);
  }
  if (!(faultActions as readonly string[]).includes(action)) {
    throw new WhatIfError(`--what-if: unknown fault "${action}" (one of ${faultActions.join(', ')})`);
  }
  const fault: Omit<Fault, 'atSeconds'> = {
    action: action as Fault['action'],
    ...(site !== undefined && site !== '' ? { site } : {}),
  };
  if (value === undefined) return fault;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new WhatIfError(`--what-if: "${value}" is not a number`);
  if (action === 'slow-replication') return { ...fault, factor: n };
  if (action === 'skew-clock') return { ...fault, seconds: n };
  throw new WhatIfError(`--what-if: ${action} takes no value`);
}

/** Where the prediction starts, as read from the live state. */
export interface WhatIfStart {
  readonly primary: string;
  readonly epoch: number;
  /** Secondaries not in sync at the start (their link cut in the simulator before the fault). */
  readonly notInSync: readonly string[];
  /** Sites whose HANA does not run at the start. */
  readonly down: readonly string[];
  /** Sites whose agent publishes no report (silent or its lease expired). */
  readonly agentsSilent: readonly string[];
  /** Clock offsets to the primary's, as its agent measured them (e.g. "B +5s"). */
  readonly clockSkew: readonly string[];
  /** What the simulator cannot take over from the live state. */
  readonly caveats: readonly string[];
}

export interface WhatIfPrediction {
  readonly start: WhatIfStart;
  /** Virtual seconds before the fault in which the simulated landscape reaches the live state. */
  readonly warmupSeconds: number;
  /** From the fault on; `t` in seconds after the fault. */
  readonly timeline: readonly TimelineEntry[];
  readonly final: SimulationResult['final'];
  readonly takeovers: number;
  /** Seconds from the fault to the first change of the leader site, or null. */
  readonly takeoverAfterSeconds: number | null;
  readonly lostCommittedWrites: number;
  readonly maxConcurrentPrimaries: number;
}

/** The live state as a scenario: the faults before the one asked for recreate it. */
export function whatIfScenario(
  spec: HanaSystemReplicationSpec,
  state: PublishedState,
  fault: Omit<Fault, 'atSeconds'>,
  horizonSeconds: number,
): { scenario: Scenario; start: WhatIfStart; warmupSeconds: number } {
  const names = spec.sites.map((s) => s.name);
  const reports = state.reports;
  const primary =
    state.leader?.site ??
    names.find((n) => reports[n]?.health.srRole === 'primary' && reports[n]?.health.acceptsWrites);
  if (primary === undefined || !names.includes(primary)) {
    throw new WhatIfError(
      'no primary now (the leader key is free and no agent reports a writable primary): nothing to predict from',
    );
  }
  if (fault.site !== undefined && !isSiteRole(fault.site) && !names.includes(fault.site)) {
    throw new WhatIfError(`--what-if: unknown site "${fault.site}" (sites: ${names.join(', ')})`);
  }
  const epoch = state.leader?.epoch ?? state.lastEpoch + 1;
  const primaryLinks = reports[primary]?.health.replication;
  const notInSync: string[] = [];
  const disconnected: string[] = [];
  const down: string[] = [];
  const agentsSilent: string[] = [];
  const caveats: string[] = [];
  for (const site of spec.sites) {
    const report = reports[site.name];
    if (report === undefined) agentsSilent.push(site.name);
    else if (!report.health.running && report.health.probeOk) down.push(site.name);
    else if (!report.health.probeOk) caveats.push(`${site.name}'s last probe failed; it starts healthy here`);
    if (site.name === primary) continue;
    const fromPrimary = (site.source ?? primary) === primary;
    const link = primaryLinks?.find((l) => l.secondary === site.name);
    const record = state.sync[site.name];
    const inSync = fromPrimary
      ? link !== undefined
        ? link.inSync
        : record?.state === 'SOK' && record.epoch === epoch
      : true;
    if (!fromPrimary) caveats.push(`${site.name} replicates from ${site.source}: it starts in sync here`);
    if (!inSync) {
      notInSync.push(site.name);
      if (link === undefined || link.status === 'ERROR') disconnected.push(site.name);
    }
  }
  // Recreate an SFAIL secondary the way it happens: its link cut until the primary has waited
  // logshipping_timeout and commits alone (then it reconnects unless it was disconnected live).
  const timeout = spec.replication.logShippingTimeoutSeconds;
  const cycle = spec.probes.intervalSeconds + spec.probes.timeoutSeconds;
  const warmupSeconds = notInSync.length > 0 ? Math.ceil(timeout + 2 * cycle + 5) : 10;
  const faults: Fault[] = [];
  const skewed: string[] = [];
  for (const site of agentsSilent) faults.push({ atSeconds: 0, action: 'stop-agent', site });
  for (const site of down) {
    if (site === primary) caveats.push(`the primary ${site} is down now: it starts down here as well`);
    faults.push({ atSeconds: 0, action: 'crash-instance', site });
  }
  for (const site of notInSync) {
    faults.push({ atSeconds: 0, action: 'block-replication', site });
    if (!disconnected.includes(site))
      faults.push({ atSeconds: warmupSeconds - 1, action: 'unblock-replication', site });
  }
  // Clocks as the primary's agent measured them: each other site's offset to the primary's.
  const skew = reports[primary]?.clockSkew ?? {};
  for (const [site, e] of Object.entries(skew)) {
    if (!names.includes(site) || site === primary) continue;
    if (Math.abs(e.offsetMs) <= Math.max(e.uncertaintyMs, 100)) continue;
    faults.push({ atSeconds: 0, action: 'skew-clock', site, seconds: Math.round(e.offsetMs / 100) / 10 });
    skewed.push(`${site} ${e.offsetMs >= 0 ? '+' : ''}${Math.round(e.offsetMs / 100) / 10}s`);
  }
  faults.push({ ...fault, atSeconds: warmupSeconds });
  const parsed = scenarioSchema.safeParse({
    name: 'what-if',
    seed: 1,
    durationSeconds: warmupSeconds + horizonSeconds,
    initialPrimary: primary,
    cluster: spec,
    faults,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WhatIfError(`--what-if: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return {
    scenario: parsed.data,
    start: { primary, epoch, notInSync, down, agentsSilent, clockSkew: skewed, caveats },
    warmupSeconds,
  };
}

/** Plays the fault on the simulated copy of the live cluster. */
export async function predict(
  spec: HanaSystemReplicationSpec,
  state: PublishedState,
  fault: Omit<Fault, 'atSeconds'>,
  horizonSeconds = 120,
): Promise<WhatIfPrediction> {
  const { scenario, start, warmupSeconds } = whatIfScenario(spec, state, fault, horizonSeconds);
  const result = await runScenario(scenario, { initialEpoch: start.epoch - 1 });
  const after = (t: number) => Math.round((t - warmupSeconds) * 1000) / 1000;
  const timeline = result.timeline.filter((e) => e.t >= warmupSeconds).map((e) => ({ ...e, t: after(e.t) }));
  return {
    start,
    warmupSeconds,
    timeline,
    final: result.final,
    takeovers: result.metrics.takeovers,
    takeoverAfterSeconds:
      result.metrics.firstTakeoverSeconds !== null && result.metrics.firstTakeoverSeconds >= warmupSeconds
        ? after(result.metrics.firstTakeoverSeconds)
        : null,
    lostCommittedWrites: result.metrics.lostCommittedWrites,
    maxConcurrentPrimaries: result.metrics.maxConcurrentPrimaries,
  };
}
