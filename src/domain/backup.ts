// Why this file is long: all backup rules (due, retention, health) as pure functions with their reasons, unit-tested like decide().
/**
 * Backups that follow the primary: what is due, what to delete, and whether the backups are
 * healthy. Pure rules over plain data; the agent of the primary carries them out
 * (src/agent/backup.ts) and the operator reports them (src/operator/status.ts).
 *
 * Run identity: every run has an id that says why it exists — `s-<slot>` for the scheduled time
 * `slot` (ms), `m-<intent>` for a DBA's `hanasr backup --now`, `t-<epoch>` for the backup after
 * the takeover that began term `epoch`. The agent records a run in the coordination store with
 * its epoch before it starts BACKUP DATA, and only the holder of the leader key at that epoch can
 * write there. So a slot is run once across a takeover: the new primary sees the slot's run
 * (done, or running under an older epoch: interrupted, and retried by the new primary).
 */
import type { BackupSpec } from '../api/spec.js';
import { parseCron, previousRun, type CronSchedule } from './cron.js';

export type BackupRunKind = 'scheduled' | 'manual' | 'after-takeover';
export type BackupRunState = 'running' | 'succeeded' | 'failed' | 'interrupted';

/** One run of data backups (every selected database), as the store keeps it. */
export interface BackupRun {
  readonly id: string;
  readonly kind: BackupRunKind;
  /** The scheduled time this run is for (ms); null for manual and after-takeover runs. */
  readonly slot: number | null;
  /** 1 for the first attempt of this id. */
  readonly attempt: number;
  /** The site that ran it and the epoch it ran under. */
  readonly site: string;
  readonly epoch: number;
  readonly state: BackupRunState;
  readonly startedAt: number;
  readonly endedAt?: number;
  /** BACKUP_ID per database, once known. */
  readonly backupIds?: Readonly<Record<string, string>>;
  readonly bytes?: number;
  readonly message: string;
}

/** One entry of SYS.M_BACKUP_CATALOG (with its files' destination and size). */
export interface BackupCatalogEntry {
  readonly backupId: string;
  readonly database: string;
  /** ENTRY_TYPE_NAME: complete data backup, log backup, data snapshot, ... */
  readonly entryType: string;
  /** STATE_NAME: successful, failed, running, canceled, ... */
  readonly state: string;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly bytes: number;
  /** DESTINATION_TYPE_NAME of its files: file, backint. */
  readonly destinationType: string;
  readonly paths: readonly string[];
}

/**
 * The log of one database that waits for a log backup, from M_LOG_SEGMENTS: segments in state
 * Closed (still needed for a restart) or Truncated (not needed any more), neither backed up yet.
 * What the catalog cannot say: how much log is not backed up now, and since when.
 */
export interface LogBacklog {
  readonly waitingSegments: number;
  /** USED_SIZE of those segments. */
  readonly waitingBytes: number;
  /**
   * Age of the oldest one's LAST_COMMIT_TIME when read, in seconds of HANA's own clock (HANA's
   * current time minus that column: no clock of another host in it); null when none waits.
   */
  readonly oldestWaitingAgeSeconds: number | null;
}

/** One M_LOG_SEGMENTS row as the adapters hand it over (the age already on HANA's clock). */
export interface LogSegmentRow {
  readonly database: string;
  /** STATE: Writing, Closed, Truncated, BackedUp, RetainedFree, Free, ... */
  readonly state: string;
  readonly usedBytes: number;
  /** HANA's current time minus LAST_COMMIT_TIME (s); null when unknown. */
  readonly ageSeconds: number | null;
}

/** The segment states that hold log no backup has taken yet (SAP's M_LOG_SEGMENTS reference). */
export const LOG_STATES_WAITING_FOR_BACKUP = ['Closed', 'Truncated'] as const;

