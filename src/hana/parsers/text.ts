/**
 * Helpers shared by the parsers: line splitting and the pipe tables HANA's python scripts print
 * (header rows, a dashed separator, then data rows). Columns are found by header text, so extra
 * columns and any padding are tolerated; a row with the wrong number of cells is an error.
 */
import { HanaParseError } from './errors.js';

export interface Line {
  readonly text: string;
  /** 1-based */
  readonly number: number;
}

export function toLines(text: string): Line[] {
  return text.split(/\r?\n/).map((t, i) => ({ text: t.replace(/\s+$/, ''), number: i + 1 }));
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

function cells(text: string): string[] | undefined {
  const t = text.trim();
  if (!t.startsWith('|')) return undefined;
  const inner = t.endsWith('|') && t.length > 1 ? t.slice(1, -1) : t.slice(1);
  return inner.split('|').map((c) => c.trim());
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
  readonly rows: { readonly cells: string[]; readonly line: Line }[];
}

/**
 * Reads a pipe table that starts at lines[start]. Returns the table and the index of the first
 * line after it.
 */
export function readPipeTable(
  what: string,
  lines: Line[],
  start: number,
): { table: PipeTable; next: number } {
  const headerRows: string[][] = [];
  let i = start;
  let separatorSeen = false;
  let width = -1;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (!isTableLine(line)) break;
    const parts = cells(line.text)!;
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
    headerRows.push(parts);
  }
  const first = lines[start];
  if (!separatorSeen || headerRows.length === 0) {
    const at = lines[Math.min(i, lines.length - 1)] ?? first;
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
  const rows: PipeTable['rows'][number][] = [];
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (!isTableLine(line)) break;
    const parts = cells(line.text)!;
    if (parts.length !== width) {
      throw new HanaParseError(
        what,
        `table row has ${parts.length} cells, the header has ${width}`,
        line.text,
        line.number,
      );
    }
    rows.push({ cells: parts, line });
  }
  return { table: { columns, rows }, next: i };
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
    throw new HanaParseError(what, `table has no "${names[0]}" column`, headerLine.text, headerLine.number);
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
  throw new HanaParseError(what, `expected true/false, got "${value}"`, line.text, line.number);
}

export function parseIntStrict(what: string, value: string, line: Line): number {
  if (!/^\d+$/.test(value.trim())) {
    throw new HanaParseError(what, `expected a number, got "${value}"`, line.text, line.number);
  }
  return Number(value.trim());
}

export function emptyCheck(what: string, text: string): Line[] {
  const lines = toLines(text);
  if (lines.every(isBlank)) throw new HanaParseError(what, 'empty output', '', 0);
  return lines;
}
