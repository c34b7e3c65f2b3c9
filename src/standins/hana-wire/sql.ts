// Why this file is long: a stand-in: evaluation of joins, filters, ordering, result metadata and inserts/upserts with HANA's coercion and errors, for the statements sql-parse.ts accepts.
/**
 * The evaluating half of the wire stand-in's SQL: runs a statement parsed by sql-parse.ts
 * against a Catalog (the monitoring views of views.ts, the session's tables of database.ts):
 * joins, filters, ordering, the result columns a prepared statement describes, inserts and
 * upserts with HANA's type coercion and constraint errors, CREATE TABLE.
 */
import type { Column, SqlType, SqlValue } from './values.js';
import {
  HanaSqlError,
  SqlErrorCode,
  lineCol,
  type Expr,
  type Parsed,
  type Predicate,
  type TableRef,
} from './sql-parse.js';

export {
  HanaSqlError,
  NOT_SERVED,
  SqlErrorCode,
  parseSql,
  type Expr,
  type Parsed,
  type Predicate,
  type SelectItem,
  type Statement,
  type TableRef,
} from './sql-parse.js';

// ---- relations and evaluation ----------------------------------------------------------------

export interface Relation {
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly SqlValue[])[];
}

export interface StoredTable extends Relation {
  readonly schema: string;
  readonly name: string;
  readonly primaryKey: readonly string[];
  rows: SqlValue[][];
}

/** Where tables come from: monitoring views, table functions, the session's store. */
export interface Catalog {
  /** A read-only view or table function; undefined when not a view. */
  view(ref: TableRef, args: SqlValue[]): Relation | undefined;
  /** A stored table (the session sees its own uncommitted changes); undefined when absent. */
  table(schema: string, name: string): StoredTable | undefined;
  /** A writable copy of a stored table inside the session's transaction. */
  writable(schema: string, name: string): StoredTable | undefined;
  create(table: StoredTable): void;
  readonly defaultSchema: string;
  readonly now: () => Date;
}

interface Scope {
  readonly alias: string;
  readonly columns: readonly Column[];
  readonly offset: number;
}

function invalidTable(sql: string, ref: TableRef, schema: string): HanaSqlError {
  return new HanaSqlError(
    SqlErrorCode.INVALID_TABLE_NAME,
    `invalid table name:  Could not find table/view ${ref.name} in schema ${schema}: ${lineCol(sql, ref.pos)}`,
    'HY000',
    ref.pos,
  );
}

function resolveColumn(
  sql: string,
  scopes: readonly Scope[],
  expr: Extract<Expr, { kind: 'column' }>,
): { index: number; column: Column } {
  const matches: { index: number; column: Column }[] = [];
  for (const s of scopes) {
    if (expr.qualifier !== undefined && s.alias !== expr.qualifier) continue;
    s.columns.forEach((c, i) => {
      if (c.name === expr.name) matches.push({ index: s.offset + i, column: c });
    });
  }
  const first = matches[0];
  if (!first) {
    const shown = expr.qualifier === undefined ? expr.name : `${expr.qualifier}.${expr.name}`;
    throw new HanaSqlError(
      SqlErrorCode.INVALID_COLUMN_NAME,
      `invalid column name: ${shown}: ${lineCol(sql, expr.pos)}`,
      'HY000',
      expr.pos,
    );
  }
  if (matches.length > 1)
    throw new HanaSqlError(
      268,
      `column ambiguously defined: ${expr.name}: ${lineCol(sql, expr.pos)}`,
      'HY000',
      expr.pos,
    );
  return first;
}

function evaluate(
  sql: string,
  expr: Expr,
  scopes: readonly Scope[],
  row: readonly SqlValue[],
  params: readonly SqlValue[],
  catalog: Catalog,
): SqlValue {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'param':
      return params[expr.index] ?? null;
    case 'now':
      return catalog.now();
    case 'column':
      return row[resolveColumn(sql, scopes, expr).index] ?? null;
  }
}