/** Per database: the log that waits for a backup. A database without such a row waits for nothing. */
export function logBacklogOf(
  rows: readonly LogSegmentRow[],
  databases: readonly string[],
): Record<string, LogBacklog> {
  const out: Record<string, LogBacklog> = {};
  for (const db of databases)
    out[db] = { waitingSegments: 0, waitingBytes: 0, oldestWaitingAgeSeconds: null };
  for (const r of rows) {
    if (!(LOG_STATES_WAITING_FOR_BACKUP as readonly string[]).includes(r.state)) continue;
    const prev = out[r.database] ?? { waitingSegments: 0, waitingBytes: 0, oldestWaitingAgeSeconds: null };
    out[r.database] = {
      waitingSegments: prev.waitingSegments + 1,
      waitingBytes: prev.waitingBytes + Math.max(0, r.usedBytes),
      // An unknown age of a waiting segment is not young: count it as at least what we know.
      oldestWaitingAgeSeconds:
        r.ageSeconds === null
          ? prev.oldestWaitingAgeSeconds
          : Math.max(prev.oldestWaitingAgeSeconds ?? 0, r.ageSeconds),
    };
  }
  return out;
}

/** What the primary's agent read about backups this time (its own HANA, its own clock). */
export interface BackupFacts {
  readonly site: string;
  readonly observedAt: number;
  readonly databases: readonly string[];
  /** Per database: the newest entries of the catalog (data backups and the newest log backup). */
  readonly catalog: readonly BackupCatalogEntry[];
  /** global.ini [persistence] log_mode (normal, overwrite); null when unreadable. */
  readonly logMode: string | null;
  /** global.ini [persistence] enable_auto_log_backup; null when unreadable. */
  readonly autoLogBackup: boolean | null;
  /**
   * Per database: is its newest successful data backup readable from this site's destination
   * (BACKUP CHECK ACCESS on its files)? Absent: not checked; null: the check did not answer.
   */
  readonly readable: Readonly<Record<string, boolean | null>>;
  /** Per database: log waiting for a log backup (M_LOG_SEGMENTS). Absent: not read. */
  readonly logBacklog?: Readonly<Record<string, LogBacklog>>;
  /** Why a part could not be read (never a credential). */
  readonly error?: string;
}

/** The backup record in the coordination store (one key, written by the leader at its epoch). */
export interface BackupState {
  /** Runs, oldest first, at most MAX_RUNS. */
  readonly runs: readonly BackupRun[];
  readonly facts?: BackupFacts;
}

export const MAX_RUNS = 50;

export const SYSTEMDB = 'SYSTEMDB';

/** Keeps the newest MAX_RUNS, replacing a run of the same id and attempt. */
export function withRun(state: BackupState | undefined, run: BackupRun): BackupState {
  const runs = (state?.runs ?? []).filter((r) => !(r.id === run.id && r.attempt === run.attempt));
  runs.push(run);
  return { ...(state ?? {}), runs: runs.slice(-MAX_RUNS) };
}

/** The newest attempt of every run id. */
function latestAttempts(runs: readonly BackupRun[]): Map<string, BackupRun> {
  const out = new Map<string, BackupRun>();
  for (const r of runs) {
    const prev = out.get(r.id);
    if (prev === undefined || r.attempt >= prev.attempt) out.set(r.id, r);
  }
  return out;
}

export function scheduleOf(backup: BackupSpec): CronSchedule {
  return parseCron(backup.schedule, backup.timeZone);
}

/** The databases a run backs up: the spec's list, or SYSTEMDB and every tenant the primary has. */
export function databasesToBackUp(backup: BackupSpec, present: readonly string[]): string[] {
  if (backup.databases !== undefined) return [...backup.databases];
  const tenants = present.filter((d) => d !== SYSTEMDB).sort();
  return [SYSTEMDB, ...tenants];
}

export interface BackupDueInput {
  readonly backup: BackupSpec;
  readonly self: string;
  /** This site holds the leader key at `epoch`, and its HANA accepts writes. */
  readonly leader: boolean;
  readonly writable: boolean;
  /** spec.maintenance: hanasr takes no action, backups included (BackupTooOld tells). */
  readonly maintenance?: boolean;
  readonly epoch: number;
  readonly state: BackupState | undefined;
  /** Manual backup requests (hanasr backup --now), with the epoch they were made in. */
  readonly requests: readonly { readonly id: string; readonly epoch: number }[];
  /** The run this agent is carrying out right now, if any. */
  readonly inFlight: string | null;
  /**
   * Per database: start of its newest successful complete data backup in the catalog (HANA's
   * clock), or null; absent when the catalog could not be read.
   */
  readonly newestSuccessful?: Readonly<Record<string, number | null>>;
  readonly databases: readonly string[];
  /** clock.maxSkewSeconds in ms: catalog times come from HANA's host. */
  readonly maxSkewMs: number;
  readonly now: number;
}

