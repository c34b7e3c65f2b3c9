// Why this file is long: one rendering per explained input (local, leader, sync, peers, what-if); split gather/render when it grows.
/**
 * `hanasr explain NAME [--site S] [--what-if FAULT]`: what each agent decides right now and why,
 * replayed from the state the agents publish (the pure decide() on the observation each agent
 * built), and what the simulator predicts if a fault struck now.
 */
import { clusterKey as clusterKeyOf } from '../../api/resource.js';
import { parseSpec, SpecValidationError, type HanaSystemReplicationSpec } from '../../api/spec.js';
import type { ClusterState } from '../../coordination/port.js';
import { decide, fenceDeadlineMs, promotable } from '../../domain/decide.js';
import { primaryViewOf, type PrimaryView } from '../../domain/sync-trust.js';
import type { Action, Decision } from '../../domain/decision.js';
import { buildObservation, leaderViewOf, localViewOf } from '../../domain/observation.js';
import type { HanaHealth, SiteReport } from '../../domain/types.js';
import { isSiteRole } from '../../sim/scenario.js';
import type { WhatIfPrediction } from '../../sim/what-if.js';
import {
  CliError,
  EXIT,
  EXIT_CODES_HELP,
  expectPositionals,
  parseArgs,
  parseDuration,
  runCommand,
  stringFlag,
  UsageError,
} from '../args.js';
import { serialize } from '../format.js';
import { openStateReader, STORE_FLAGS, STORE_FLAGS_HELP } from '../store.js';
import { optionsHelp, type OptionTable } from '../../config/options.js';

const OPTIONS: OptionTable = {
  namespace: { short: 'n', value: 'NS', help: 'namespace of the HanaSystemReplication (default "default")' },
  site: { value: 'SITE', help: 'explain this site only' },
  'what-if': { value: 'FAULT', help: 'predict what happens if FAULT struck now' },
  for: { value: 'DUR', help: 'how long to predict after the fault (default 120s)' },
  output: { short: 'o', value: 'FORMAT', choices: ['text', 'json'], help: 'text (default) or json' },
  'request-timeout': { value: 'DUR', help: 'deadline of each store call (default 5s)' },
};

export const help = `Usage: hanasr explain NAME [-n NS] [--site SITE] [--what-if FAULT [--for DUR]] [-o text|json]

For each site (or SITE): what its agent decides right now and why — the decision's action, its
machine reason and message — and the inputs that mattered: the local HANA as the agent probed
it (role, running, writable, failed probes against failureThreshold), the leader key and epoch,
the lease, the SOK/SFAIL sync records with their age and whether they are trusted for an
automatic takeover, the peers as the agent checked them, last-primary timestamps, pending
intents, and the thresholds of the spec. It reads the live state the agents publish (their
reports, the leader key, the sync records, the spec the operator published) and runs the same
decide() the agents run, on the observation each agent built in its last cycle, as of that
cycle (the agent's own clock). A site without a report has a silent agent: nothing is decided
there.

--what-if FAULT seeds the simulator with the live spec and state (who is primary, the epoch,
which secondaries are in sync, sites down, silent agents, the clock offsets the primary's agent
measured), plays the fault and prints the
predicted timeline from the fault on (seconds after it) and the outcome. FAULT is
ACTION[:SITE[:VALUE]] with a scenario fault action (README: hanasr simulate); SITE may be a site
name or a role, primary or secondary; VALUE is the factor of slow-replication or the seconds of
skew-clock. E.g. crash-instance:A, crash-node:primary, block-replication:secondary,
coordination-outage, skew-clock:B:-8.

Options:
${optionsHelp(OPTIONS)}

${STORE_FLAGS_HELP}

${EXIT_CODES_HELP}
`;

/** Every option of the command (parser, --help and docs/cli.md). */
export const options: OptionTable = { ...STORE_FLAGS, ...OPTIONS };

