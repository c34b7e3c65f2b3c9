// Why this file is long: a stand-in: HANA's error codes, the tokenizer and a recursive-descent parser of the four statement kinds hanasr sends (README.md here lists them).
/**
 * The parsing half of the wire stand-in's SQL (sql.ts runs what this parses): HANA's error
 * codes, the tokenizer, the statements' syntax tree and the parser. It accepts exactly what
 * hanasr and its example app send (README.md next to this file): SELECT (columns or *, one FROM
 * with [LEFT] JOINs, WHERE with AND of = and <>, ORDER BY, LIMIT), INSERT, UPSERT ... WITH
 * PRIMARY KEY and CREATE [COLUMN] TABLE; anything else is HANA's syntax error (257) with a
 * message saying the stand-in does not serve it.
 */
import type { Column, SqlType, SqlValue } from './values.js';

/** A SQL error with HANA's code and SQLSTATE. */
export class HanaSqlError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly sqlState = 'HY000',
    readonly position = 0,
  ) {
    super(message);
    this.name = 'HanaSqlError';
  }
}

export const SqlErrorCode = {
  AUTHENTICATION_FAILED: 10,
  FEATURE_NOT_SUPPORTED: 7,
  SYNTAX_ERROR: 257,
  INSUFFICIENT_PRIVILEGE: 258,
  INVALID_TABLE_NAME: 259,
  INVALID_COLUMN_NAME: 260,
  NOT_NULL_VIOLATED: 287,
  DUPLICATE_TABLE_NAME: 288,
  UNIQUE_CONSTRAINT_VIOLATED: 301,
  INCONSISTENT_DATATYPE: 266,
} as const;

/** Appended to every parse error: the stand-in is not a general SQL engine. */
export const NOT_SERVED =
  'the HANA stand-in serves only the statements hanasr and its example app send: SELECT (=, <>, IN, JOIN, ORDER BY, LIMIT), INSERT, UPSERT, CREATE TABLE and BACKUP (src/standins/hana-wire/README.md)';

// ---- tokens ----------------------------------------------------------------------------------

type Token =
  | { kind: 'word'; text: string; upper: string; pos: number }
  | { kind: 'quoted'; text: string; upper: string; pos: number }
  | { kind: 'string'; text: string; pos: number }
  | { kind: 'number'; text: string; pos: number }
  | { kind: 'param'; pos: number }
  | { kind: 'punct'; text: string; pos: number }
  | { kind: 'end'; pos: number };

export function lineCol(sql: string, pos: number): string {
  const before = sql.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `line ${line} col ${col} (at pos ${pos})`;
}

function syntaxError(sql: string, pos: number): HanaSqlError {
  const near = sql.slice(pos).match(/^\s*(\S+)/)?.[1] ?? 'end of statement';
  return new HanaSqlError(
    SqlErrorCode.SYNTAX_ERROR,
    `sql syntax error: incorrect syntax near "${near.replace(/[,()]+$/, '') || near}": ${lineCol(sql, pos)}`,
    'HY000',
    pos,
  );
}

/** The text between the quote at `start` and its closing quote (a doubled quote stands for one). */
function quoted(sql: string, start: number, pos: number): { text: string; end: number } {
  const q = sql[start]!;
  let j = start + 1;
  let text = '';
  for (;;) {
    if (j >= sql.length) throw syntaxError(sql, pos);
    if (sql[j] === q) {
      if (sql[j + 1] !== q) return { text, end: j + 1 };
      text += q;
      j += 2;
      continue;
    }
    text += sql[j];
    j++;
  }
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      continue;
    }
    const pos = i;
    if (/[A-Za-z_#$]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_#$]/.test(sql[j]!)) j++;
      const text = sql.slice(i, j);
      tokens.push({ kind: 'word', text, upper: text.toUpperCase(), pos });
      i = j;
    } else if (c === '"') {
      const { text, end } = quoted(sql, i, pos);
      tokens.push({ kind: 'quoted', text, upper: text, pos });
      i = end;
    } else if (c === "'") {
      const { text, end } = quoted(sql, i, pos);
      tokens.push({ kind: 'string', text, pos });
      i = end;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^[0-9]*\.?[0-9]*(?:[eE][+-]?[0-9]+)?/.exec(sql.slice(i))!;
      tokens.push({ kind: 'number', text: m[0], pos });
      i += m[0].length;
    } else if (c === '?') {
      tokens.push({ kind: 'param', pos });
      i++;
    } else {
      const two = sql.slice(i, i + 2);
      if (two === '<>' || two === '!=' || two === '<=' || two === '>=') {
        tokens.push({ kind: 'punct', text: two, pos });
        i += 2;
      } else if ('(),.*=<>;+-'.includes(c)) {
        tokens.push({ kind: 'punct', text: c, pos });
        i++;
      } else {
        throw syntaxError(sql, pos);
      }
    }
  }
  tokens.push({ kind: 'end', pos: sql.length });
  return tokens;
}

