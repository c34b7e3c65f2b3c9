// Why this file is long: the agent assembled from its adapters (commands, SQL, peers, store, spec source, status server), each with its start and stop.
/**
 * `hanasr agent` assembled: the HANA command adapter (spawned tools, SQL lag source), the peer
 * probe, the coordination store, the spec source, the Agent loop and the status server.
 *
 * The runtime itself installs no signal handlers (the CLI does: SIGTERM/SIGINT -> stop()).
 * stop() stops the loop and revokes the lease (the leader key goes with it), closes the store
 * client and the status server.
 */
import { realClock, withTimeout, type Clock } from '../clock.js';
import { parseSpec, type HanaSystemReplicationSpec } from '../api/spec.js';
import { EtcdCoordination } from '../coordination/etcd.js';
import { MemoryCoordination } from '../coordination/memory.js';
import type { ClusterState, Coordination, CoordinationSession, RegionStore } from '../coordination/port.js';
import { isMultiRegion, regionNames, regionOf } from '../domain/region.js';
import { RegionLink } from './region-link.js';
import type { PeerView } from '../domain/observation.js';
import type { HanaHealth, SiteReport } from '../domain/types.js';
import { HanaCommandAdapter } from '../hana/commands/adapter.js';
import { SpawnCommandRunner } from '../hana/commands/runner.js';
import type { HanaPort } from '../hana/port.js';
import { loadCredentials, type HanaCredentials } from '../hana/sql/credentials.js';
import { MIN_SECRET_LENGTH, agentEventLogger, createLogger } from '../observability/log.js';
import { createMetrics, type HanasrMetrics } from '../observability/metrics.js';
import { HanaSqlProbe } from '../hana/sql/probe.js';
import { HanaSqlBackupPort } from '../hana/sql/backup.js';
import type { BackupPort } from '../hana/backup-port.js';
import { BackupRunner } from './backup.js';
import { readFile, stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { Agent, type AgentEvent } from './agent.js';
import type { AgentConfig, CredentialSourceConfig, LogLevel } from './config.js';
import { AgentMetrics, clusterLabels } from './metrics.js';
import { createFencingAdapters, type FencingAdapters } from '../fencing/index.js';
import { NetworkPeerProbe } from './peer-probe.js';
import {
  startStatusServer,
  type AgentStatus,
  type Check,
  type HanaSummary,
  type StatusServer,
} from './status-server.js';

// --- logging ----------------------------------------------------------------------------------

/** The runtime's log call: a constant message, variable data in fields. */
export type Log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** A stream that hands every chunk to `write` (the runtime's test hook). */
function writeStream(write: (line: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      write(chunk.toString());
      callback();
    },
  });
}

// --- credentials ------------------------------------------------------------------------------

/**
 * A loader for the configured SQL credential source; hands every password it reads to
 * `remember` (redaction of the status pages and the logs).
 */