export interface SyncInput {
  readonly site: string;
  readonly state: string;
  readonly epoch: number;
  readonly currentTerm: boolean;
  readonly ageSeconds: number;
  readonly lagSeconds: number | null;
  /** Would this record let the site be promoted automatically, as of this site's cycle? */
  readonly trusted: boolean;
  readonly why?: string;
}

export interface SiteExplanation {
  readonly site: string;
  /** The agent's report is in the store (its lease is alive). */
  readonly reported: boolean;
  /** The agent's clock at its last cycle (ms), the time the decision is replayed at. */
  readonly asOf?: number;
  readonly decision?: { readonly action: string; readonly reason: string; readonly message: string };
  /** The action with its parameters, e.g. "takeover from A (epoch 3 -> 4, handshake)". */
  readonly actionDetail?: string;
  /** What the agent itself published as its last decision (its report carries the one before it). */
  readonly agentDecision?: { readonly action: string; readonly reason: string; readonly message: string };
  /** The replay gives the agent's own decision (reason and action). */
  readonly agrees?: boolean;
  readonly inputs?: {
    readonly local: string;
    readonly failedProbes: number;
    readonly leader: string;
    readonly lease: string;
    readonly sync: readonly SyncInput[];
    readonly peers: readonly string[];
    readonly lpt: Readonly<Record<string, number>>;
    /** The epoch of each site's last-primary stamp (absent: none recorded). */
    readonly lpe?: Readonly<Record<string, number>>;
    readonly intents: readonly string[];
    readonly handoverTo?: string;
  };
}

export interface ClusterExplanation {
  readonly cluster: string;
  readonly source: string;
  readonly leader: { readonly site: string; readonly epoch: number; readonly since: number } | null;
  readonly lastEpoch: number;
  readonly thresholds: string;
  readonly sites: readonly SiteExplanation[];
  readonly whatIf?: { readonly fault: string } & WhatIfPrediction;
}

const s1 = (ms: number) => `${Math.max(0, Math.round(ms / 100) / 10)}s`;
const iso = (ms: number) => new Date(ms).toISOString();

export function describeAction(a: Action, lastEpoch: number): string {
  switch (a.kind) {
    case 'none':
      return 'none';
    case 'acquire-leader':
      return `acquire the leader key (epoch ${a.expectedLastEpoch} -> ${a.expectedLastEpoch + 1})`;
    case 'takeover':
      return (
        `takeover${a.from !== null ? ` from ${a.from}` : ''} (epoch ${a.expectedLastEpoch} -> ${a.expectedLastEpoch + 1}` +
        `${a.handshake ? ', handshake' : ''}${a.planned ? ', planned' : ''})`
      );
    case 'hand-back':
      return `take the leader key and hand it to ${a.to} (epoch ${a.expectedLastEpoch} -> ${a.expectedLastEpoch + 1})`;
    case 'promote':
      return `promote (epoch ${a.epoch}${a.handshake ? ', handshake' : ''})`;
    case 'step-down':
      return `step down (epoch ${a.epoch}, ${a.fence === 'stop' ? 'stop HANA first' : 'HANA untouched'}${a.handoverTo ? `, hand over to ${a.handoverTo}` : ''})`;
    case 'start-local':
      return `${a.restart ? 'restart' : 'start'} the local HANA (epoch ${a.epoch})`;
    case 'fence':
      return `fence: stop the local HANA (epoch ${a.epoch})`;
    case 'register':
      return `register as secondary of ${a.primary}${a.online ? ' (online)' : ''} (epoch ${a.epoch})`;
    case 'refuse-intent':
      return `refuse request ${a.intentId} (epoch ${a.epoch})`;
    case 'demote-region':
      return `demote for the region switchover to ${a.target}: wait until the log is shipped, stop, record the position (generation ${a.generation}, epoch ${a.epoch})`;
  }
  void lastEpoch;
  return 'unknown';
}