// ---- AST -------------------------------------------------------------------------------------

export type Expr =
  | { kind: 'column'; qualifier?: string; name: string; pos: number }
  | { kind: 'literal'; value: SqlValue }
  | { kind: 'param'; index: number }
  | { kind: 'now' };

/**
 * `left = right`, `left <> right` or `left IN (right, ...list)`: the only comparisons hanasr's
 * queries make (IN: the backup reader's M_LOG_SEGMENTS states).
 */
export interface Predicate {
  kind: 'compare';
  op: '=' | '<>' | 'IN';
  left: Expr;
  right: Expr;
  /** For IN: the values after the first. */
  list?: Expr[];
}

export interface TableRef {
  name: string;
  schema?: string;
  alias: string;
  args?: Expr[];
  pos: number;
}

export interface SelectItem {
  expr: Expr;
  alias?: string;
}

export type Statement =
  | {
      kind: 'select';
      items: SelectItem[] | '*';
      from: TableRef;
      joins: { table: TableRef; on: Predicate[]; left: boolean }[];
      where: Predicate[];
      orderBy: { expr: Expr; desc: boolean }[];
      limit?: number;
    }
  | { kind: 'insert'; upsert: boolean; table: TableRef; columns?: string[]; values: Expr[] }
  | { kind: 'create'; table: TableRef; columns: Column[]; primaryKey: string[] };

export interface Parsed {
  readonly sql: string;
  readonly statement: Statement;
  readonly paramCount: number;
}

