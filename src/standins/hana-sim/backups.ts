// Why this file is long: a stand-in: the backup half of the HANA simulator (BACKUP DATA, the catalog and its files, log backups and segments, CHECK ACCESS, CATALOG DELETE, faults).
/**
 * Backups in the HANA simulator: BACKUP DATA [FOR <db>] USING FILE|BACKINT, the backup catalog,
 * automatic log backups, BACKUP CHECK ACCESS, BACKUP CATALOG DELETE and BACKUP CANCEL.
 *
 * - The catalog is part of the database: its entries are written into the primary's log (as
 *   client transactions are), so they replicate to the secondaries, survive a takeover exactly
 *   as the log does, and vanish from a former primary when it is registered as a secondary.
 * - A data backup takes simulated time proportional to the database's size; it fails when the
 *   instance stops or restarts meanwhile, when the destination is lost, or on `fail-backup`.
 * - Files land in a destination: the writing site's own (`site`: its node's storage, readable only
 *   from that site while its node is up) or one every site reads (`shared`). Losing a site's
 *   node makes its own destination unreadable; `lose-backup-destination` destroys one.
 * - Log backups: every `logBackupIntervalSeconds`, a primary with log_mode normal and
 *   enable_auto_log_backup yes that has a successful data backup writes a log backup per database.
 * - Log segments (M_LOG_SEGMENTS): each database writes `logBytesPerSecond` of log into segments of
 *   `logSegmentBytes`. Once the database has a data backup, every segment filled since the newest
 *   log backup waits for one (state Closed); a log backup takes them all (they go Free). Before the
 *   first data backup nothing waits (HANA does not keep log for backups it cannot yet take).
 */
import type { Clock } from '../../clock.js';
import type { SimLandscape } from './model.js';

export type BackupDestinationScope = 'site' | 'shared';
export type BackupDestinationType = 'file' | 'backint';

export interface SimBackupOptions {
  readonly model: SimLandscape;
  readonly clock: Clock;
  readonly sid: string;
  /** Wall time of t=0 (catalog times are wall times). */
  readonly startedAt: number;
  readonly scope?: BackupDestinationScope;
  /** Backup throughput (default 100 MB/s). */
  readonly throughputBytesPerSecond?: number;
  /** Data size per database (default SYSTEMDB 1 GB, the tenant 10 GB). */
  readonly databaseBytes?: Readonly<Record<string, number>>;
  /** HANA's log_backup_timeout_s (default 900). */
  readonly logBackupIntervalSeconds?: number;
  /** Log written per database per second (default 256 KiB/s). */
  readonly logBytesPerSecond?: number;
  /** Size of one log segment (default 1 GiB: log_segment_size_mb 1024). */
  readonly logSegmentBytes?: number;
}

/** One row of M_LOG_SEGMENTS as the simulator keeps it (the views add host and port). */
export interface SimLogSegment {
  readonly database: string;
  readonly segmentId: number;
  readonly state: 'Writing' | 'Closed' | 'Free';
  readonly minPosition: number;
  /** Behind the last record; for closed segments only (null while writing). */
  readonly maxPosition: number | null;
  readonly usedBytes: number;
  readonly totalBytes: number;
  /** LAST_COMMIT_TIME (wall ms); null for a free segment. */
  readonly lastCommitAt: number | null;
}

/** One row of the catalog (with its files), as M_BACKUP_CATALOG and M_BACKUP_CATALOG_FILES show it. */
export interface SimCatalogEntry {
  readonly backupId: number;
  readonly database: string;
  readonly entryType: 'complete data backup' | 'log backup';
  readonly state: 'running' | 'successful' | 'failed' | 'canceled';
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly bytes: number;
  readonly destinationType: BackupDestinationType;
  readonly paths: readonly string[];
  readonly message: string;
  /** The site that wrote it (not a HANA column: for the simulator's own bookkeeping). */
  readonly host: string;
}

type CatalogRecord =
  | { readonly kind: 'hanasr-sim-backup-entry'; readonly entry: SimCatalogEntry }
  | { readonly kind: 'hanasr-sim-backup-delete'; readonly database: string; readonly beforeId: number };

/** A catalog record inside a site's log (not a table change). */
export function isCatalogRecord(data: unknown): data is CatalogRecord {
  const k = (data as { kind?: unknown } | null)?.kind;
  return k === 'hanasr-sim-backup-entry' || k === 'hanasr-sim-backup-delete';
}

export class SimBackupError extends Error {
  constructor(
    readonly sqlCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'SimBackupError';
  }
}

interface Running {
  readonly entry: SimCatalogEntry;
  readonly site: string;
  readonly incarnation: number;
  readonly doneAt: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  cancel: () => void;
}

