// Why this file is long: the backup runner of the primary's agent: scheduling, epoch checks, run records and cleanup, each with its deadline.
/**
 * Backups that follow the primary, carried out by the agent of the site holding the leader key.
 *
 * Why the agent and not the operator: failover works with no operator running, and so must the
 * 24-hour promise; the agent is epoch-aware (it knows, from the store, whether its site holds the
 * key in which term) and talks to its own HANA over SQL. Every tick it reads the store, reads its
 * HANA's backup catalog, asks `backupDue()` (src/domain/backup.ts) what to do, and records runs
 * in the store with its epoch *before* starting BACKUP DATA. Only the key holder at that epoch can
 * write there, so a slot runs once across a takeover; a run left `running` by a term that ended is
 * recorded interrupted by the new primary and retried there. A site that is not the key holder
 * never starts a backup, and cancels one it started when it loses the key.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import { anySignal, withTimeout, type Clock } from '../clock.js';
import type { ClusterState, Coordination } from '../coordination/port.js';
import {
  backupDue,
  backupPrefix,
  databasesToBackUp,
  newestSuccessfulData,
  retentionPlan,
  trimCatalog,
  withRun,
  type BackupCatalogEntry,
  type BackupFacts,
  type BackupRun,
  type BackupState,
} from '../domain/backup.js';
import { BackupInterruptedError, type BackupPort } from '../hana/backup-port.js';

export interface BackupEvent {
  readonly t: number;
  readonly cluster: string;
  readonly site: string;
  readonly epoch: number;
  /**
   * backup-started | backup-succeeded | backup-failed | backup-interrupted | backup-cancelled |
   * backup-retention | backup-refused | backup-error
   */
  readonly event: string;
  readonly reason: string;
  readonly message: string;
  readonly runId?: string;
}

export interface BackupRunnerOptions {
  readonly cluster: string;
  readonly site: string;
  readonly spec: () => HanaSystemReplicationSpec;
  readonly coordination: Coordination;
  readonly port: BackupPort;
  readonly clock: Clock;
  /** Time between ticks (ms, default 10 s). */
  readonly intervalMs?: number;
  /** Deadline of a store call (ms, default 2 s). */
  readonly storeTimeoutMs?: number;
  /** Deadline of a catalog read, access check, cancel or delete (ms, default 30 s). */
  readonly sqlTimeoutMs?: number;
  readonly onEvent?: (e: BackupEvent) => void;
}

interface InFlight {
  readonly run: BackupRun;
  readonly abort: AbortController;
  database: string | null;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class BackupRunner {
  private running = false;
  private killed = false;
  private timerCancel: (() => void) | null = null;
  private busy: Promise<void> | null = null;
  private inFlight: InFlight | null = null;
  /**
   * Ticks and the recording of a finished run take turns: a tick decides from the record it read,
   * so a run's outcome written in between would be overwritten (or read as "interrupted").
   */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: BackupRunnerOptions) {}

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  /** Stops ticking; a backup in flight is left to HANA (the next primary records it interrupted). */
  kill(): void {
    this.running = false;
    this.killed = true;
    this.timerCancel?.();
    this.inFlight?.abort.abort();
  }

  /** The run being carried out now, if any (tests, status). */
  get current(): BackupRun | null {
    return this.inFlight?.run ?? null;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timerCancel?.();
    this.timerCancel = this.options.clock.setTimer(ms, () => {
      void this.tick().finally(() => this.schedule(this.options.intervalMs ?? 10_000));
    });
  }