class Parser {
  private i = 0;
  paramCount = 0;
  constructor(
    private readonly sql: string,
    private readonly tokens: Token[],
  ) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }
  private fail(t: Token = this.peek()): never {
    const err = syntaxError(this.sql, t.pos);
    throw new HanaSqlError(err.code, `${err.message}; ${NOT_SERVED}`, err.sqlState, err.position);
  }
  private isWord(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'word' && t.upper === word;
  }
  private acceptWord(word: string): boolean {
    if (this.isWord(word)) {
      this.i++;
      return true;
    }
    return false;
  }
  private expectWord(word: string): void {
    if (!this.acceptWord(word)) this.fail();
  }
  private isPunct(p: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === p;
  }
  private acceptPunct(p: string): boolean {
    if (this.isPunct(p)) {
      this.i++;
      return true;
    }
    return false;
  }
  private expectPunct(p: string): void {
    if (!this.acceptPunct(p)) this.fail();
  }
  private identifier(): string {
    const t = this.next();
    if (t.kind === 'word' || t.kind === 'quoted') return t.upper;
    return this.fail(t);
  }

  parse(): Statement {
    const t = this.peek();
    let statement: Statement;
    if (this.acceptWord('SELECT')) statement = this.select();
    else if (this.acceptWord('INSERT')) {
      this.expectWord('INTO');
      statement = this.insert(false);
    } else if (this.acceptWord('UPSERT')) statement = this.insert(true);
    else if (this.acceptWord('CREATE')) statement = this.create();
    else return this.fail(t);
    this.acceptPunct(';');
    if (this.peek().kind !== 'end') this.fail();
    return statement;
  }

  private select(): Statement {
    let items: SelectItem[] | '*';
    if (this.acceptPunct('*')) items = '*';
    else {
      items = [];
      do {
        const expr = this.expr();
        let alias: string | undefined;
        if (this.acceptWord('AS')) alias = this.identifier();
        else if (this.peek().kind === 'quoted' || (this.peek().kind === 'word' && !this.isWord('FROM')))
          alias = this.identifier();
        items.push(alias === undefined ? { expr } : { expr, alias });
      } while (this.acceptPunct(','));
    }
    this.expectWord('FROM');
    const from = this.tableRef(true);
    const joins: { table: TableRef; on: Predicate[]; left: boolean }[] = [];
    for (;;) {
      let left = false;
      if (this.acceptWord('LEFT')) {
        left = true;
        this.acceptWord('OUTER');
      } else this.acceptWord('INNER');
      if (!this.acceptWord('JOIN')) {
        if (left) this.fail();
        break;
      }
      const table = this.tableRef(true);
      this.expectWord('ON');
      joins.push({ table, on: this.conditions(), left });
    }
    const where = this.where();
    const orderBy: { expr: Expr; desc: boolean }[] = [];
    if (this.acceptWord('ORDER')) {
      this.expectWord('BY');
      do {
        const expr = this.expr();
        const desc = this.acceptWord('DESC');
        if (!desc) this.acceptWord('ASC');
        orderBy.push({ expr, desc });
      } while (this.acceptPunct(','));
    }
    let limit: number | undefined;
    if (this.acceptWord('LIMIT')) {
      const t = this.next();
      if (t.kind !== 'number') this.fail(t);
      limit = Number(t.text);
    }
    return limit === undefined
      ? { kind: 'select', items, from, joins, where, orderBy }
      : { kind: 'select', items, from, joins, where, orderBy, limit };
  }

  private tableRef(allowAlias: boolean, allowArgs = allowAlias): TableRef {
    const pos = this.peek().pos;
    let name = this.identifier();
    let schema: string | undefined;
    if (this.acceptPunct('.')) {
      schema = name;
      name = this.identifier();
    }
    let args: Expr[] | undefined;
    if (allowArgs && this.acceptPunct('(')) {
      args = [];
      if (!this.isPunct(')')) {
        do args.push(this.expr());
        while (this.acceptPunct(','));
      }
      this.expectPunct(')');
    }
    let alias = name;
    const reserved = ['WHERE', 'JOIN', 'INNER', 'LEFT', 'ON', 'ORDER', 'LIMIT', 'SET', 'VALUES', 'WITH'];
    if (allowAlias) {
      if (this.acceptWord('AS')) alias = this.identifier();
      else if (
        this.peek().kind === 'quoted' ||
        (this.peek().kind === 'word' && !reserved.some((w) => this.isWord(w)))
      )
        alias = this.identifier();
    }
    const ref: TableRef = { name, alias, pos };
    if (schema !== undefined) ref.schema = schema;
    if (args !== undefined) ref.args = args;
    return ref;
  }

  private where(): Predicate[] {
    return this.acceptWord('WHERE') ? this.conditions() : [];
  }

  private conditions(): Predicate[] {
    const out: Predicate[] = [];
    do out.push(this.predicate());
    while (this.acceptWord('AND'));
    return out;
  }

  private predicate(): Predicate {
    const left = this.expr();
    if (this.acceptWord('IN')) {
      this.expectPunct('(');
      const right = this.expr();
      const list: Expr[] = [];
      while (this.acceptPunct(',')) list.push(this.expr());
      this.expectPunct(')');
      return { kind: 'compare', op: 'IN', left, right, list };
    }
    const t = this.next();
    if (t.kind !== 'punct' || (t.text !== '=' && t.text !== '<>')) return this.fail(t);
    return { kind: 'compare', op: t.text, left, right: this.expr() };
  }

  private expr(): Expr {
    const t = this.next();
    if (t.kind === 'param') return { kind: 'param', index: this.paramCount++ };
    if (t.kind === 'string') return { kind: 'literal', value: t.text };
    if (t.kind === 'number')
      return { kind: 'literal', value: /[.eE]/.test(t.text) ? Number(t.text) : Number(t.text) };
    if (t.kind === 'punct' && t.text === '-') {
      const n = this.next();
      if (n.kind !== 'number') this.fail(n);
      return { kind: 'literal', value: -Number(n.text) };
    }
    if (t.kind === 'word') {
      if (t.upper === 'NULL') return { kind: 'literal', value: null };
      if (t.upper === 'TRUE' || t.upper === 'FALSE') return { kind: 'literal', value: t.upper === 'TRUE' };
      if (t.upper === 'CURRENT_TIMESTAMP' || t.upper === 'CURRENT_UTCTIMESTAMP') return { kind: 'now' };
    }
    if (t.kind === 'word' || t.kind === 'quoted') {
      if (this.acceptPunct('.')) {
        const name = this.identifier();
        return { kind: 'column', qualifier: t.upper, name, pos: t.pos };
      }
      return { kind: 'column', name: t.upper, pos: t.pos };
    }
    return this.fail(t);
  }

  private insert(upsert: boolean): Statement {
    const table = this.tableRef(false);
    let columns: string[] | undefined;
    if (this.acceptPunct('(')) {
      columns = [];
      do columns.push(this.identifier());
      while (this.acceptPunct(','));
      this.expectPunct(')');
    }
    this.expectWord('VALUES');
    this.expectPunct('(');
    const values: Expr[] = [];
    do values.push(this.expr());
    while (this.acceptPunct(','));
    this.expectPunct(')');
    if (upsert && this.acceptWord('WITH')) {
      this.expectWord('PRIMARY');
      this.expectWord('KEY');
    }
    return columns === undefined
      ? { kind: 'insert', upsert, table, values }
      : { kind: 'insert', upsert, table, columns, values };
  }

  private create(): Statement {
    if (!this.acceptWord('COLUMN')) this.acceptWord('ROW');
    this.expectWord('TABLE');
    const table = this.tableRef(false);
    this.expectPunct('(');
    const columns: Column[] = [];
    const primaryKey: string[] = [];
    do {
      if (this.acceptWord('PRIMARY')) {
        this.expectWord('KEY');
        this.expectPunct('(');
        do primaryKey.push(this.identifier());
        while (this.acceptPunct(','));
        this.expectPunct(')');
        continue;
      }
      const name = this.identifier();
      const typeToken = this.peek();
      const typeName = this.identifier();
      const sizes: number[] = [];
      if (this.acceptPunct('(')) {
        do {
          const n = this.next();
          if (n.kind !== 'number') this.fail(n);
          sizes.push(Number(n.text));
        } while (this.acceptPunct(','));
        this.expectPunct(')');
      }
      const type = sqlType(typeName);
      if (!type) this.fail(typeToken);
      let nullable = true;
      for (;;) {
        if (this.acceptWord('NOT')) {
          this.expectWord('NULL');
          nullable = false;
        } else if (this.acceptWord('NULL')) nullable = true;
        else if (this.acceptWord('PRIMARY')) {
          this.expectWord('KEY');
          primaryKey.push(name);
          nullable = false;
        } else break;
      }
      const column: { -readonly [K in keyof Column]: Column[K] } = { name, type, nullable };
      if (sizes[0] !== undefined) column.length = sizes[0];
      if (sizes[1] !== undefined) column.scale = sizes[1];
      columns.push(column);
    } while (this.acceptPunct(','));
    this.expectPunct(')');
    return { kind: 'create', table, columns, primaryKey };
  }
}

function sqlType(name: string): SqlType | undefined {
  switch (name) {
    case 'NVARCHAR':
    case 'NCHAR':
    case 'SHORTTEXT':
    case 'ALPHANUM':
      return 'NVARCHAR';
    case 'VARCHAR':
    case 'CHAR':
      return 'VARCHAR';
    case 'INTEGER':
    case 'INT':
    case 'SMALLINT':
      return 'INTEGER';
    case 'BIGINT':
      return 'BIGINT';
    case 'TINYINT':
      return 'TINYINT';
    case 'DOUBLE':
    case 'REAL':
    case 'FLOAT':
      return 'DOUBLE';
    case 'DECIMAL':
    case 'DEC':
    case 'SMALLDECIMAL':
      return 'DECIMAL';
    case 'TIMESTAMP':
    case 'SECONDDATE':
    case 'LONGDATE':
      return 'TIMESTAMP';
    case 'BOOLEAN':
      return 'BOOLEAN';
    default:
      return undefined;
  }
}

export function parseSql(sql: string): Parsed {
  const parser = new Parser(sql, tokenize(sql));
  const statement = parser.parse();
  return { sql, statement, paramCount: parser.paramCount };
}