const CATALOG_BYTES = 512;

export class SimBackups {
  private readonly model: SimLandscape;
  private readonly clock: Clock;
  private readonly scope: BackupDestinationScope;
  private readonly throughput: number;
  private readonly sizes: Record<string, number>;
  private readonly logIntervalMs: number;
  private readonly logRate: number;
  private readonly segmentBytes: number;
  private nextId: number;
  /** Files per destination (a site name, or 'shared'): path -> backup id. */
  private readonly files = new Map<string, Map<string, number>>();
  private readonly lostDestinations = new Set<string>();
  private readonly failing = new Set<string>();
  private readonly logBackupOff = new Set<string>();
  private readonly running = new Map<number, Running>();
  private cancelLogTimer: (() => void) | undefined;
  private disposed = false;
  /** BACKUP DATA statements a secondary refused (a correct agent sends none). */
  refusedOnSecondary = 0;

  constructor(private readonly options: SimBackupOptions) {
    this.model = options.model;
    this.clock = options.clock;
    this.scope = options.scope ?? 'site';
    this.throughput = options.throughputBytesPerSecond ?? 100e6;
    this.sizes = { SYSTEMDB: 1e9, [options.sid]: 10e9, ...(options.databaseBytes ?? {}) };
    this.logIntervalMs = (options.logBackupIntervalSeconds ?? 900) * 1000;
    this.logRate = options.logBytesPerSecond ?? 256 * 1024;
    this.segmentBytes = options.logSegmentBytes ?? 2 ** 30;
    this.nextId = options.startedAt;
    this.scheduleLogBackups();
  }

  get throughputBytesPerSecond(): number {
    return this.throughput;
  }

  /** SYSTEMDB and the tenant (one tenant named after the SID, as a default installation has). */
  databases(): string[] {
    return Object.keys(this.sizes).sort((a, b) =>
      a === 'SYSTEMDB' ? -1 : b === 'SYSTEMDB' ? 1 : a < b ? -1 : 1,
    );
  }

  destinationOf(site: string): string {
    return this.scope === 'shared' ? 'shared' : site;
  }

  // ---------------------------------------------------------------- faults

  /** fail-backup: every data backup on `site` fails (a running one at once). */
  failBackups(site: string, on: boolean): void {
    if (on) {
      this.failing.add(site);
      for (const r of [...this.running.values()])
        if (r.site === site)
          this.finish(r, 'failed', 'backup failed: I/O error writing the backup (simulated fault)');
    } else this.failing.delete(site);
  }

  /** lose-backup-destination: the destination `site` writes to loses every file (shared: for all). */
  loseDestination(site: string, lost: boolean): void {
    const dest = this.destinationOf(site);
    if (lost) {
      this.lostDestinations.add(dest);
      this.files.delete(dest);
      for (const r of [...this.running.values()])
        if (this.destinationOf(r.site) === dest)
          this.finish(r, 'failed', `backup failed: destination of ${r.site} is not accessible`);
    } else this.lostDestinations.delete(dest);
  }

  /** disable-log-backup: enable_auto_log_backup = no on `site` (its own global.ini). */
  setLogBackup(site: string, enabled: boolean): void {
    if (enabled) this.logBackupOff.delete(site);
    else this.logBackupOff.add(site);
  }

  logBackupEnabled(site: string): boolean {
    return !this.logBackupOff.has(site);
  }

  // ---------------------------------------------------------------- statements

  private wall(): number {
    return this.clock.now();
  }

  /** The simulated HANA's current time (wall ms), as CURRENT_TIMESTAMP answers it. */
  now(): number {
    return this.wall();
  }

  /** The catalog `site` holds: replicated entries from its log, plus what runs there now. */
  catalog(site: string): SimCatalogEntry[] {
    const byId = new Map<number, SimCatalogEntry>();
    for (const d of this.model.clientData(site)) {
      if (!isCatalogRecord(d)) continue;
      if (d.kind === 'hanasr-sim-backup-entry') byId.set(d.entry.backupId, d.entry);
      else for (const [id, e] of byId) if (e.database === d.database && id < d.beforeId) byId.delete(id);
    }
    for (const r of this.running.values()) if (r.site === site) byId.set(r.entry.backupId, r.entry);
    return [...byId.values()].sort((a, b) => a.backupId - b.backupId);
  }

  runningOn(site: string): SimCatalogEntry[] {
    return [...this.running.values()].filter((r) => r.site === site).map((r) => r.entry);
  }

  private checkPrimary(site: string): void {
    const snap = this.model.site(site).snapshot();
    if (!snap.running) throw new SimBackupError(-10709, `${site} is not running`);
    if (snap.srMode !== 'primary' && snap.srMode !== 'none') {
      this.refusedOnSecondary++;
      throw new SimBackupError(
        448,
        'recovery could not be completed: backup is not possible on a system replication secondary',
      );
    }
  }

