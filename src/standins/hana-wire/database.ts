/**
 * Where the wire-protocol simulator keeps the tables clients create: a transaction's changes are
 * committed as one unit (rows added and removed per table, tables created), applied
 * onto the newest committed state with a check that every row it removed is still there.
 *
 * - `memoryDatabase()`: one process-local store that commits at once (one server, no replication).
 * - `simSiteDatabase(model, site)`: the site's data is what its log holds in the HANA simulator's
 *   model. A commit is appended to the site's log and acknowledged by the model's rules (a sync
 *   primary waits for its secondary, or for logshipping_timeout), so data replicates, survives a
 *   takeover exactly as the log does, and a commit cut off by a crash has an unknown outcome.
 */
import { ClientCommitRefused, type SimLandscape } from '../hana-sim/model.js';
import { HanaSqlError, SqlErrorCode, type StoredTable } from './sql.js';
import type { SqlValue } from './values.js';

export type TableChange =
  | { readonly kind: 'create'; readonly key: string; readonly table: StoredTable }
  | {
      readonly kind: 'rows';
      readonly key: string;
      readonly added: readonly (readonly SqlValue[])[];
      readonly removed: readonly (readonly SqlValue[])[];
    };

export interface WireDatabase {
  /** The committed tables now, by `SCHEMA.NAME` (never mutate them). */
  tables(): ReadonlyMap<string, StoredTable>;
  /**
   * Commits one transaction. Resolves once the commit is acknowledged; rejects with a
   * HanaSqlError when it conflicts (nothing committed), or with CommitOutcomeUnknown when the
   * site went away before acknowledging (it may or may not be committed somewhere).
   */
  commit(changes: readonly TableChange[]): Promise<void>;
}

/** The commit was sent but never acknowledged: the client cannot know whether it is committed. */
export class CommitOutcomeUnknown extends Error {
  readonly code = 'COMMIT_OUTCOME_UNKNOWN' as const;
  constructor(message: string) {
    super(message);
    this.name = 'CommitOutcomeUnknown';
  }
}

/** A value-based key for a row (rows are compared by value, as a multiset). */
function rowKey(row: readonly SqlValue[]): string {
  return JSON.stringify(row, (_k, v: unknown) =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Date ? `@${v.toISOString()}` : v,
  );
}

/** Rows added and removed from `base` to `next` (multisets of values). */
export function diffRows(
  base: readonly (readonly SqlValue[])[],
  next: readonly (readonly SqlValue[])[],
): { added: SqlValue[][]; removed: SqlValue[][] } {
  const count = new Map<string, { n: number; rows: (readonly SqlValue[])[] }>();
  for (const r of base) {
    const k = rowKey(r);
    const e = count.get(k) ?? { n: 0, rows: [] };
    e.n++;
    e.rows.push(r);
    count.set(k, e);
  }
  const added: SqlValue[][] = [];
  for (const r of next) {
    const e = count.get(rowKey(r));
    if (e !== undefined && e.n > 0) e.n--;
    else added.push([...r]);
  }
  const removed: SqlValue[][] = [];
  for (const e of count.values()) for (let i = 0; i < e.n; i++) removed.push([...e.rows[i]!]);
  return { added, removed };
}

function serializationFailure(table: string): HanaSqlError {
  return new HanaSqlError(
    133,
    `transaction serialization failure: a row of ${table} this transaction changed was changed by another transaction first; retry the transaction`,
    '40001',
  );
}

/**
 * Applies one transaction onto `tables` (a copy the caller owns): new table objects for what
 * changed, committed ones untouched. Throws a HanaSqlError on a conflict.
 */