export type BackupDecision =
  | {
      readonly kind: 'none';
      readonly reason: string;
      readonly message: string;
      /** Runs to record as interrupted (they ran under a term that ended). */
      readonly interrupt: readonly BackupRun[];
      readonly refuse: readonly string[];
    }
  | {
      readonly kind: 'start';
      readonly run: Pick<BackupRun, 'id' | 'kind' | 'slot' | 'attempt'>;
      readonly intentId?: string;
      readonly reason: string;
      readonly message: string;
      readonly interrupt: readonly BackupRun[];
      readonly refuse: readonly string[];
    };

export function slotId(slot: number): string {
  return `s-${slot}`;
}

function iso(t: number): string {
  return new Date(t).toISOString().replace(/:00\.000Z$/, 'Z');
}

/**
 * What the agent of `self` should do about backups now. Never starts anything unless this site
 * holds the leader key and its HANA takes writes (a secondary never runs a backup).
 */
export function backupDue(input: BackupDueInput): BackupDecision {
  const { backup, now, epoch } = input;
  const runs = input.state?.runs ?? [];
  const none = (reason: string, message: string, interrupt: BackupRun[] = [], refuse: string[] = []) =>
    ({ kind: 'none', reason, message, interrupt, refuse }) as const;
  if (!input.leader) return none('not_leader', 'backups run only on the site holding the leader key');
  if (input.maintenance === true)
    return none(
      'maintenance',
      'spec.maintenance is true: no backup is started (BackupTooOld tells when one is due)',
    );
  if (!input.writable)
    return none('primary_not_writable', 'the primary does not take writes now: no backup is started');

  // Runs left 'running' by an earlier term, another site, or an earlier life of this agent.
  const interrupt = [...latestAttempts(runs).values()].filter(
    (r) => r.state === 'running' && r.id !== input.inFlight,
  );
  const interrupted = (r: BackupRun): BackupRun =>
    interrupt.includes(r)
      ? {
          ...r,
          state: 'interrupted',
          endedAt: now,
          message:
            r.epoch !== epoch || r.site !== input.self
              ? `interrupted: ${r.site} lost the leader key at epoch ${r.epoch} while the backup ran`
              : 'interrupted: the agent restarted while the backup ran',
        }
      : r;
  const latest = new Map([...latestAttempts(runs)].map(([k, r]) => [k, interrupted(r)] as const));

  if (input.inFlight !== null)
    return none('backup_running', `run ${input.inFlight} is in progress`, interrupt);

  // Manual requests: carried out in the epoch they were made in, refused after a term change.
  const refuse: string[] = [];
  for (const req of input.requests) {
    if (req.epoch !== epoch) {
      refuse.push(req.id);
      continue;
    }
    const id = `m-${req.id}`;
    const done = latest.get(id);
    if (done === undefined)
      return {
        kind: 'start',
        run: { id, kind: 'manual', slot: null, attempt: 1 },
        intentId: req.id,
        reason: 'manual_backup',
        message: 'a backup was requested (hanasr backup --now)',
        interrupt,
        refuse,
      };
  }

  const schedule = scheduleOf(backup);
  const slot = previousRun(schedule, now);

  // A backup already taken since `from` (e.g. right after a takeover) covers a slot.
  const coveredSince = (from: number) =>
    input.newestSuccessful !== undefined &&
    input.databases.length > 0 &&
    input.databases.every((db) => {
      const t = input.newestSuccessful?.[db];
      return t !== undefined && t !== null && t >= from + input.maxSkewMs;
    });

  // Retry a failed or interrupted run (of the current slot, for scheduled ones, unless covered).
  for (const r of [...latest.values()].sort((a, b) => a.startedAt - b.startedAt)) {
    if (r.state !== 'failed' && r.state !== 'interrupted') continue;
    if (r.kind === 'scheduled' && (r.slot !== slot || (r.slot !== null && coveredSince(r.slot)))) continue;
    if (r.kind === 'after-takeover' && r.epoch !== epoch && r.id !== `t-${epoch}`) continue;
    if (r.attempt >= backup.maxAttempts) continue;
    const ready =
      r.state === 'interrupted' ? 0 : (r.endedAt ?? r.startedAt) + backup.retryDelaySeconds * 1000;
    if (now < ready) continue;
    return {
      kind: 'start',
      run: { id: r.id, kind: r.kind, slot: r.slot, attempt: r.attempt + 1 },
      reason: r.state === 'interrupted' ? 'retry_interrupted' : 'retry_failed',
      message: `retrying run ${r.id} (attempt ${r.attempt + 1} of ${backup.maxAttempts}): ${r.message}`,
      interrupt,
      refuse,
    };
  }

  // After a takeover: the newest successful backup was written by another site.
  if (backup.afterTakeover) {
    const ok = [...latest.values()]
      .filter((r) => r.state === 'succeeded')
      .sort((a, b) => a.startedAt - b.startedAt);
    const newest = ok.at(-1);
    const thisTerm = [...latest.values()].some((r) => r.epoch === epoch && r.site === input.self);
    if (newest !== undefined && newest.site !== input.self && !thisTerm && !latest.has(`t-${epoch}`))
      return {
        kind: 'start',
        run: { id: `t-${epoch}`, kind: 'after-takeover', slot: null, attempt: 1 },
        reason: 'after_takeover',
        message: `${input.self} became primary at epoch ${epoch}; the newest successful backup was written by ${newest.site}, whose destination this site may not reach`,
        interrupt,
        refuse,
      };
    // A new term after a switchover or a disaster takeover: the store holds no run of this term
    // (none at all in a region that never led; only older ones in a region that leads again after
    // a switchover and back: the other region's runs stay in its own store), the catalog
    // replicated with the log, and this site's own check says the newest backup there is not
    // readable from its destination.
    const facts = input.state?.facts;
    const unreadableHere =
      facts !== undefined &&
      facts.site === input.self &&
      facts.error === undefined &&
      input.databases.some((db) => input.newestSuccessful?.[db] != null && facts.readable[db] === false);
    const newTerm = [...latest.values()].every((r) => r.epoch < epoch);
    if (newTerm && unreadableHere && !thisTerm)
      return {
        kind: 'start',
        run: { id: `t-${epoch}`, kind: 'after-takeover', slot: null, attempt: 1 },
        reason: 'after_takeover',
        message: `${input.self} leads at epoch ${epoch} with no backup run of this term in this store, and the newest successful backup in the catalog is not readable from its destination (written in the other region, or before): taking one now`,
        interrupt,
        refuse,
      };
  }

  if (slot === null) return none('no_slot', 'the schedule has not fired yet', interrupt, refuse);
  if (latest.has(slotId(slot)))
    return none('slot_done', `the run for ${iso(slot)} is recorded`, interrupt, refuse);
  if (now - slot > backup.startingDeadlineSeconds * 1000)
    return none(
      'slot_missed',
      `the run for ${iso(slot)} was not started within startingDeadlineSeconds; the next slot will run`,
      interrupt,
      refuse,
    );
  if (coveredSince(slot))
    return none(
      'slot_covered',
      `every database has a successful data backup started after ${iso(slot)}`,
      interrupt,
      refuse,
    );
  return {
    kind: 'start',
    run: { id: slotId(slot), kind: 'scheduled', slot, attempt: 1 },
    reason: 'scheduled',
    message: `scheduled backup for ${iso(slot)} (${backup.schedule}${backup.timeZone ? ` ${backup.timeZone}` : ''})`,
    interrupt,
    refuse,
  };
}