  /**
   * BACKUP DATA [FOR db] USING FILE|BACKINT ('prefix') on `site`: resolves when the backup
   * completed, rejects with SimBackupError when it failed or was cancelled.
   */
  backupData(site: string, database: string, type: BackupDestinationType, prefix: string): Promise<number> {
    this.checkPrimary(site);
    const bytes = this.sizes[database];
    if (bytes === undefined)
      throw new SimBackupError(362, `invalid schema name: database ${database} not found`);
    if ([...this.running.values()].some((r) => r.site === site && r.entry.database === database))
      throw new SimBackupError(
        447,
        `backup could not be completed: a data backup of ${database} is already running`,
      );
    const backupId = Math.max(this.nextId + 1, this.wall());
    this.nextId = backupId;
    const paths =
      type === 'file'
        ? [`${prefix}_databackup_0_1`, `${prefix}_databackup_1_1`]
        : [`/usr/sap/${this.options.sid}/SYS/global/hdb/backint/DB_${database}/${prefix}_databackup_0_1`];
    const entry: SimCatalogEntry = {
      backupId,
      database,
      entryType: 'complete data backup',
      state: 'running',
      startedAt: this.wall(),
      endedAt: null,
      bytes,
      destinationType: type,
      paths,
      message: '',
      host: site,
    };
    return new Promise<number>((resolve, reject) => {
      const r: Running = {
        entry,
        site,
        incarnation: this.model.instanceIncarnation(site),
        doneAt: this.clock.now() + (bytes / this.throughput) * 1000,
        resolve: () => resolve(backupId),
        reject,
        cancel: () => {},
      };
      this.running.set(backupId, r);
      if (this.failing.has(site)) {
        this.finish(r, 'failed', 'backup failed: I/O error writing the backup (simulated fault)');
        return;
      }
      if (this.lostDestinations.has(this.destinationOf(site))) {
        this.finish(r, 'failed', `backup failed: destination of ${site} is not accessible`);
        return;
      }
      this.watch(r);
    });
  }

  /** Checks every second that the instance still runs; completes at doneAt. */
  private watch(r: Running): void {
    const step = Math.min(1000, Math.max(0, r.doneAt - this.clock.now()));
    r.cancel = this.clock.setTimer(step, () => {
      if (!this.running.has(r.entry.backupId) || this.disposed) return;
      if (this.model.instanceIncarnation(r.site) !== r.incarnation) {
        this.running.delete(r.entry.backupId);
        r.reject(new SimBackupError(-10807, `connection lost: ${r.site} stopped while the backup ran`));
        return;
      }
      if (this.clock.now() >= r.doneAt) this.finish(r, 'successful', '');
      else this.watch(r);
    });
  }

  private finish(r: Running, state: 'successful' | 'failed' | 'canceled', message: string): void {
    r.cancel();
    this.running.delete(r.entry.backupId);
    const entry: SimCatalogEntry = { ...r.entry, state, endedAt: this.wall(), message };
    try {
      this.model.appendClientCommit(
        r.site,
        { kind: 'hanasr-sim-backup-entry', entry } satisfies CatalogRecord,
        CATALOG_BYTES,
      );
    } catch (err) {
      r.reject(
        new SimBackupError(-10807, `backup catalog not written on ${r.site}: ${(err as Error).message}`),
      );
      return;
    }
    if (state === 'successful') {
      const dest = this.destinationOf(r.site);
      const files = this.files.get(dest) ?? new Map<string, number>();
      for (const p of entry.paths) files.set(p, entry.backupId);
      this.files.set(dest, files);
      r.resolve();
    } else r.reject(new SimBackupError(state === 'canceled' ? 448 : 447, message || `backup ${state}`));
  }

  /** BACKUP CANCEL <id>. */
  cancel(site: string, backupId: number): void {
    const r = this.running.get(backupId);
    if (r === undefined || r.site !== site)
      throw new SimBackupError(447, `backup could not be completed: no running backup with id ${backupId}`);
    this.finish(r, 'canceled', 'backup canceled (BACKUP CANCEL)');
  }

  /** BACKUP CHECK ACCESS: are the files at `path` readable from `site`'s destination? */
  checkAccess(site: string, path: string): boolean {
    const snap = this.model.site(site).snapshot();
    if (!snap.nodeUp) throw new SimBackupError(-10709, `${site} is not reachable`);
    const dest = this.destinationOf(site);
    if (this.lostDestinations.has(dest)) return false;
    return this.files.get(dest)?.has(path) ?? false;
  }