function describeHealth(h: HanaHealth): string {
  if (!h.probeOk) return `probe failed: ${h.probeError ?? 'unknown'} (counts as failed)`;
  const role = h.srRole === 'secondary' ? `secondary${h.source ? ` of ${h.source}` : ''}` : h.srRole;
  const parts = [
    role,
    h.running ? 'running' : 'not running',
    h.acceptsWrites ? 'writable' : 'not writable',
    ...(h.suspended ? ['suspended'] : []),
    ...(h.srRole === 'primary' && h.replication.length > 0
      ? [`replication ${h.overallReplicationStatus}`]
      : []),
  ];
  return parts.join(', ');
}

function thresholds(spec: HanaSystemReplicationSpec): string {
  const t = spec.takeover;
  return [
    `failureThreshold ${t.failureThreshold}`,
    `probes every ${spec.probes.intervalSeconds}s (timeout ${spec.probes.timeoutSeconds}s)`,
    `lease TTL ${spec.lease.ttlSeconds}s (self-fence after ${s1(fenceDeadlineMs(spec))} without renewal)`,
    `logShippingTimeout ${spec.replication.logShippingTimeoutSeconds}s`,
    `${spec.replication.mode}/${spec.replication.operationMode}`,
    `automatic takeover ${t.automatic ? 'on' : 'off'}`,
    `preferSiteTakeover ${t.preferSiteTakeover ? 'on' : `off (${t.localRestartAttempts} local restart(s) first)`}`,
    `handshake ${t.handshake ? 'on' : 'off'}`,
    `automatedRegister ${t.automatedRegister ? 'on' : 'off'}`,
    `maintenance ${spec.maintenance ? 'ON' : 'off'}`,
  ].join(', ');
}