/** The newest successful complete data backup of a database in the catalog. */
export function newestSuccessfulData(
  catalog: readonly BackupCatalogEntry[],
  database: string,
): BackupCatalogEntry | undefined {
  let best: BackupCatalogEntry | undefined;
  for (const e of catalog) {
    if (e.database !== database || e.entryType !== 'complete data backup' || e.state !== 'successful')
      continue;
    if (best === undefined || e.startedAt > best.startedAt) best = e;
  }
  return best;
}

/**
 * What the store keeps of a catalog reading: per database its newest `dataEntries` data backup
 * entries (any state) and its newest log backup. A catalog grows by a log backup every 15
 * minutes; the record in the store must not.
 */
export function trimCatalog(catalog: readonly BackupCatalogEntry[], dataEntries = 10): BackupCatalogEntry[] {
  const keep = new Set<BackupCatalogEntry>();
  for (const db of new Set(catalog.map((e) => e.database))) {
    const mine = catalog.filter((e) => e.database === db).sort((a, b) => b.startedAt - a.startedAt);
    for (const e of mine.filter((x) => x.entryType !== 'log backup').slice(0, dataEntries)) keep.add(e);
    const log = mine.find((x) => x.entryType === 'log backup' && x.state === 'successful');
    if (log !== undefined) keep.add(log);
  }
  return catalog.filter((e) => keep.has(e));
}