  /** BACKUP CATALOG DELETE FOR db ALL BEFORE BACKUP_ID id [WITH FILE|BACKINT]. */
  deleteBefore(site: string, database: string, beforeId: number, withFiles: boolean): number {
    this.checkPrimary(site);
    const doomed = this.catalog(site).filter(
      (e) => e.database === database && e.backupId < beforeId && e.state !== 'running',
    );
    if (!this.catalog(site).some((e) => e.backupId === beforeId))
      throw new SimBackupError(447, `backup id ${beforeId} not found in the catalog`);
    this.model.appendClientCommit(
      site,
      { kind: 'hanasr-sim-backup-delete', database, beforeId } satisfies CatalogRecord,
      CATALOG_BYTES,
    );
    if (withFiles) {
      const files = this.files.get(this.destinationOf(site));
      for (const e of doomed) for (const p of e.paths) files?.delete(p);
    }
    return doomed.length;
  }

  // ---------------------------------------------------------------- log segments

  /**
   * M_LOG_SEGMENTS of `site` (SYS_DATABASES: every database). A site that does not take writes
   * shows only its writing segment; on the primary, the log since the newest log backup (or the
   * first data backup, before any log backup) waits in Closed segments, the last one Writing.
   */
  logSegments(site: string): SimLogSegment[] {
    const now = this.wall();
    const catalog = this.catalog(site);
    const out: SimLogSegment[] = [];
    const pos = (t: number) =>
      Math.max(0, Math.floor((((t - this.options.startedAt) / 1000) * this.logRate) / 64));
    const segmentMs = (this.segmentBytes / this.logRate) * 1000;
    for (const db of this.databases()) {
      let since: number | null = null;
      let firstData: number | null = null;
      for (const e of catalog) {
        if (e.database !== db || e.state !== 'successful') continue;
        if (e.entryType === 'log backup') since = Math.max(since ?? 0, e.endedAt ?? e.startedAt);
        else firstData = Math.min(firstData ?? Infinity, e.startedAt);
      }
      since ??= firstData;
      const writing = this.model.acceptsWrites(site);
      let id = 0;
      let from = since !== null && writing ? since : now;
      if (since !== null && writing) {
        while (from + segmentMs <= now) {
          out.push({
            database: db,
            segmentId: id++,
            state: 'Closed',
            minPosition: pos(from),
            maxPosition: pos(from + segmentMs),
            usedBytes: this.segmentBytes,
            totalBytes: this.segmentBytes,
            lastCommitAt: from + segmentMs,
          });
          from += segmentMs;
        }
      }
      out.push({
        database: db,
        segmentId: id++,
        state: 'Writing',
        minPosition: pos(from),
        maxPosition: null,
        usedBytes: Math.min(this.segmentBytes, Math.round(((now - from) / 1000) * this.logRate)),
        totalBytes: this.segmentBytes,
        lastCommitAt: now,
      });
      out.push({
        database: db,
        segmentId: id++,
        state: 'Free',
        minPosition: 0,
        maxPosition: 0,
        usedBytes: 0,
        totalBytes: this.segmentBytes,
        lastCommitAt: null,
      });
    }
    return out;
  }

  // ---------------------------------------------------------------- log backups

  private scheduleLogBackups(): void {
    if (this.disposed) return;
    this.cancelLogTimer = this.clock.setTimer(this.logIntervalMs, () => {
      this.logBackups();
      this.scheduleLogBackups();
    });
  }

  private logBackups(): void {
    for (const site of this.model.siteNames()) {
      if (!this.model.acceptsWrites(site) || this.logBackupOff.has(site)) continue;
      if (this.lostDestinations.has(this.destinationOf(site))) continue;
      const catalog = this.catalog(site);
      for (const db of this.databases()) {
        // HANA starts log backups only once the database has a data backup.
        if (
          !catalog.some(
            (e) => e.database === db && e.entryType === 'complete data backup' && e.state === 'successful',
          )
        )
          continue;
        const backupId = Math.max(this.nextId + 1, this.wall());
        this.nextId = backupId;
        const entry: SimCatalogEntry = {
          backupId,
          database: db,
          entryType: 'log backup',
          state: 'successful',
          startedAt: this.wall(),
          endedAt: this.wall(),
          bytes: 64 * 1024 * 1024,
          destinationType: 'file',
          paths: [`log_backup_${db}_${backupId}`],
          message: '',
          host: site,
        };
        try {
          this.model.appendClientCommit(site, { kind: 'hanasr-sim-backup-entry', entry }, CATALOG_BYTES);
        } catch {
          // Not writable after all: no log backup this round.
        }
      }
    }
  }

  dispose(): void {
    this.disposed = true;
    this.cancelLogTimer?.();
    for (const r of this.running.values()) r.cancel();
  }
}
