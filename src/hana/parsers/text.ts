/**
 * Helpers shared by the parsers: line splitting and the pipe tables HANA's python scripts print
 * (header rows, a dashed separator, then data rows). Columns are found by header text, so extra
 * columns and any padding are tolerated; a row with the wrong number of cells is an error.
 */
import { quote } from '../../quote.js';
import { HanaParseError } from './errors.js';

export interface Line {
  readonly text: string;
  /** 1-based */
  readonly number: number;
}

/**
 * Most characters a parser reads: the runner keeps 4 MiB of a command's output, so anything longer
 * did not come from it and is refused before any work.
 */
export const MAX_OUTPUT_CHARS = 4 * 1024 * 1024;

/**
 * Most lines a parser reads. The longest real outputs (a service row per host, service, tenant and
 * secondary) have a few thousand lines; 4 MiB of real output holds fewer than 100,000. More is
 * refused before any parsing, so a text of millions of short lines costs a few milliseconds.
 */
export const MAX_LINES = 131_072;

/**
 * The lines of a text, without trailing white space, made when read: only the start of each line
 * is kept (one pass of indexOf), so a parser that stops at the first line it does not understand
 * pays for that line only, and nothing is retained per line. Every operation is linear in the
 * text (the former `replace(/\s+$/, '')` per line was quadratic on long runs of spaces).
 */
export class Lines implements Iterable<Line> {
  private readonly starts: number[] = [0];

  constructor(
    private readonly what: string,
    private readonly text: string,
  ) {
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) {
      if (this.starts.length >= MAX_LINES) {
        throw new HanaParseError(what, `more than ${MAX_LINES} lines: not an output of this tool`, '', 0);
      }
      this.starts.push(at + 1);
    }
  }

  get length(): number {
    return this.starts.length;
  }

  /** Line `index` (0-based), undefined past the end. */
  at(index: number): Line | undefined {
    if (index < 0 || index >= this.starts.length) return undefined;
    const end = index + 1 < this.starts.length ? this.starts[index + 1]! - 1 : this.text.length;
    return { text: this.text.slice(this.starts[index]!, end).trimEnd(), number: index + 1 };
  }

  *[Symbol.iterator](): Iterator<Line> {
    for (let i = 0; i < this.starts.length; i++) yield this.at(i)!;
  }

  some(predicate: (line: Line) => boolean): boolean {
    for (const line of this) if (predicate(line)) return true;
    return false;
  }

  firstNonBlank(): Line | undefined {
    for (const line of this) if (!isBlank(line)) return line;
    return undefined;
  }

  /** The last line with text (error messages point at it when the output ends too early). */
  lastNonBlank(): Line | undefined {
    for (let i = this.starts.length - 1; i >= 0; i--) {
      const line = this.at(i)!;
      if (!isBlank(line)) return line;
    }
    return undefined;
  }
}

/**
 * Whether some line, trimmed, is exactly `marker`. Linear: each line holding the marker is looked
 * at once (a line that is the marker holds it once, so the search goes on after that line).
 */
export function hasLine(text: string, marker: string): boolean {
  let from = 0;
  for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, from)) {
    const lineStart = text.lastIndexOf('\n', at) + 1;
    let lineEnd = text.indexOf('\n', at + marker.length);
    if (lineEnd < 0) lineEnd = text.length;
    if (text.slice(lineStart, at).trim() === '' && text.slice(at + marker.length, lineEnd).trim() === '')
      return true;
    from = lineEnd + 1;
  }
  return false;
}

export function isBlank(line: Line): boolean {
  return line.text.trim() === '';
}

/** `nameserver host:30001 not responding.` (HANA prints it when the local nameserver is down). */
export const NAMESERVER_NOT_RESPONDING = /^nameserver\s+\S+\s+not responding\.?$/;

export function normalizeHeader(name: string): string {
  // `systemReplicationStatus.py --all` prints raw names (SECONDARY_SITE_NAME): same column.
  return name
    .trim()
    .replace(/[\s_]+/g, ' ')
    .toLowerCase();
}

/**
 * Most rows of one table or list (service rows, hosts, processes, instances, host mappings). The
 * largest real list has a service row per host, service, tenant and secondary: 4096 is 16 hosts x
 * 8 services x 8 tenants x 4 secondaries. Building rows is the costly part of parsing; the bound
 * keeps it to a few tens of milliseconds.
 */
export const MAX_ROWS = 4096;

/** Refuses the row that would make a list longer than MAX_ROWS. */
export function checkRows(what: string, count: number, line: Line): void {
  if (count > MAX_ROWS) throw new HanaParseError(what, `more than ${MAX_ROWS} rows`, line.text, line.number);
}

/**
 * Most sites one output may name. HANA replicates a system to a handful of sites (hanasr's spec
 * allows 8); an output naming more is not a real landscape, and refusing it keeps every list
 * built from it (sites, links) short for the code that reads them.
 */
export const MAX_SITES = 64;

/**
 * Most fields a parser splits one line or value into (table cells, comma-separated fields, words).
 * The widest real line, `systemReplicationStatus.py --all`, has about 50 columns; a line with
 * millions of separators is refused after counting, before an array of millions is made.
 */
export const MAX_FIELDS = 256;

/** `text` split at `separator`, each part trimmed; HanaParseError beyond MAX_FIELDS parts. */
export function splitFields(what: string, text: string, separator: string, line: Line): string[] {
  let count = 1;
  for (let at = text.indexOf(separator); at >= 0; at = text.indexOf(separator, at + 1)) {
    if (++count > MAX_FIELDS) {
      throw new HanaParseError(what, `more than ${MAX_FIELDS} fields in one line`, line.text, line.number);
    }
  }
  const parts = text.split(separator);
  for (let i = 0; i < parts.length; i++) parts[i] = parts[i]!.trim();
  return parts;
}