/** The decision of `site`'s agent, replayed from the published state, with its inputs. */
export function explainSite(
  state: ClusterState,
  spec: HanaSystemReplicationSpec,
  site: string,
): SiteExplanation {
  const report: SiteReport | undefined = state.reports[site];
  if (report === undefined) return { site, reported: false };
  // The agent decides after it published its report and renewed its lease: as of then.
  const now = Math.max(report.observedAt, report.leaseRenewedAt ?? 0);
  const leader = leaderViewOf(state, site);
  const obs = buildObservation({
    self: site,
    local: localViewOf(report),
    leader,
    // Older agents did not publish it: a leader renews its lease in the cycle it reports.
    leaseAgeMs:
      report.leaseRenewedAt !== undefined && report.leaseRenewedAt !== null
        ? now - report.leaseRenewedAt
        : report.leaseRenewedAt === undefined && report.leader
          ? 0
          : null,
    state,
    peers: report.peers ?? {},
    ...(report.clockSkew !== undefined ? { clockSkew: report.clockSkew } : {}),
  });
  const d: Decision = decide(obs, spec, now);
  const lastEpoch = state.leader?.epoch ?? state.lastEpoch;
  const primary = state.leader?.site ?? state.lastLeader;
  // What this site's agent knows of the primary's writes, as its decision takes it.
  const primaryView: PrimaryView =
    primary === site
      ? {
          kind: 'self',
          lastWritableAt: report.lastWritableAt,
          notWritableSince: report.notWritableSince ?? null,
        }
      : primaryViewOf(primary === undefined ? undefined : state.reports[primary]);
  const sync: SyncInput[] = Object.values(state.sync)
    .sort((a, b) => (a.site < b.site ? -1 : 1))
    .map((r) => {
      const trust =
        primary === undefined || r.site === primary
          ? ({ ok: false, why: 'no primary to be promoted from' } as const)
          : promotable(obs, spec, r.site, primary, lastEpoch, primaryView, now);
      return {
        site: r.site,
        state: r.state,
        epoch: r.epoch,
        currentTerm: r.epoch === lastEpoch,
        ageSeconds: Math.max(0, Math.round((now - r.confirmedAt) / 100) / 10),
        lagSeconds: r.lagSeconds === null ? null : Math.round(r.lagSeconds * 10) / 10,
        trusted: trust.ok,
        ...(trust.ok ? {} : { why: trust.why }),
      };
    });
  const leaderText =
    leader.state === 'held'
      ? `${leader.mine ? 'this site holds' : `${leader.leader.site} holds`} the leader key at epoch ${leader.leader.epoch} since ${iso(leader.leader.since)}`
      : leader.state === 'free'
        ? `the leader key is free (last epoch ${leader.lastEpoch}${leader.lastLeader ? `, last leader ${leader.lastLeader}` : ''})`
        : `the store's answer is unknown: ${leader.error}`;
  const age = obs.leaseAgeMs;
  const lease =
    age === null
      ? 'no lease confirmed'
      : `lease renewed ${s1(age)} before${leader.state === 'held' && leader.mine ? ` (self-fence ${s1(fenceDeadlineMs(spec))} after a renewal)` : ''}`;
  const peers = Object.entries(obs.peers)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, p]) =>
      p.reachable
        ? `${name}: reachable, ${p.role ?? 'role unknown'}${p.source ? ` of ${p.source}` : ''}${p.acceptsWrites ? ', writable' : ''}`
        : `${name}: not reachable (counts as down)`,
    );
  const h = report.health;
  const local =
    `${describeHealth(h)}; failed probes ${report.failedProbes} of ${spec.takeover.failureThreshold}; ` +
    `local restarts ${obs.local.localRestarts} of ${spec.takeover.localRestartAttempts}; ` +
    `${report.fenced ? 'fenced by its agent' : 'not fenced'}; ` +
    `last writable ${report.lastWritableAt === null ? 'never seen by this agent' : `${s1(now - report.lastWritableAt)} before`}` +
    (report.notWritableSince !== undefined && report.notWritableSince !== null
      ? `; known to take no writes since ${s1(now - report.notWritableSince)} before`
      : '');
  const agentDecision = report.lastDecision;
  return {
    site,
    reported: true,
    asOf: now,
    decision: { action: d.action.kind, reason: d.reason, message: d.message },
    actionDetail: describeAction(d.action, lastEpoch),
    ...(agentDecision
      ? { agentDecision, agrees: agentDecision.reason === d.reason && agentDecision.action === d.action.kind }
      : {}),
    inputs: {
      local,
      failedProbes: report.failedProbes,
      leader: leaderText,
      lease,
      sync,
      peers,
      lpt: state.lpt,
      ...(state.lpe !== undefined ? { lpe: state.lpe } : {}),
      intents: state.intents.map((i) =>
        i.kind === 'planned-takeover'
          ? `planned takeover to ${i.target} at epoch ${i.epoch}${i.force ? ' (forced)' : ''}`
          : i.kind === 'disaster-takeover'
            ? `disaster takeover to ${i.target} at generation ${i.generation}`
            : i.kind === 'backup'
              ? `backup at epoch ${i.epoch}`
              : `${i.kind} ${i.site} at epoch ${i.epoch}`,
      ),
      ...(state.handoverTo !== undefined ? { handoverTo: state.handoverTo } : {}),
    },
  };
}

export function explainCluster(
  clusterKey: string,
  source: string,
  state: ClusterState,
  spec: HanaSystemReplicationSpec,
  sites: readonly string[],
): ClusterExplanation {
  return {
    cluster: clusterKey,
    source,
    leader: state.leader,
    lastEpoch: state.lastEpoch,
    thresholds: thresholds(spec),
    sites: sites.map((s) => explainSite(state, spec, s)),
  };
}