function compareValues(a: SqlValue, b: SqlValue): number | null {
  if (a === null || b === null) return null;
  if (a instanceof Date || b instanceof Date) {
    const x = a instanceof Date ? a.getTime() : new Date(String(a)).getTime();
    const y = b instanceof Date ? b.getTime() : new Date(String(b)).getTime();
    return x - y;
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = Number(a);
  const y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) {
    const s = String(a);
    const t = String(b);
    return s < t ? -1 : s > t ? 1 : 0;
  }
  return x - y;
}

function test(
  sql: string,
  p: Predicate,
  scopes: readonly Scope[],
  row: readonly SqlValue[],
  params: readonly SqlValue[],
  catalog: Catalog,
): boolean {
  const left = evaluate(sql, p.left, scopes, row, params, catalog);
  if (p.op === 'IN')
    return [p.right, ...(p.list ?? [])].some(
      (e) => compareValues(left, evaluate(sql, e, scopes, row, params, catalog)) === 0,
    );
  const c = compareValues(left, evaluate(sql, p.right, scopes, row, params, catalog));
  if (c === null) return false;
  return p.op === '=' ? c === 0 : c !== 0;
}

function relationOf(sql: string, ref: TableRef, catalog: Catalog, params: readonly SqlValue[]): Relation {
  const args = (ref.args ?? []).map((a) => evaluate(sql, a, [], [], params, catalog));
  const view = catalog.view(ref, args);
  if (view) return view;
  const schema = ref.schema ?? catalog.defaultSchema;
  const table = catalog.table(schema, ref.name);
  if (!table) throw invalidTable(sql, ref, schema);
  return table;
}

/** Output columns of a statement (result set metadata), without running it for data. */
export function describe(parsed: Parsed, catalog: Catalog): { columns: Column[]; paramTypes: Column[] } {
  const st = parsed.statement;
  const paramTypes: Column[] = Array.from({ length: parsed.paramCount }, () => ({
    name: '',
    type: 'NVARCHAR' as SqlType,
    length: 5000,
    nullable: true,
  }));
  if (st.kind === 'select') {
    const scopes = scopesOf(parsed, catalog, []);
    const byParam = (e: Expr, other: Expr) => {
      if (e.kind === 'param' && other.kind === 'column')
        paramTypes[e.index] = { ...resolveColumn(parsed.sql, scopes, other).column, name: '' };
    };
    for (const p of [...st.where, ...st.joins.flatMap((j) => j.on)]) {
      byParam(p.left, p.right);
      byParam(p.right, p.left);
    }
    for (const arg of st.from.args ?? [])
      if (arg.kind === 'param') paramTypes[arg.index] = { name: '', type: 'INTEGER', nullable: false };
    return { columns: selectColumns(parsed, scopes), paramTypes };
  }
  if (st.kind === 'insert') {
    const schema = st.table.schema ?? catalog.defaultSchema;
    const table = catalog.table(schema, st.table.name);
    if (!table) throw invalidTable(parsed.sql, st.table, schema);
    const names = st.columns ?? table.columns.map((c) => c.name);
    st.values.forEach((v, i) => {
      const col = table.columns.find((c) => c.name === names[i]);
      if (v.kind === 'param' && col) paramTypes[v.index] = { ...col, name: col.name };
    });
  }
  return { columns: [], paramTypes };
}

function scopesOf(parsed: Parsed, catalog: Catalog, params: readonly SqlValue[]): Scope[] {
  const st = parsed.statement;
  if (st.kind !== 'select') return [];
  const scopes: Scope[] = [];
  let offset = 0;
  for (const ref of [st.from, ...st.joins.map((j) => j.table)]) {
    const rel = relationOf(
      parsed.sql,
      ref,
      catalog,
      params.length ? params : Array.from({ length: parsed.paramCount }, () => 0),
    );
    scopes.push({ alias: ref.alias, columns: rel.columns, offset });
    offset += rel.columns.length;
  }
  return scopes;
}