export interface RetentionStep {
  readonly database: string;
  /** BACKUP CATALOG DELETE FOR <database> ALL BEFORE BACKUP_ID <beforeId> WITH FILE|BACKINT. */
  readonly beforeId: string;
  readonly deletes: number;
}

/**
 * What retention deletes: per database, everything before the oldest successful complete data
 * backup that `retention` keeps (newest `count`, and every one younger than `maxAgeDays`; at
 * least the newest). Nothing for a database whose newest successful backup is not confirmed
 * readable: a backup nobody can read is no reason to delete an older one.
 */
export function retentionPlan(
  backup: BackupSpec,
  facts: BackupFacts,
  now: number,
): { readonly steps: readonly RetentionStep[]; readonly skipped: readonly string[] } {
  const retention = backup.retention;
  if (retention === undefined || (retention.count === undefined && retention.maxAgeDays === undefined))
    return { steps: [], skipped: [] };
  const steps: RetentionStep[] = [];
  const skipped: string[] = [];
  for (const db of new Set(facts.catalog.map((e) => e.database))) {
    const data = facts.catalog
      .filter((e) => e.database === db && e.entryType === 'complete data backup' && e.state === 'successful')
      .sort((a, b) => b.startedAt - a.startedAt);
    if (data.length === 0) continue;
    if (facts.readable[db] !== true) {
      skipped.push(db);
      continue;
    }
    let kept = 1;
    if (retention.count !== undefined) kept = Math.max(kept, Math.min(retention.count, data.length));
    if (retention.maxAgeDays !== undefined) {
      const young = data.filter((e) => now - e.startedAt < retention.maxAgeDays! * 86_400_000).length;
      kept = retention.count !== undefined ? Math.max(kept, young) : Math.max(1, young);
    }
    const anchor = data[kept - 1]!;
    const deletes = facts.catalog.filter((e) => e.database === db && e.startedAt < anchor.startedAt).length;
    if (deletes > 0) steps.push({ database: db, beforeId: anchor.backupId, deletes });
  }
  return { steps, skipped };
}

export type BackupHealthReason =
  | 'BackupsOk'
  | 'BackupStateUnknown'
  | 'NoSuccessfulBackup'
  | 'BackupTooOld'
  | 'BackupNotReadable'
  | 'LogBackupDisabled'
  | 'LogBackupStalled'
  | 'BackupFailing';

export interface DatabaseBackupHealth {
  readonly database: string;
  readonly newestSuccessfulAt: number | null;
  readonly newestSuccessfulId: string | null;
  readonly ageSeconds: number | null;
  readonly bytes: number | null;
  readonly readable: boolean | null;
  readonly newestLogBackupAt: number | null;
  readonly logBackupAgeSeconds: number | null;
  /** Log segments waiting for a log backup and their size (M_LOG_SEGMENTS); null: not read. */
  readonly logSegmentsWaiting: number | null;
  readonly logBytesWaiting: number | null;
  /** How long the oldest of them has waited, now (HANA's age at the read plus the time since); null: none or unknown. */
  readonly logOldestWaitingSeconds: number | null;
  readonly failures: number;
}

export interface BackupHealth {
  readonly healthy: boolean;
  readonly reason: BackupHealthReason;
  readonly message: string;
  readonly tooOld: boolean;
  readonly unreadable: boolean;
  readonly logStalled: boolean;
  readonly databases: readonly DatabaseBackupHealth[];
  /** The last scheduled time by which a successful backup is expected (ms), or null. */
  readonly expectedSince: number | null;
}