function formatSite(e: SiteExplanation, lastEpoch: number): string {
  if (!e.reported || !e.decision || !e.inputs) {
    return (
      `${e.site}: no report in the store — its agent is silent (stopped, cut off, or its lease ran out);\n` +
      `  nothing is decided there, and the other sites count it as down.\n`
    );
  }
  const i = e.inputs;
  const lines = [
    `${e.site} — as of its last cycle, ${iso(e.asOf!)} (the agent's clock)`,
    `  decides   ${e.actionDetail}  [${e.decision.reason}]`,
    `            ${e.decision.message}`,
  ];
  if (e.agentDecision) {
    lines.push(
      e.agrees
        ? '  its agent published the same decision'
        : `  its agent last published: ${e.agentDecision.action} [${e.agentDecision.reason}] ${e.agentDecision.message}` +
            ' (a report carries the decision of the cycle before it; the state has changed since)',
    );
  }
  lines.push(`  local     ${i.local}`);
  lines.push(`  leader    ${i.leader}; ${i.lease}`);
  if (i.sync.length === 0) lines.push('  sync      no SOK/SFAIL record (unknown counts as SFAIL)');
  for (const [n, r] of i.sync.entries()) {
    lines.push(
      `  ${n === 0 ? 'sync     ' : '         '} ${r.site}: ${r.state} at epoch ${r.epoch}${r.currentTerm ? ' (this term)' : ` (not the term ${lastEpoch})`}, ` +
        `confirmed ${r.ageSeconds}s before, lag ${r.lagSeconds === null ? 'unknown' : `${r.lagSeconds}s`} — ` +
        (r.state === 'PRIM'
          ? 'the primary'
          : r.trusted
            ? 'trusted for an automatic takeover'
            : `not trusted: ${r.why}`),
    );
  }
  lines.push(`  peers     ${i.peers.length > 0 ? i.peers.join('; ') : 'none checked'}`);
  const lpt = Object.entries(i.lpt).sort(([a], [b]) => (a < b ? -1 : 1));
  const epochOf = (s: string): string => (i.lpe?.[s] !== undefined ? ` (epoch ${i.lpe[s]})` : '');
  lines.push(
    `  lpt       ${lpt.length > 0 ? lpt.map(([s, t]) => `${s} ${iso(t)}${epochOf(s)}`).join(', ') : 'none'}`,
  );
  lines.push(
    `  requests  ${i.intents.length > 0 ? i.intents.join('; ') : 'none'}${i.handoverTo ? `; handover to ${i.handoverTo}` : ''}`,
  );
  return lines.join('\n') + '\n';
}

function formatWhatIf(w: NonNullable<ClusterExplanation['whatIf']>, horizon: number): string {
  const start = w.start;
  const from = [
    `primary ${start.primary} at epoch ${start.epoch}`,
    start.notInSync.length > 0 ? `not in sync: ${start.notInSync.join(', ')}` : 'every secondary in sync',
    ...(start.down.length > 0 ? [`down: ${start.down.join(', ')}`] : []),
    ...(start.agentsSilent.length > 0 ? [`silent agents: ${start.agentsSilent.join(', ')}`] : []),
    ...(start.clockSkew.length > 0 ? [`clocks: ${start.clockSkew.join(', ')}`] : []),
  ].join('; ');
  const lines = [
    `What if ${w.fault} struck now? Simulated from the live state (${from}), ${horizon}s after the fault:`,
  ];
  const width = Math.max(5, ...w.timeline.map((e) => e.event.length));
  for (const e of w.timeline) {
    const t = `${e.t >= 0 ? '+' : ''}${e.t.toFixed(3)}s`;
    lines.push(`  ${t.padStart(7)}  ${e.site.padEnd(4)} ${e.event.padEnd(width)}  ${e.message ?? e.reason}`);
  }
  const f = w.final;
  lines.push(
    `Predicted: primary ${f.primary ?? '(none)'} at epoch ${f.epoch}, ${w.takeovers} takeover(s)` +
      (w.takeoverAfterSeconds !== null ? ` (the first ${w.takeoverAfterSeconds}s after the fault)` : '') +
      `, ${w.lostCommittedWrites} lost committed write(s), at most ${w.maxConcurrentPrimaries} primary at once, ` +
      `replication ${f.replicationStatus}`,
  );
  for (const c of start.caveats) lines.push(`Caveat: ${c}`);
  return lines.join('\n') + '\n';
}

