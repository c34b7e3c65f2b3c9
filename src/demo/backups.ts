/**
 * Backups in `hanasr demo` (with spec.backup in the manifest): the simulator's backups
 * (src/standins/hana-sim/backups.ts) over the demo's real-time landscape, and per site the BackupRunner
 * its agent process would run, against its site through the simulator's backup port — the demo's
 * agents use the simulator's ports (simCommandPort), so their backup runners do too. A runner
 * lives and dies with its site's agent (a node reset kills both). The per-site SQL endpoints get
 * the backup statements and views too, so a DBA can read M_BACKUP_CATALOG over SQL.
 *
 * The demo's databases are small and its log backups frequent, so a backup takes seconds and
 * BackupHealthy turns healthy within a minute instead of a quarter of an hour.
 */
import { BackupRunner, type BackupEvent } from '../agent/backup.js';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { Clock } from '../clock.js';
import type { Coordination } from '../coordination/port.js';
import { simBackupPort } from '../standins/hana-sim/backup-port.js';
import { SimBackups, type BackupDestinationScope } from '../standins/hana-sim/backups.js';
import type { SimLandscape } from '../standins/hana-sim/model.js';
import { simBackupExtension, type WireExtension } from '../standins/hana-wire/backup.js';

/** The simulated backups of a demo (the `backups:` block of a scenario has the same fields). */
export interface DemoBackupOptions {
  /** site (default: each site its own destination) or shared. */
  readonly destination?: BackupDestinationScope;
  readonly throughputMBps?: number;
  readonly systemDbGB?: number;
  readonly tenantGB?: number;
  readonly logBackupIntervalSeconds?: number;
}

/** Small and quick: a data backup of both databases takes about 6 s, a log backup every 30 s. */
export const DEMO_BACKUP_DEFAULTS = {
  destination: 'site',
  throughputMBps: 200,
  systemDbGB: 0.2,
  tenantGB: 1,
  logBackupIntervalSeconds: 30,
} as const satisfies Required<DemoBackupOptions>;

export interface DemoBackups {
  readonly sim: SimBackups;
  /** Starts `site`'s runner (with its agent); a running one is kept. */
  startRunner(site: string, coordination: Coordination, clock: Clock): void;
  /** Kills `site`'s runner (with its agent): a backup in flight is left to HANA. */
  killRunner(site: string): void;
  /** The SQL endpoint's backup statements and views of `site`. */
  extension(site: string): WireExtension;
  dispose(): void;
}

export function startDemoBackups(options: {
  readonly model: SimLandscape;
  readonly clock: Clock;
  readonly cluster: string;
  readonly spec0: HanaSystemReplicationSpec;
  /** The spec the agents follow now (the published one). */
  readonly spec: () => HanaSystemReplicationSpec;
  readonly settings?: DemoBackupOptions;
  /** Time between a runner's ticks (default 2 s: the demo is impatient). */
  readonly intervalMs?: number;
  readonly onEvent: (e: BackupEvent) => void;
}): DemoBackups {
  const s = { ...DEMO_BACKUP_DEFAULTS, ...options.settings };
  const { model, spec0 } = options;
  const sim = new SimBackups({
    model,
    clock: options.clock,
    sid: spec0.sid,
    startedAt: options.clock.now(),
    scope: s.destination,
    throughputBytesPerSecond: s.throughputMBps * 1e6,
    databaseBytes: { SYSTEMDB: s.systemDbGB * 1e9, [spec0.sid]: s.tenantGB * 1e9 },
    logBackupIntervalSeconds: s.logBackupIntervalSeconds,
  });
  const runners = new Map<string, BackupRunner>();
  const hostOf = (site: string) => spec0.sites.find((x) => x.name === site)?.host ?? site;
  return {
    sim,
    startRunner: (site, coordination, clock) => {
      if (runners.has(site)) return;
      const runner = new BackupRunner({
        cluster: options.cluster,
        site,
        spec: options.spec,
        coordination,
        port: simBackupPort(model, sim, site),
        clock,
        intervalMs: options.intervalMs ?? 2000,
        storeTimeoutMs: 1000,
        onEvent: options.onEvent,
      });
      runners.set(site, runner);
      runner.start();
    },
    killRunner: (site) => {
      runners.get(site)?.kill();
      runners.delete(site);
    },
    extension: (site) =>
      simBackupExtension(sim, site, { sid: spec0.sid, host: hostOf(site), now: () => options.clock.now() }),
    dispose: () => {
      for (const r of runners.values()) r.kill();
      runners.clear();
      sim.dispose();
    },
  };
}