export function applyChanges(tables: Map<string, StoredTable>, changes: readonly TableChange[]): void {
  for (const c of changes) {
    const current = tables.get(c.key);
    switch (c.kind) {
      case 'create':
        if (current !== undefined)
          throw new HanaSqlError(
            SqlErrorCode.DUPLICATE_TABLE_NAME,
            `cannot use duplicate table name: ${c.table.name}`,
          );
        tables.set(c.key, { ...c.table, rows: c.table.rows.map((r) => [...r]) });
        break;
      case 'rows': {
        if (current === undefined) throw serializationFailure(c.key);
        let rows: SqlValue[][] = current.rows;
        if (c.removed.length > 0) {
          const remove = new Map<string, number>();
          for (const r of c.removed) remove.set(rowKey(r), (remove.get(rowKey(r)) ?? 0) + 1);
          rows = current.rows.filter((r) => {
            const k = rowKey(r);
            const n = remove.get(k) ?? 0;
            if (n === 0) return true;
            remove.set(k, n - 1);
            return false;
          });
          for (const n of remove.values()) if (n > 0) throw serializationFailure(current.name);
        }
        rows = [...rows, ...c.added.map((r) => [...r])];
        const keyIdx = current.primaryKey.map((k) => current.columns.findIndex((col) => col.name === k));
        if (keyIdx.length > 0 && c.added.length > 0) {
          const keys = new Set<string>();
          for (const r of rows) {
            const k = rowKey(keyIdx.map((i) => r[i] ?? null));
            if (keys.has(k))
              throw new HanaSqlError(
                SqlErrorCode.UNIQUE_CONSTRAINT_VIOLATED,
                `unique constraint violated: Table(${current.name}), Index(_SYS_TREE_RS_#PRIMARY)`,
                '23000',
              );
            keys.add(k);
          }
        }
        tables.set(c.key, { ...current, rows });
        break;
      }
    }
  }
}

/** Roughly what a transaction writes to the log (for the model's log positions). */
function sizeOf(changes: readonly TableChange[]): number {
  let bytes = 64;
  for (const c of changes) {
    if (c.kind === 'rows') bytes += (c.added.length + c.removed.length) * 64;
    else bytes += 256;
  }
  return bytes;
}

/** A store in this process: commits apply at once. */
export function memoryDatabase(): WireDatabase {
  let tables = new Map<string, StoredTable>();
  return {
    tables: () => tables,
    commit: async (changes) => {
      const next = new Map(tables);
      applyChanges(next, changes);
      tables = next;
    },
  };
}

const POLL_MS = 10;

/**
 * The database of one simulated site: the client transactions its log holds, replayed in
 * order. Reads see what this site holds (a read-enabled secondary lags as its log does).
 */
export function simSiteDatabase(model: SimLandscape, site: string): WireDatabase {
  let source: readonly unknown[] = [];
  let applied = 0;
  let tables = new Map<string, StoredTable>();
  const read = (): ReadonlyMap<string, StoredTable> => {
    const data = model.clientData(site);
    if (data !== source) {
      source = data;
      applied = 0;
      tables = new Map();
    }
    if (applied < data.length) {
      const next = new Map(tables);
      for (; applied < data.length; applied++) {
        // Backup catalog records live in the same log (src/hana/sim/backups.ts): not tables.
        if (!Array.isArray(data[applied])) continue;
        try {
          applyChanges(next, data[applied] as readonly TableChange[]);
        } catch {
          // Checked before it was appended: only a forked history could make it conflict here.
        }
      }
      tables = next;
    }
    return tables;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  return {
    tables: read,
    commit: async (changes) => {
      let id: number;
      for (;;) {
        // Check and append in one synchronous step: no other commit runs in between.
        applyChanges(new Map(read()), changes);
        try {
          id = model.appendClientCommit(site, changes, sizeOf(changes));
          break;
        } catch (err) {
          if (!(err instanceof ClientCommitRefused)) throw err;
          if (err.why === 'blocked') {
            await sleep(POLL_MS);
            continue;
          }
          if (err.why === 'secondary')
            throw new HanaSqlError(
              SqlErrorCode.FEATURE_NOT_SUPPORTED,
              'feature not supported: DML and DDL are not allowed on a secondary',
            );
          // Down: nothing was appended, but the connection goes with the site.
          throw new CommitOutcomeUnknown(`commit not taken: ${err.message}`);
        }
      }
      for (;;) {
        const state = model.clientCommitState(id);
        if (state === 'acknowledged') return;
        if (state === 'unacknowledged')
          throw new CommitOutcomeUnknown(`${site} stopped before it acknowledged the commit`);
        await sleep(POLL_MS);
      }
    },
  };
}