function selectColumns(parsed: Parsed, scopes: readonly Scope[]): Column[] {
  const st = parsed.statement;
  if (st.kind !== 'select') return [];
  if (st.items === '*') return scopes.flatMap((s) => s.columns);
  return st.items.map((item) => {
    const e = item.expr;
    let column: Column;
    switch (e.kind) {
      case 'column':
        column = resolveColumn(parsed.sql, scopes, e).column;
        break;
      case 'now':
        column = { name: 'CURRENT_UTCTIMESTAMP', type: 'TIMESTAMP', nullable: false };
        break;
      case 'param':
        column = { name: ':1', type: 'NVARCHAR', length: 5000, nullable: true };
        break;
      case 'literal': {
        const v = e.value;
        const type: SqlType =
          typeof v === 'number'
            ? Number.isInteger(v)
              ? 'INTEGER'
              : 'DOUBLE'
            : typeof v === 'boolean'
              ? 'BOOLEAN'
              : 'NVARCHAR';
        column = { name: v === null ? 'NULL' : String(v), type, nullable: v === null };
        break;
      }
    }
    return item.alias === undefined ? column : { ...column, name: item.alias };
  });
}

export type ExecResult =
  | {
      readonly kind: 'rows';
      readonly columns: readonly Column[];
      readonly rows: readonly (readonly SqlValue[])[];
    }
  | {
      readonly kind: 'count';
      readonly rowsAffected: number;
      /** An UPSERT answers as an UPDATE. */
      readonly functionCode: 'INSERT' | 'UPDATE';
    }
  | { readonly kind: 'ddl' };

function coerce(sql: string, column: Column, value: SqlValue): SqlValue {
  if (value === null) return null;
  switch (column.type) {
    case 'INTEGER':
    case 'TINYINT': {
      const n = Number(value instanceof Date ? value.getTime() : value);
      if (!Number.isFinite(n)) throw new HanaSqlError(339, `invalid number: ${String(value)}`);
      return Math.trunc(n);
    }
    case 'BIGINT':
      return typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value)));
    case 'DOUBLE':
      return Number(value);
    case 'DECIMAL':
      return typeof value === 'string' ? value : String(value);
    case 'BOOLEAN':
      return value === true || value === 1 || value === 'TRUE' || value === 'true';
    case 'TIMESTAMP':
      return value instanceof Date
        ? value
        : new Date(
            typeof value === 'string'
              ? value.replace(' ', 'T') + (/[zZ+]/.test(value) ? '' : 'Z')
              : Number(value),
          );
    case 'NVARCHAR':
    case 'VARCHAR': {
      const s = value instanceof Date ? value.toISOString() : String(value);
      if (column.length !== undefined && s.length > column.length)
        throw new HanaSqlError(274, `inserted value too large for column: ${column.name}`);
      void sql;
      return s;
    }
  }
}