export function formatExplanation(e: ClusterExplanation, horizon: number): string {
  const leader = e.leader
    ? `leader ${e.leader.site} at epoch ${e.leader.epoch} since ${iso(e.leader.since)}`
    : `no leader (last epoch ${e.lastEpoch})`;
  const parts = [`${e.cluster} (${e.source}): ${leader}`, `thresholds: ${e.thresholds}`, ''];
  for (const s of e.sites) parts.push(formatSite(s, e.leader?.epoch ?? e.lastEpoch));
  let text = parts.join('\n');
  if (e.whatIf) text += '\n' + formatWhatIf(e.whatIf, horizon);
  return text;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('explain', argv, async () => {
    const args = parseArgs(argv, options);
    const [name] = expectPositionals(args, ['NAME']);
    const namespace = stringFlag(args, 'namespace') ?? 'default';
    const timeoutText = stringFlag(args, 'request-timeout');
    const timeoutMs = timeoutText === undefined ? 5000 : parseDuration(timeoutText, '--request-timeout');
    const forText = stringFlag(args, 'for');
    const horizon = forText === undefined ? 120 : parseDuration(forText, '--for') / 1000;
    if (horizon > 3600) throw new UsageError('--for must be at most 1h');
    const whatIfText = stringFlag(args, 'what-if');
    // The simulator loads only when a prediction is asked for.
    const whatIf = whatIfText !== undefined ? await import('../../sim/what-if.js') : undefined;
    let fault;
    try {
      fault = whatIf !== undefined ? whatIf.parseWhatIfFault(whatIfText!) : undefined;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const clusterKey = clusterKeyOf(namespace, name!);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(clusterKey))
      throw new UsageError(`"${namespace}/${name}" is not a valid resource name`);

    const reader = await openStateReader(args, timeoutMs);
    let state: ClusterState;
    try {
      state = await reader.read(clusterKey);
    } catch (err) {
      throw new CliError(
        EXIT.unavailable,
        `cannot read ${clusterKey} from ${reader.source}: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      await reader.close().catch(() => {});
    }
    if (state.spec === undefined) {
      throw new CliError(
        EXIT.notFound,
        `no published state for ${namespace}/${name} in ${reader.source} (is the name right, and has the operator published its spec?)`,
      );
    }
    let spec: HanaSystemReplicationSpec;
    try {
      spec = parseSpec(state.spec, 'published spec');
    } catch (err) {
      if (err instanceof SpecValidationError) throw new CliError(EXIT.failed, err.message);
      throw err;
    }
    const names = spec.sites.map((s) => s.name);
    const only = stringFlag(args, 'site');
    if (only !== undefined && !names.includes(only))
      throw new UsageError(`--site ${only}: not a site of ${namespace}/${name} (sites: ${names.join(', ')})`);
    if (fault?.site !== undefined && !isSiteRole(fault.site) && !names.includes(fault.site))
      throw new UsageError(
        `--what-if: unknown site "${fault.site}" (sites: ${names.join(', ')}, or primary, secondary)`,
      );
    const explanation: ClusterExplanation = explainCluster(
      `${namespace}/${name}`,
      reader.source,
      state,
      spec,
      only !== undefined ? [only] : names,
    );
    let result = explanation;
    if (whatIf !== undefined && fault !== undefined) {
      try {
        result = {
          ...explanation,
          whatIf: { fault: whatIfText!, ...(await whatIf.predict(spec, state, fault, horizon)) },
        };
      } catch (err) {
        if (err instanceof whatIf.WhatIfError) throw new CliError(EXIT.refused, err.message);
        throw err;
      }
    }
    process.stdout.write(
      stringFlag(args, 'output') === 'json' ? serialize(result, 'json') : formatExplanation(result, horizon),
    );
    return EXIT.ok;
  });
}