export function credentialLoader(
  source: CredentialSourceConfig,
  remember: (secret: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): () => Promise<HanaCredentials> {
  return async () => {
    let creds: HanaCredentials;
    if (source.kind === 'password-file') {
      const info = await stat(source.path).catch(() => null);
      if (!info?.isFile()) throw new Error(`SQL password file not found: ${source.path}`);
      if ((info.mode & 0o022) !== 0)
        throw new Error(`SQL password file ${source.path} is writable by group or others`);
      const password = (await readFile(source.path, 'utf8')).split(/\r?\n/)[0] ?? '';
      if (password === '') throw new Error(`SQL password file ${source.path} is empty`);
      creds = { user: source.user, password };
    } else {
      creds = await loadCredentials(source, env);
    }
    // Registered before anyone can use it (or echo it), at any length; a short one is refused.
    remember(creds.password);
    if (creds.password.length < MIN_SECRET_LENGTH)
      throw new Error(`the SQL password is shorter than ${MIN_SECRET_LENGTH} characters: refused`);
    return creds;
  };
}

// --- the spec ---------------------------------------------------------------------------------

/**
 * The spec in force: the operator's published copy when it is present and valid (and names this
 * site), else the file's. Refreshed in the background with a deadline; read every agent cycle.
 */
export class SpecSource {
  private store: HanaSystemReplicationSpec | null = null;
  /** The published maintenance generation read with `store` (undefined: none published). */
  private storeGeneration: number | undefined = undefined;
  private lastStoreError: string | null = null;
  private timer: (() => void) | null = null;
  private stopped = false;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly options: {
      readonly cluster: string;
      readonly site: string;
      readonly file: HanaSystemReplicationSpec | undefined;
      readonly fromStore: boolean;
      readonly coordination: Coordination;
      readonly clock: Clock;
      readonly timeoutMs: number;
      readonly log: Log;
    },
  ) {}

  /** The spec to use now, or null when there is none yet. */
  current(): HanaSystemReplicationSpec | null {
    return this.store ?? this.options.file ?? null;
  }

  /**
   * The published maintenance generation of the spec current() returns (read in the same store
   * read), or undefined for the spec file or an operator that does not count.
   */
  generation(): number | undefined {
    return this.store ? this.storeGeneration : undefined;
  }

  source(): 'store' | 'file' | 'none' {
    return this.store ? 'store' : this.options.file ? 'file' : 'none';
  }

  /** Reads the published spec once (within the deadline). Never throws. */
  refresh(): Promise<void> {
    if (!this.options.fromStore) return Promise.resolve();
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const { coordination, cluster, clock, timeoutMs, log } = this.options;
    let state: ClusterState;
    try {
      state = await withTimeout(clock, timeoutMs, 'read published spec', () => coordination.read(cluster));
    } catch (err) {
      // Unreachable store: keep what we have (the loop's own store calls decide about safety).
      log('debug', 'published spec not read', { error: errorMessage(err) });
      return;
    }
    if (state.spec === undefined) {
      if (this.store) log('warn', 'published spec removed; using the spec file', {});
      this.store = null;
      return;
    }
    try {
      const spec = parseSpec(state.spec, 'spec');
      if (!spec.sites.some((s) => s.name === this.options.site))
        throw new Error(`spec.sites: does not name this site ${this.options.site}`);
      if (
        this.options.file &&
        (spec.sid !== this.options.file.sid || spec.instanceNumber !== this.options.file.instanceNumber)
      )
        throw new Error('spec.sid/instanceNumber: differ from the spec file');
      if (!this.store) log('info', 'following the published spec', { maintenance: spec.maintenance });
      this.store = spec;
      this.storeGeneration = state.maintenanceGeneration;
      this.lastStoreError = null;
    } catch (err) {
      const message = errorMessage(err);
      if (message !== this.lastStoreError) log('warn', 'published spec ignored: invalid', { error: message });
      this.lastStoreError = message;
      // Present but invalid: not the store's copy. Keep the last valid one only without a file.
      if (this.options.file) this.store = null;
    }
  }

  /** Refreshes every intervalMs until stop(). */
  startRefreshing(intervalMs: number): void {
    if (!this.options.fromStore || this.stopped) return;
    const tick = () => {
      this.timer = this.options.clock.setTimer(intervalMs, () => {
        void this.refresh().finally(() => {
          if (!this.stopped) tick();
        });
      });
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.();
    this.timer = null;
  }
}

// --- the runtime ------------------------------------------------------------------------------

export interface AgentRuntimeOptions {
  readonly clock?: Clock;
  readonly env?: NodeJS.ProcessEnv;
  /** Where log lines go (default stdout). */
  readonly write?: (line: string) => void;
  /** Every agent event, after logging (tests). */
  readonly onEvent?: (event: AgentEvent) => void;
  /** Inject a coordination (tests); default from the config. The runtime closes it on stop(). */
  readonly coordination?: Coordination;
  /** Inject a HANA port (tests); default the command adapter. */
  readonly hana?: (spec: HanaSystemReplicationSpec) => HanaPort;
  /** Inject the backup port (tests); default SQL to the site's SYSTEMDB when credentials are set. */
  readonly backupPort?: (spec: HanaSystemReplicationSpec) => BackupPort;
}

export interface AgentRuntime {
  /** http://HOST:PORT of /status, /healthz, /readyz and /metrics. */
  readonly statusUrl: string;
  /** The agent's metrics (served on /metrics). */
  readonly metrics: HanasrMetrics;
  /** Resolves when the agent loop runs (after a spec was found). */
  readonly started: Promise<void>;
  /** The Agent, once started. */
  agent(): Agent | null;
  /**
   * This host's watchdog and fence agent, from the spec and the host configuration; the agent
   * loop arms and feeds the watchdog and fences lost nodes through them.
   */
  readonly fencing: FencingAdapters;
  stop(): Promise<void>;
}

function summary(h: HanaHealth): HanaSummary {
  return {
    role: h.srRole,
    ...(h.source !== undefined ? { source: h.source } : {}),
    running: h.running,
    acceptsWrites: h.acceptsWrites,
    suspended: h.suspended,
    probeOk: h.probeOk,
    ...(h.probeError !== undefined ? { probeError: h.probeError } : {}),
    landscapeStatus: h.landscapeStatus,
    overallReplicationStatus: h.overallReplicationStatus,
    replication: h.replication.map((l) => ({
      secondary: l.secondary,
      status: l.status,
      inSync: l.inSync,
      lagSeconds: l.lagSeconds,
      lagBytes: l.lagBytes,
    })),
  };
}

export async function startAgentRuntime(
  config: AgentConfig,
  options: AgentRuntimeOptions = {},
): Promise<AgentRuntime> {
  const clock = options.clock ?? realClock;
  const env = options.env ?? process.env;
  // JSON lines through winston; every password the runtime learns is cut out of every line and
  // of every status page.
  const logger = createLogger({
    level: config.logLevel,
    stream: options.write ? writeStream(options.write) : process.stdout,
    fields: { component: 'agent' },
  });
  const secrets = new Set<string>();
  const remember = (secret: string): void => {
    if (secrets.has(secret)) return;
    secrets.add(secret);
    logger.addSecret(secret);
  };
  if (config.coordination.kind === 'etcd' && config.coordination.etcd.auth)
    remember(config.coordination.etcd.auth.password);
  if (config.otherRegion?.etcd.auth) remember(config.otherRegion.etcd.auth.password);
  if (config.peerToken !== undefined) remember(config.peerToken);
  const secretList = () => [...secrets];
  // Every credential is read and registered now, before anything can print it: a tool output or
  // a driver message echoing the SQL password is redacted from the first status page and log line
  // on, even on a site that never runs a SQL probe. The loader registers rotated passwords too.
  const credentials = config.sql.credentials
    ? credentialLoader(config.sql.credentials, remember, env)
    : undefined;
  if (credentials) {
    try {
      await withTimeout(clock, config.storeTimeoutMs, 'read SQL credentials', () => credentials());
    } catch (err) {
      throw new Error(`cannot read the SQL credentials: ${errorMessage(err)}`);
    }
  }
  const log: Log = (level, msg, fields = {}) => logger.log(level, msg, fields);
  const startedAt = clock.now();
  // The hanasr_ series of this site (probe, lease, report, real lag of the links it is the source
  // of, role, landscape, fencing, takeovers), labelled namespace/cluster/site.
  const metrics = createMetrics();
  const agentMetrics = new AgentMetrics({ metrics, ...clusterLabels(config.cluster), site: config.site });

  const coordination: Coordination =
    options.coordination ??
    (config.coordination.kind === 'etcd'
      ? new EtcdCoordination(config.coordination.etcd, { clock })
      : new MemoryCoordination(clock, { watches: true }));

  // What the status page shows, captured from the ports the agent uses (agent.ts stays as is).
  let lastHealth: HanaHealth | null = null;
  let lastCycleAt: number | null = null;
  /** The same instants on the monotonic clock (healthz and readyz measure ages with it). */
  let lastCycleMono: number | null = null;
  let storeOkMono: number | null = null;
  let agentStartedMono: number | null = null;
  const startedMono = clock.monotonic();
  let lastReport: SiteReport | null = null;
  let storeOkAt: number | null = null;
  let storeReachable = false;
  let peers: Record<string, PeerView> = {};
  let agent: Agent | null = null;
  let stopped = false;
  let startError: string | null = null;

  const specs = new SpecSource({
    cluster: config.cluster,
    site: config.site,
    file: config.fileSpec,
    fromStore: config.specFromStore,
    coordination,
    clock,
    timeoutMs: config.storeTimeoutMs,
    log,
  });

  const fencing = createFencingAdapters({
    spec: () => specs.current() ?? undefined,
    agentDir: config.fencing.agentDir,
    ...(config.fencing.credentials !== undefined ? { credentials: config.fencing.credentials } : {}),
    addSecret: remember,
  });

  const interval = () => (specs.current()?.probes.intervalSeconds ?? 2) * 1000;
  const healthz = (): Check => {
    if (stopped) return { ok: false, message: 'stopping' };
    if (startError !== null) return { ok: false, message: `agent failed to start: ${startError}` };
    if (!agent) return { ok: true, message: 'waiting for a spec' };
    const last = lastCycleMono ?? agentStartedMono ?? startedMono;
    let allowed = 3 * interval();
    // A takeover, start or stop in flight holds the loop for up to the action deadline (a restart:
    // a hard stop and a kill first, each with the stop deadline).
    if (agent.lastDecision && agent.lastDecision.action.kind !== 'none')
      allowed += config.hana.actionTimeoutMs + 2 * config.hana.stopTimeoutMs;
    const age = clock.monotonic() - last;
    return age <= allowed
      ? { ok: true, message: `loop ran ${Math.round(age)} ms ago` }
      : { ok: false, message: `loop has not run for ${Math.round(age)} ms (allowed ${allowed} ms)` };
  };
  const readyz = (): Check => {
    if (stopped) return { ok: false, message: 'stopping' };
    if (!specs.current()) return { ok: false, message: 'no spec yet (spec file or published spec)' };
    if (!agent) return { ok: false, message: 'agent not started' };
    if (storeOkMono === null || clock.monotonic() - storeOkMono > 3 * interval())
      return { ok: false, message: 'coordination store not reached recently' };
    return { ok: true, message: 'ready' };
  };
  const status = (): AgentStatus => {
    const spec = specs.current();
    const d = agent?.lastDecision ?? null;
    return {
      cluster: config.cluster,
      site: config.site,
      startedAt: new Date(startedAt).toISOString(),
      clock: clock.now(),
      ...(lastReport?.clockSkew ? { clockSkew: lastReport.clockSkew } : {}),
      hana: lastHealth ? summary(lastHealth) : null,
      failedProbes: lastReport?.failedProbes ?? null,
      epoch: lastReport?.epoch ?? null,
      leader: lastReport?.leader ?? false,
      fenced: agent?.isFenced ?? false,
      lastDecision: d ? { action: d.action.kind, reason: d.reason, message: d.message } : null,
      lastCycleAt: lastCycleAt === null ? null : new Date(lastCycleAt).toISOString(),
      store: {
        reachable: storeReachable,
        lastOkAt: storeOkAt === null ? null : new Date(storeOkAt).toISOString(),
      },
      spec: { source: specs.source(), maintenance: spec?.maintenance ?? null },
      peers: Object.fromEntries(
        Object.entries(peers).map(([site, v]) => [
          site,
          { reachable: v.reachable, acceptsWrites: v.acceptsWrites, ...(v.role ? { role: v.role } : {}) },
        ]),
      ),
    };
  };

  let server: StatusServer;
  try {
    server = await startStatusServer({
      host: config.status.host,
      port: config.status.port,
      status,
      healthz,
      readyz,
      secrets: secretList,
      metrics: metrics.registry,
      ...(config.peerToken !== undefined ? { peerToken: config.peerToken } : {}),
    });
  } catch (err) {
    await coordination.close().catch(() => {});
    throw new Error(
      `cannot serve the status endpoints on ${config.status.host}:${config.status.port}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
    );
  }
  // The address really bound (0.0.0.0 is every interface), not a guess at how to reach it.
  log('info', 'agent status server listening', {
    address: server.address,
    cluster: config.cluster,
    site: config.site,
    statusAuth: config.peerToken !== undefined ? 'peer token' : 'closed (no peer token)',
  });
  if (config.peerToken === undefined)
    log('warn', 'no peer token: /status answers 401, so peer agents see this site as unknown', {
      hint: 'set HANASR_PEER_TOKEN_FILE to the token shared by the agents of this cluster',
    });

  const observed = (inner: HanaPort): HanaPort => ({
    probe: async (signal) => {
      lastCycleAt = clock.now();
      lastCycleMono = clock.monotonic();
      const h = await inner.probe(signal);
      lastHealth = h;
      return h;
    },
    takeover: (o, s) => inner.takeover(o, s),
    register: (o, s) => inner.register(o, s),
    start: (s) => inner.start(s),
    stop: (o, s) => inner.stop(o, s),
    kill: (s, o) => inner.kill(s, o),
    ...(inner.suspend ? { suspend: (s?: AbortSignal) => inner.suspend!(s) } : {}),
  });

  const watchedSession = (session: CoordinationSession): CoordinationSession => {
    const ok = () => {
      storeOkAt = clock.now();
      storeOkMono = clock.monotonic();
      storeReachable = true;
    };
    const failed = (err: unknown): never => {
      storeReachable = false;
      throw err;
    };
    return {
      site: session.site,
      start: () => session.start(),
      lastRenewedAt: () => session.lastRenewedAt(),
      renew: () => session.renew(),
      read: () => session.read().then((s) => (ok(), s), failed),
      publishReport: (report) =>
        session.publishReport(report).then(() => {
          lastReport = report;
          ok();
        }, failed),
      acquireLeader: (e, n, s) => session.acquireLeader(e, n, s),
      seizeLeader: (f, e, n) => session.seizeLeader(f, e, n),
      recordFence: (r) => session.recordFence(r),
      releaseLeader: (e, h) => session.releaseLeader(e, h),
      writeSync: (e, r) => session.writeSync(e, r),
      stampPrimary: (e, a) => session.stampPrimary(e, a),
      completeIntent: (id) => session.completeIntent(id),
      close: () => session.close(),
      abandon: () => session.abandon(),
      // The leader watch (src/agent/leader-watch.ts): without it the loop runs on its interval alone.
      ...(session.watchLeader !== undefined ? { watchLeader: session.watchLeader.bind(session) } : {}),
    };
  };
  const agentCoordination: Coordination = {
    session: (cluster, site, ttl) => watchedSession(coordination.session(cluster, site, ttl)),
    read: (c) => coordination.read(c),
    addIntent: (c, i) => coordination.addIntent(c, i),
    removeIntent: (c, id) => coordination.removeIntent(c, id),
    publishSpec: (c, s) => coordination.publishSpec(c, s),
    deleteCluster: (c) => coordination.deleteCluster(c),
    ...(coordination.writeBackup ? { writeBackup: coordination.writeBackup.bind(coordination) } : {}),
    close: () => coordination.close(),
  };

  // Two regions (docs/dr.md): the other region's store, read only, through a RegionLink that
  // also keeps this region's record in the own store. Without it (or when it does not match the
  // spec) an agent of a two-region landscape never leads: the region rules need both records.
  const otherRegionStore =
    config.otherRegion !== undefined ? new EtcdCoordination(config.otherRegion.etcd, { clock }) : null;
  const regionLinkFor = (spec: HanaSystemReplicationSpec): RegionLink | undefined => {
    if (!isMultiRegion(spec)) return undefined;
    const own = regionOf(spec, config.site);
    const other = config.otherRegion;
    const ownStore = coordination as Partial<RegionStore>;
    if (
      other === undefined ||
      otherRegionStore === null ||
      own === undefined ||
      other.name === own ||
      !regionNames(spec).includes(other.name) ||
      ownStore.writeRegion === undefined ||
      ownStore.mirrorRegionSync === undefined
    ) {
      log('error', 'two regions in the spec but no usable other region: this agent will never lead', {
        region: own ?? null,
        otherRegion: other?.name ?? null,
        regions: regionNames(spec),
        hint: 'set --other-region and --other-region-etcd-endpoints (docs/dr.md)',
      });
      return undefined;
    }
    return new RegionLink({
      cluster: config.cluster,
      own: coordination as unknown as RegionStore,
      peers: [{ region: other.name, store: otherRegionStore }],
      timeoutMs: other.etcd.callTimeoutMs,
      setTimer: (ms, fn) => clock.setTimer(ms, fn),
    });
  };

  /** The local lag probe, whose kept SQL connection stop() closes. */
  let lagProbe: HanaSqlProbe | undefined;
  const buildHana = (spec: HanaSystemReplicationSpec): HanaPort => {
    if (options.hana) return options.hana(spec);
    const sid = config.hana.sid ?? spec.sid;
    const nr = config.hana.instanceNumber ?? spec.instanceNumber;
    const commandTimeoutMs = config.hana.commandTimeoutMs ?? spec.probes.timeoutSeconds * 1000;
    const lagSource = credentials
      ? new HanaSqlProbe({
          host: config.sql.host,
          port: config.sql.port ?? Number(`3${nr}13`),
          credentials,
          timeoutMs: commandTimeoutMs,
          clock,
          // One round trip per probe: a slow but answering SQL server still answers in time.
          keepConnection: true,
          ...(config.sql.writeProbeTable !== undefined
            ? { writeProbeTable: config.sql.writeProbeTable, writerId: config.site }
            : {}),
        })
      : undefined;
    if (!lagSource) log('warn', 'no SQL credentials: replication lag is unknown', {});
    lagProbe = lagSource;
    return new HanaCommandAdapter({
      sid,
      instanceNumber: nr,
      siteName: config.site,
      commandTimeoutMs,
      actionTimeoutMs: config.hana.actionTimeoutMs,
      paths: config.hana.paths,
      // The tools see a minimal environment picked from ours (never HANASR_SQL_PASSWORD).
      runner: new SpawnCommandRunner({
        clock,
        environment: env,
        ...(config.hana.runAs ? { runAs: config.hana.runAs } : {}),
      }),
      clock,
      ...(lagSource ? { lagSource } : {}),
    });
  };

  const peerProbe = new NetworkPeerProbe({
    peers: config.peers,
    ...(config.peerToken !== undefined ? { peerToken: config.peerToken } : {}),
    ...(credentials ? { credentials } : {}),
    clock,
    timeoutMs: () => (specs.current()?.probes.timeoutSeconds ?? 3) * 1000,
  });

  // One line per decision and per action result, with its reason (src/observability/log.ts).
  const onEvent = agentEventLogger(logger, options.onEvent);

  let wakeWait: (() => void) | null = null;
  let backups: BackupRunner | undefined;
  const started = (async () => {
    await specs.refresh();
    let waitedLogged = false;
    while (!specs.current() && !stopped) {
      if (!waitedLogged) log('info', 'waiting for the spec to be published', { cluster: config.cluster });
      waitedLogged = true;
      await new Promise<void>((resolve) => {
        const cancel = clock.setTimer(1000, resolve);
        wakeWait = () => {
          cancel();
          resolve();
        };
      });
      wakeWait = null;
      await specs.refresh();
    }
    if (stopped) return;
    const initial = specs.current()!;
    for (const s of initial.sites) {
      if (s.name === config.site || config.peers[s.name]) continue;
      log('warn', 'no direct check configured for a peer site: it counts as unreachable', {
        peer: s.name,
        hint: 'set HANASR_PEER_SQL / HANASR_PEER_STATUS; without them a store outage fences the primary',
      });
    }
    let current = initial;
    const specGetter = () => {
      const next = specs.current();
      if (next) current = next;
      return current;
    };
    specs.startRefreshing(config.specRefreshMs);
    const a = new Agent({
      cluster: config.cluster,
      site: config.site,
      spec: specGetter,
      specGeneration: () => (specs.current() === null ? undefined : specs.generation()),
      hana: observed(buildHana(initial)),
      coordination: agentCoordination,
      ...(() => {
        const region = regionLinkFor(initial);
        return region !== undefined ? { region } : {};
      })(),
      clock,
      peers: {
        check: async (site, signal) => {
          const v = await peerProbe.check(site, signal);
          peers = { ...peers, [site]: v };
          return v;
        },
      },
      onEvent,
      metrics: agentMetrics,
      storeTimeoutMs: config.storeTimeoutMs,
      stopTimeoutMs: config.hana.stopTimeoutMs,
      actionTimeoutMs: config.hana.actionTimeoutMs,
      // spec.fencing: the watchdog of the spec's device, and the fence agent (NOT_CONFIGURED
      // while the spec names none).
      watchdog: () => fencing.watchdog(),
      fenceAgent: fencing.fenceAgent,
    });
    agent = a;
    agentStartedMono = clock.monotonic();
    await a.start();
    // Backups follow the primary: this agent runs them while its site holds the leader key.
    const backupPort = options.backupPort
      ? options.backupPort(initial)
      : credentials
        ? new HanaSqlBackupPort({
            host: config.sql.host,
            port: config.sql.port ?? Number(`3${config.hana.instanceNumber ?? initial.instanceNumber}13`),
            credentials,
            clock,
            timeoutMs: 30_000,
            backupTimeoutMs: (initial.backup?.timeoutSeconds ?? 6 * 3600) * 1000,
          })
        : undefined;
    if (backupPort) {
      backups = new BackupRunner({
        cluster: config.cluster,
        site: config.site,
        spec: specGetter,
        coordination: agentCoordination,
        port: backupPort,
        clock,
        storeTimeoutMs: config.storeTimeoutMs,
        // Constant message, variable fields; never a credential (the port redacts its errors).
        onEvent: (e) =>
          log(e.event === 'backup-failed' || e.event === 'backup-error' ? 'warn' : 'info', 'backup', {
            event: e.event,
            reason: e.reason,
            epoch: e.epoch,
            ...(e.runId !== undefined ? { run: e.runId } : {}),
            message: e.message,
          }),
      });
      backups.start();
    } else if (initial.backup) log('warn', 'no SQL credentials: backups are neither run nor watched', {});
    log('info', 'agent started', {
      cluster: config.cluster,
      site: config.site,
      spec: specs.source(),
      peers: Object.keys(config.peers),
    });
  })();
  started.catch((err: unknown) => {
    startError = errorMessage(err);
    log('error', 'agent failed to start', { error: startError });
  });

  let stopping: Promise<void> | null = null;
  return {
    fencing,
    statusUrl: server.url,
    metrics,
    started,
    agent: () => agent,
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        wakeWait?.();
        backups?.kill();
        specs.stop();
        await started.catch(() => {});
        // Revokes the lease: the leader key (if ours) and our report go at once.
        if (agent)
          await agent
            .stop()
            .catch((err: unknown) => log('warn', 'agent stop failed', { error: errorMessage(err) }));
        await lagProbe?.close().catch(() => {});
        await coordination.close().catch(() => {});
        await otherRegionStore?.close().catch(() => {});
        await server.close();
        log('info', 'agent stopped', { cluster: config.cluster, site: config.site });
        // winston writes on a later tick: let the last lines out before the caller goes on.
        await new Promise<void>((resolve) => setImmediate(resolve));
      })()),
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