/** Runs one statement with one row of parameters. */
export function execute(parsed: Parsed, catalog: Catalog, params: readonly SqlValue[]): ExecResult {
  const st = parsed.statement;
  const sql = parsed.sql;
  switch (st.kind) {
    case 'select': {
      const relations = [st.from, ...st.joins.map((j) => j.table)].map((ref) =>
        relationOf(sql, ref, catalog, params),
      );
      const scopes: Scope[] = [];
      let offset = 0;
      [st.from, ...st.joins.map((j) => j.table)].forEach((ref, i) => {
        scopes.push({ alias: ref.alias, columns: relations[i]!.columns, offset });
        offset += relations[i]!.columns.length;
      });
      let rows: SqlValue[][] = relations[0]!.rows.map((r) => [...r]);
      st.joins.forEach((join, j) => {
        const right = relations[j + 1]!;
        const visible = scopes.slice(0, j + 2);
        const out: SqlValue[][] = [];
        for (const row of rows) {
          let matched = false;
          for (const r of right.rows) {
            const combined = [...row, ...r];
            if (join.on.every((p) => test(sql, p, visible, combined, params, catalog))) {
              out.push(combined);
              matched = true;
            }
          }
          if (!matched && join.left) out.push([...row, ...right.columns.map(() => null)]);
        }
        rows = out;
      });
      rows = rows.filter((row) => st.where.every((p) => test(sql, p, scopes, row, params, catalog)));
      if (st.orderBy.length) {
        rows.sort((a, b) => {
          for (const o of st.orderBy) {
            const c =
              compareValues(
                evaluate(sql, o.expr, scopes, a, params, catalog),
                evaluate(sql, o.expr, scopes, b, params, catalog),
              ) ?? 0;
            if (c !== 0) return o.desc ? -c : c;
          }
          return 0;
        });
      }
      const columns = selectColumns(parsed, scopes);
      if (st.limit !== undefined) rows = rows.slice(0, st.limit);
      const items = st.items;
      const projected =
        items === '*'
          ? rows
          : rows.map((row) => items.map((item) => evaluate(sql, item.expr, scopes, row, params, catalog)));
      return { kind: 'rows', columns, rows: projected };
    }
    case 'create': {
      const schema = st.table.schema ?? catalog.defaultSchema;
      if (catalog.table(schema, st.table.name) || catalog.view(st.table, []))
        throw new HanaSqlError(
          SqlErrorCode.DUPLICATE_TABLE_NAME,
          `cannot use duplicate table name: ${st.table.name}: ${lineCol(sql, st.table.pos)}`,
        );
      catalog.create({
        schema,
        name: st.table.name,
        columns: st.columns,
        primaryKey: st.primaryKey,
        rows: [],
      });
      return { kind: 'ddl' };
    }
    case 'insert': {
      const schema = st.table.schema ?? catalog.defaultSchema;
      const table = catalog.writable(schema, st.table.name);
      if (!table) {
        if (catalog.view(st.table, []))
          throw new HanaSqlError(
            SqlErrorCode.INSUFFICIENT_PRIVILEGE,
            'insufficient privilege: Not authorized',
          );
        throw invalidTable(sql, st.table, schema);
      }
      const names = st.columns ?? table.columns.map((c) => c.name);
      if (names.length !== st.values.length)
        throw new HanaSqlError(SqlErrorCode.SYNTAX_ERROR, 'sql syntax error: not enough values');
      const row: SqlValue[] = table.columns.map(() => null);
      names.forEach((name, i) => {
        const index = table.columns.findIndex((c) => c.name === name);
        if (index < 0)
          throw new HanaSqlError(SqlErrorCode.INVALID_COLUMN_NAME, `invalid column name: ${name}`);
        row[index] = coerce(
          sql,
          table.columns[index]!,
          evaluate(sql, st.values[i]!, [], [], params, catalog),
        );
      });
      table.columns.forEach((c, i) => {
        if (c.nullable === false && row[i] === null)
          throw new HanaSqlError(
            SqlErrorCode.NOT_NULL_VIOLATED,
            `cannot insert NULL or update to NULL: ${c.name}`,
            '23000',
          );
      });
      const keyIdx = table.primaryKey.map((k) => table.columns.findIndex((c) => c.name === k));
      const existing = keyIdx.length
        ? table.rows.findIndex((r) => keyIdx.every((k) => compareValues(r[k] ?? null, row[k] ?? null) === 0))
        : -1;
      if (existing >= 0) {
        if (!st.upsert)
          throw new HanaSqlError(
            SqlErrorCode.UNIQUE_CONSTRAINT_VIOLATED,
            `unique constraint violated: Table(${table.name}), Index(_SYS_TREE_RS_#PRIMARY)`,
            '23000',
          );
        table.rows[existing] = row;
      } else table.rows.push(row);
      return { kind: 'count', rowsAffected: 1, functionCode: st.upsert ? 'UPDATE' : 'INSERT' };
    }
  }
}

/** Is this statement a write (blocked on a suspended primary or a full log area)? */
export function isWrite(parsed: Parsed): boolean {
  return parsed.statement.kind !== 'select';
}