/**
 * Are the backups healthy? Unknown is never healthy: no facts, facts older than `staleAfterMs`,
 * an unreadable catalog or an unanswered readability check count against the backups.
 * `now` is the reader's clock: facts carry the primary's; `maxSkewMs` is counted against trust.
 */
export function backupHealth(
  backup: BackupSpec,
  state: BackupState | undefined,
  now: number,
  options: { readonly staleAfterMs: number; readonly maxSkewMs: number },
): BackupHealth {
  const facts = state?.facts;
  const schedule = scheduleOf(backup);
  const expectedSince = previousRun(schedule, now - backup.alertMarginSeconds * 1000);
  const base = { tooOld: false, unreadable: false, logStalled: false, expectedSince };
  if (facts === undefined)
    return {
      ...base,
      healthy: false,
      reason: 'BackupStateUnknown',
      message: 'the primary has not reported its backups yet',
      databases: [],
    };
  const age = (t: number | null) => (t === null ? null : Math.max(0, Math.round((now - t) / 1000)));
  const dbs = databasesToBackUp(backup, facts.databases);
  const sinceRead = Math.max(0, now - facts.observedAt);
  const runs = state?.runs ?? [];
  const databases: DatabaseBackupHealth[] = dbs.map((db) => {
    const newest = newestSuccessfulData(facts.catalog, db);
    const backlog = facts.logBacklog?.[db];
    let newestLog: number | null = null;
    for (const e of facts.catalog)
      if (e.database === db && e.entryType === 'log backup' && e.state === 'successful')
        newestLog = Math.max(newestLog ?? 0, e.endedAt ?? e.startedAt);
    const failures = facts.catalog.filter(
      (e) =>
        e.database === db &&
        e.entryType === 'complete data backup' &&
        (e.state === 'failed' || e.state === 'canceled') &&
        (newest === undefined || e.startedAt > newest.startedAt),
    ).length;
    return {
      database: db,
      newestSuccessfulAt: newest?.startedAt ?? null,
      newestSuccessfulId: newest?.backupId ?? null,
      ageSeconds: age(newest?.startedAt ?? null),
      bytes: newest?.bytes ?? null,
      readable: newest === undefined ? null : (facts.readable[db] ?? null),
      newestLogBackupAt: newestLog,
      logBackupAgeSeconds: age(newestLog),
      logSegmentsWaiting: backlog?.waitingSegments ?? null,
      logBytesWaiting: backlog?.waitingBytes ?? null,
      logOldestWaitingSeconds:
        backlog?.oldestWaitingAgeSeconds == null
          ? null
          : Math.round(backlog.oldestWaitingAgeSeconds + sinceRead / 1000),
      failures,
    };
  });
  const unhealthy = (reason: BackupHealthReason, message: string, extra: Partial<typeof base> = {}) => ({
    ...base,
    ...extra,
    healthy: false,
    reason,
    message,
    databases,
  });
  const tooOld = databases.filter(
    (d) =>
      d.newestSuccessfulAt === null ||
      (expectedSince !== null && d.newestSuccessfulAt < expectedSince - options.maxSkewMs),
  );
  const unreadable = databases.filter((d) => d.newestSuccessfulAt !== null && d.readable !== true);
  const log = backup.logBackup;
  const logOff = log.required && (facts.logMode !== 'normal' || facts.autoLogBackup !== true);
  const maxLogAgeMs = log.maxAgeSeconds * 1000 + options.maxSkewMs;
  // The log chain starts with the first data backup (HANA writes log backups only after one):
  // before the first log backup, maxAge counts from the oldest successful data backup.
  const firstData = (db: string): number | null => {
    let first: number | null = null;
    for (const e of facts.catalog)
      if (e.database === db && e.entryType === 'complete data backup' && e.state === 'successful')
        first = Math.min(first ?? Infinity, e.startedAt);
    return first;
  };
  const logStale = log.required
    ? databases.filter((d) => {
        if (d.newestLogBackupAt !== null) return now - d.newestLogBackupAt > maxLogAgeMs;
        const first = firstData(d.database);
        return first !== null && now - first > maxLogAgeMs;
      })
    : [];
  // No data backup at all: no log backup can start either (no grace: nothing can be recovered).
  const logNever = log.required ? databases.filter((d) => d.newestSuccessfulAt === null) : [];
  // Log waiting for backup longer than maxAge (M_LOG_SEGMENTS, HANA's clock plus the time since
  // it was read): log backups fall behind even when the catalog shows a recent one.
  const logBehind = log.required
    ? databases.filter((d) => {
        const b = facts.logBacklog?.[d.database];
        return (
          b !== undefined &&
          b.waitingSegments > 0 &&
          b.oldestWaitingAgeSeconds !== null &&
          b.oldestWaitingAgeSeconds * 1000 + sinceRead > log.maxAgeSeconds * 1000
        );
      })
    : [];
  const flags = {
    tooOld: tooOld.length > 0,
    unreadable: unreadable.length > 0,
    logStalled: logOff || logStale.length > 0 || logNever.length > 0 || logBehind.length > 0,
  };
  const names = (ds: readonly DatabaseBackupHealth[]) => ds.map((d) => d.database).join(', ');
  if (now - facts.observedAt > options.staleAfterMs + options.maxSkewMs)
    return unhealthy(
      'BackupStateUnknown',
      `the backup facts are ${Math.round((now - facts.observedAt) / 1000)} s old: the primary's agent has not read them since`,
      flags,
    );
  if (facts.error !== undefined)
    return unhealthy('BackupStateUnknown', `the backup catalog could not be read: ${facts.error}`, flags);
  if (databases.every((d) => d.newestSuccessfulAt === null))
    return unhealthy('NoSuccessfulBackup', `no successful data backup of ${names(databases)}`, flags);
  if (flags.tooOld)
    return unhealthy(
      'BackupTooOld',
      `no successful data backup since ${expectedSince === null ? 'ever' : new Date(expectedSince).toISOString()} of ${names(tooOld)}`,
      flags,
    );
  if (flags.unreadable)
    return unhealthy(
      'BackupNotReadable',
      `the newest successful backup of ${names(unreadable)} is not readable from ${facts.site}'s destination (${unreadable.map((d) => (d.readable === null ? 'not confirmed' : 'unreadable')).join(', ')})`,
      flags,
    );
  if (logOff)
    return unhealthy(
      'LogBackupDisabled',
      `log backups are off on ${facts.site} (log_mode ${facts.logMode ?? 'unknown'}, enable_auto_log_backup ${facts.autoLogBackup === null ? 'unknown' : facts.autoLogBackup ? 'yes' : 'no'})`,
      flags,
    );
  if (logStale.length > 0 || logBehind.length > 0) {
    const parts: string[] = [];
    const never = logStale.filter((d) => d.newestLogBackupAt === null);
    const old = logStale.filter((d) => d.newestLogBackupAt !== null);
    if (old.length > 0) parts.push(`no log backup within ${log.maxAgeSeconds} s for ${names(old)}`);
    if (never.length > 0)
      parts.push(`no log backup yet of ${names(never)}, ${log.maxAgeSeconds} s after the first data backup`);
    for (const d of logBehind) {
      const b = facts.logBacklog![d.database]!;
      parts.push(
        `${d.database}: ${b.waitingSegments} log segments (${Math.round(b.waitingBytes / 2 ** 20)} MB) wait for backup, the oldest for ${Math.round(b.oldestWaitingAgeSeconds! + sinceRead / 1000)} s`,
      );
    }
    return unhealthy('LogBackupStalled', parts.join('; '), flags);
  }
  const last = [...latestAttempts(runs).values()].sort((a, b) => a.startedAt - b.startedAt).at(-1);
  if (last !== undefined && last.state === 'failed' && last.attempt >= backup.maxAttempts)
    return unhealthy('BackupFailing', `run ${last.id} failed ${last.attempt} times: ${last.message}`, flags);
  return {
    ...base,
    ...flags,
    healthy: true,
    reason: 'BackupsOk',
    message: `newest successful data backups: ${databases.map((d) => `${d.database} ${d.ageSeconds ?? '?'} s ago`).join(', ')}`,
    databases,
  };
}

/** The file/backint prefix of one database in one run: `<prefix>_<DB>_<yyyymmddThhmmss>`. */
export function backupPrefix(backup: BackupSpec, database: string, startedAt: number): string {
  const stamp = new Date(startedAt)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.[0-9]+Z$/, 'Z');
  return `${backup.destination.prefix}_${database}_${stamp}`;
}