  /** One tick; exposed for tests. Concurrent calls share the running one. */
  tick(): Promise<void> {
    if (this.busy) return this.busy;
    this.busy = this.inTurn(() => this.tickOnce())
      .catch((err: unknown) =>
        this.emit('backup-error', 'tick_failed', `backup tick failed: ${errorMessage(err)}`),
      )
      .finally(() => {
        this.busy = null;
      });
    return this.busy;
  }

  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => {});
    return run;
  }

  private store<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withTimeout(this.options.clock, this.options.storeTimeoutMs ?? 2000, what, () => fn());
  }

  private sql<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withTimeout(this.options.clock, this.options.sqlTimeoutMs ?? 30_000, what, fn);
  }

  private emit(event: string, reason: string, message: string, epoch = 0, runId?: string): void {
    this.options.onEvent?.({
      t: this.options.clock.now(),
      cluster: this.options.cluster,
      site: this.options.site,
      epoch,
      event,
      reason,
      message,
      ...(runId !== undefined ? { runId } : {}),
    });
  }

  private async tickOnce(): Promise<void> {
    const spec = this.options.spec();
    const backup = spec.backup;
    if (this.killed || backup === undefined) return;
    const { clock, site, cluster, coordination } = this.options;
    const state: ClusterState = await this.store('coordination read', () => coordination.read(cluster));
    const leader = state.leader;
    const mine = leader !== null && leader.site === site;
    if (!mine) {
      if (this.inFlight !== null) await this.abandon(this.inFlight, state);
      return;
    }
    const epoch = leader.epoch;
    const writable = state.reports[site]?.health.acceptsWrites === true;

    // What HANA says about its backups (a failed read is recorded as such: unknown is not healthy).
    const now = clock.now();
    let facts: BackupFacts;
    let fullCatalog: readonly BackupCatalogEntry[] = [];
    try {
      const reading = await this.sql('backup catalog read', (s) => this.options.port.read(s));
      const dbs = databasesToBackUp(backup, reading.databases);
      const readable: Record<string, boolean | null> = {};
      for (const db of dbs) {
        const newest = newestSuccessfulData(reading.catalog, db);
        const path = newest?.paths[0];
        if (newest === undefined || path === undefined) continue;
        readable[db] = await this.sql('backup check access', (s) =>
          this.options.port.checkAccess(
            db,
            newest.destinationType === 'backint' ? 'backint' : 'file',
            path,
            s,
          ),
        ).catch(() => null);
      }
      fullCatalog = reading.catalog;
      facts = {
        site,
        observedAt: now,
        databases: reading.databases,
        catalog: trimCatalog(reading.catalog),
        logMode: reading.logMode,
        autoLogBackup: reading.autoLogBackup,
        readable,
        ...(reading.logBacklog !== undefined ? { logBacklog: reading.logBacklog } : {}),
      };
    } catch (err) {
      facts = {
        site,
        observedAt: now,
        databases: state.backup?.facts?.databases ?? [],
        catalog: [],
        logMode: null,
        autoLogBackup: null,
        readable: {},
        error: errorMessage(err),
      };
    }
    const dbs = databasesToBackUp(backup, facts.databases);
    const newestSuccessful =
      facts.error === undefined
        ? Object.fromEntries(
            dbs.map((db) => [db, newestSuccessfulData(facts.catalog, db)?.startedAt ?? null]),
          )
        : undefined;
    const d = backupDue({
      backup,
      self: site,
      leader: mine,
      writable,
      maintenance: spec.maintenance,
      epoch,
      state: state.backup,
      requests: state.intents.filter((i) => i.kind === 'backup'),
      inFlight: this.inFlight?.run.id ?? null,
      ...(newestSuccessful !== undefined ? { newestSuccessful } : {}),
      databases: dbs,
      maxSkewMs: spec.clock.maxSkewSeconds * 1000,
      now,
    });
    let next: BackupState = { runs: state.backup?.runs ?? [], facts };
    for (const r of d.interrupt) {
      const interrupted: BackupRun = {
        ...r,
        state: 'interrupted',
        endedAt: now,
        message:
          r.epoch !== epoch || r.site !== site
            ? `interrupted: ${r.site} lost the leader key at epoch ${r.epoch} while the backup ran`
            : 'interrupted: the agent restarted while the backup ran',
      };
      next = withRun(next, interrupted);
      this.emit(
        'backup-interrupted',
        'term_ended',
        `run ${r.id} (attempt ${r.attempt}) ${interrupted.message}`,
        epoch,
        r.id,
      );
    }
    for (const id of d.refuse) {
      await this.store('remove intent', () => coordination.removeIntent(cluster, id)).catch(() => {});
      this.emit(
        'backup-refused',
        'stale_epoch',
        `backup request ${id} was made in an earlier term: refused`,
        epoch,
      );
    }
    if (d.kind === 'start' && facts.error === undefined && dbs.length > 0) {
      const run: BackupRun = {
        ...d.run,
        site,
        epoch,
        state: 'running',
        startedAt: now,
        message: d.message,
      };
      next = withRun(next, run);
      // Recorded with the epoch before anything runs: a stale term cannot start a backup.
      await this.write(epoch, next);
      if (d.intentId !== undefined)
        await this.store('remove intent', () => coordination.removeIntent(cluster, d.intentId!)).catch(
          () => {},
        );
      this.emit(
        'backup-started',
        d.reason,
        `run ${run.id} (attempt ${run.attempt}): ${d.message}`,
        epoch,
        run.id,
      );
      this.execute(run, dbs);
      return;
    }
    await this.write(epoch, next);
    if (this.inFlight === null) await this.retention(epoch, { ...facts, catalog: fullCatalog });
  }

  private write(epoch: number, state: BackupState): Promise<void> {
    const { coordination, cluster, site } = this.options;
    const write = coordination.writeBackup;
    if (write === undefined) throw new Error('the coordination store cannot record backups');
    return this.store('write backup record', () => write.call(coordination, cluster, site, epoch, state));
  }

  /** Runs the backups of one run, one database after another, then records the outcome. */
  private execute(run: BackupRun, dbs: readonly string[]): void {
    const spec = this.options.spec();
    const backup = spec.backup!;
    const flight: InFlight = { run, abort: new AbortController(), database: null };
    this.inFlight = flight;
    const { clock, port } = this.options;
    const done = async (): Promise<BackupRun> => {
      for (const db of dbs) {
        if (flight.abort.signal.aborted) throw new Error('the site lost the leader key');
        flight.database = db;
        const prefix = backupPrefix(backup, db, run.startedAt);
        await withTimeout(clock, backup.timeoutSeconds * 1000, `BACKUP DATA FOR ${db}`, (signal) => {
          const both = anySignal([signal, flight.abort.signal]);
          return port.backupData(db, backup.destination.type, prefix, both);
        }).catch(async (err: unknown) => {
          // A backup past its deadline, or cut off: cancel what still runs on HANA.
          await this.cancelRunning(db).catch(() => {});
          throw err;
        });
      }
      return { ...run, state: 'succeeded', endedAt: clock.now(), message: `backed up ${dbs.join(', ')}` };
    };
    void done()
      .catch((err: unknown): BackupRun => ({
        ...run,
        // The connection went with the instance: nothing says the backup itself was bad.
        state: err instanceof BackupInterruptedError ? 'interrupted' : 'failed',
        endedAt: clock.now(),
        message: `${flight.database ?? 'backup'}: ${errorMessage(err)}`,
      }))
      .then((result) => this.inTurn(() => this.record(flight, result)))
      .then((recorded) => {
        if (!recorded) return;
        // Read the new catalog at once (the next tick would too): status and retention see it.
        void this.tick();
      })
      .catch((err: unknown) =>
        this.emit('backup-error', 'not_recorded', `run ${run.id}: ${errorMessage(err)}`, run.epoch, run.id),
      );
  }

  /**
   * Records a finished run (in its turn, so no tick decides from a record read before it).
   * Returns false when there was nothing to record or the record could not be written.
   */
  private async record(flight: InFlight, result: BackupRun): Promise<boolean> {
    const { run } = flight;
    if (this.inFlight === flight) this.inFlight = null;
    if (flight.abort.signal.aborted) return false; // recorded by the next primary (interrupted)
    const state = await this.store('coordination read', () =>
      this.options.coordination.read(this.options.cluster),
    );
    try {
      await this.write(run.epoch, withRun(state.backup, result));
    } catch (err) {
      this.emit(
        'backup-error',
        'not_recorded',
        `run ${run.id} ${result.state} but could not be recorded at epoch ${run.epoch}: ${errorMessage(err)}`,
        run.epoch,
        run.id,
      );
      return false;
    }
    this.emit(
      `backup-${result.state}`,
      result.state === 'succeeded'
        ? 'backup_done'
        : result.state === 'interrupted'
          ? 'connection_lost'
          : 'backup_failed',
      `run ${run.id} (attempt ${run.attempt}): ${result.message}`,
      run.epoch,
      run.id,
    );
    return true;
  }

  private async cancelRunning(db: string): Promise<void> {
    const running = await this.sql('backup progress', (s) => this.options.port.running(s));
    for (const r of running.filter((x) => x.database === db))
      await this.sql('backup cancel', (s) => this.options.port.cancel(db, r.backupId, s));
  }

  /** The key went elsewhere while a backup ran: stop it, and leave the record to the new primary. */
  private async abandon(flight: InFlight, state: ClusterState): Promise<void> {
    flight.abort.abort();
    this.inFlight = null;
    const db = flight.database;
    const holder = state.leader
      ? `${state.leader.site} holds it at epoch ${state.leader.epoch}`
      : 'nobody holds it';
    let how = 'cancelled';
    if (db !== null)
      await this.cancelRunning(db).catch((err: unknown) => (how = `not cancelled (${errorMessage(err)})`));
    this.emit(
      'backup-cancelled',
      'lost_leader',
      `run ${flight.run.id}: ${this.options.site} lost the leader key (${holder}); the backup of ${db ?? 'the run'} was ${how}`,
      flight.run.epoch,
      flight.run.id,
    );
  }

  private async retention(epoch: number, facts: BackupFacts): Promise<void> {
    const backup = this.options.spec().backup;
    if (backup === undefined || facts.error !== undefined) return;
    const plan = retentionPlan(backup, facts, this.options.clock.now());
    for (const step of plan.steps) {
      try {
        await this.sql('backup catalog delete', (s) =>
          this.options.port.deleteBefore(step.database, step.beforeId, backup.destination.type, s),
        );
        this.emit(
          'backup-retention',
          'retention',
          `deleted ${step.deletes} catalog entries (and their files) of ${step.database} before backup ${step.beforeId}`,
          epoch,
        );
      } catch (err) {
        this.emit(
          'backup-error',
          'retention_failed',
          `retention of ${step.database} failed: ${errorMessage(err)}`,
          epoch,
        );
      }
    }
  }
}