/** The white-space separated words of a value (host lists); HanaParseError beyond MAX_FIELDS. */
export function words(what: string, value: string, line: Line): string[] {
  const out: string[] = [];
  for (const m of value.matchAll(/\S+/g)) {
    if (out.length === MAX_FIELDS) {
      throw new HanaParseError(what, `more than ${MAX_FIELDS} words in one value`, line.text, line.number);
    }
    out.push(m[0]);
  }
  return out;
}

function cells(what: string, line: Line): string[] | undefined {
  const t = line.text.trim();
  if (!t.startsWith('|')) return undefined;
  const inner = t.endsWith('|') && t.length > 1 ? t.slice(1, -1) : t.slice(1);
  return splitFields(what, inner, '|', line);
}

export function isTableLine(line: Line): boolean {
  return line.text.trim().startsWith('|');
}

function isSeparator(parts: string[]): boolean {
  return parts.length > 0 && parts.every((p) => /^-+$/.test(p));
}

export interface PipeTable {
  /** Normalised column names (header rows joined with a space, lower case). */
  readonly columns: string[];
}

/** Given the table's columns, returns what to do with each data row (rows are not collected). */
export type RowReader = (table: PipeTable) => (cells: string[], line: Line) => void;

/**
 * Reads a pipe table that starts at lines.at(start), handing each data row to the reader as it is
 * read. Returns the index of the first line after the table.
 */
export function readPipeTable(what: string, lines: Lines, start: number, reader: RowReader): number {
  const headerRows: string[][] = [];
  let i = start;
  let separatorSeen = false;
  let width = -1;
  for (; i < lines.length; i++) {
    const line = lines.at(i)!;
    if (!isTableLine(line)) break;
    const parts = cells(what, line)!;
    if (width < 0) width = parts.length;
    if (parts.length !== width) {
      throw new HanaParseError(
        what,
        `table row has ${parts.length} cells, the header has ${width}`,
        line.text,
        line.number,
      );
    }
    if (isSeparator(parts)) {
      separatorSeen = true;
      i++;
      break;
    }
    // Real headers have one to three rows.
    if (headerRows.length === 16)
      throw new HanaParseError(what, 'table header of more than 16 rows', line.text, line.number);
    headerRows.push(parts);
  }
  const first = lines.at(start);
  if (!separatorSeen || headerRows.length === 0) {
    const at = lines.at(Math.min(i, lines.length - 1)) ?? first;
    throw new HanaParseError(
      what,
      'table header without its dashed separator',
      at?.text ?? '',
      at?.number ?? 0,
    );
  }
  const columns = Array.from({ length: width }, (_, c) =>
    normalizeHeader(
      headerRows
        .map((r) => r[c] ?? '')
        .filter((s) => s !== '')
        .join(' '),
    ),
  );
  const onRow = reader({ columns });
  for (let count = 1; i < lines.length; i++, count++) {
    const line = lines.at(i)!;
    if (!isTableLine(line)) break;
    const parts = cells(what, line)!;
    if (parts.length !== width) {
      throw new HanaParseError(
        what,
        `table row has ${parts.length} cells, the header has ${width}`,
        line.text,
        line.number,
      );
    }
    checkRows(what, count, line);
    onRow(parts, line);
  }
  return i;
}

/** Index of the first column whose normalised name is one of `names`; -1 when absent. */
export function columnIndex(table: PipeTable, ...names: string[]): number {
  for (const n of names) {
    const i = table.columns.indexOf(n);
    if (i >= 0) return i;
  }
  return -1;
}

export function requireColumn(what: string, table: PipeTable, headerLine: Line, ...names: string[]): number {
  const i = columnIndex(table, ...names);
  if (i < 0)
    throw new HanaParseError(
      what,
      `table has no ${quote(names[0])} column`,
      headerLine.text,
      headerLine.number,
    );
  return i;
}

/** Splits a `key: value` line; undefined when there is no colon. */
export function keyValue(text: string, separator: ':' | '='): { key: string; value: string } | undefined {
  const at = text.indexOf(separator);
  if (at <= 0) return undefined;
  return { key: text.slice(0, at).trim(), value: text.slice(at + 1).trim() };
}

export function parseBoolWord(what: string, value: string, line: Line): boolean | null {
  const v = value.toLowerCase();
  if (v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no') return false;
  if (v === 'unknown' || v === '') return null;
  throw new HanaParseError(what, `expected true/false, got ${quote(value)}`, line.text, line.number);
}

export function parseIntStrict(what: string, value: string, line: Line): number {
  if (!/^\d+$/.test(value.trim())) {
    throw new HanaParseError(what, `expected a number, got ${quote(value)}`, line.text, line.number);
  }
  return Number(value.trim());
}

/**
 * The text's lines, after the checks every parser makes first (each linear, before any parsing):
 * not longer than the runner keeps, not more lines than a real output has, not empty.
 */
export function emptyCheck(what: string, text: string): Lines {
  if (text.length > MAX_OUTPUT_CHARS) {
    throw new HanaParseError(what, `output longer than ${MAX_OUTPUT_CHARS} characters: not read`, '', 0);
  }
  // \S is what trim() keeps: no such character, only blank lines.
  if (!/\S/.test(text)) throw new HanaParseError(what, 'empty output', '', 0);
  return new Lines(what, text);
}
