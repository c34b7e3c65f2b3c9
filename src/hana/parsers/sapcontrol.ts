/**
 * sapcontrol's list answers: `GetProcessList` and `GetSystemInstanceList`. Both print a blank
 * line, a timestamp, the function name, `OK`, a comma-separated header, then one row per item.
 * A `FAIL: ...` answer (e.g. NIECONN_REFUSED when sapstartsrv is down) throws.
 */
import type { ProcessColour } from '../../domain/types.js';
import { quote } from '../../quote.js';
import { HanaParseError } from './errors.js';
import { checkRows, emptyCheck, splitFields, type Line } from './text.js';

export interface SapProcess {
  readonly name: string;
  readonly description: string;
  readonly dispstatus: ProcessColour;
  readonly textstatus: string;
  readonly starttime: string;
  readonly elapsedtime: string;
  readonly pid: number | null;
}

export interface ProcessList {
  readonly processes: readonly SapProcess[];
  /**
   * Every process GREEN and sapcontrol's exit code 3, the only code that means "all running";
   * false without an exit code.
   */
  readonly allRunning: boolean;
  /** Every process GRAY and exit code 4 ("all stopped"); false without an exit code. */
  readonly allStopped: boolean;
}

export interface SapInstance {
  readonly hostname: string;
  readonly instanceNr: string;
  readonly httpPort: number | null;
  readonly httpsPort: number | null;
  readonly startPriority: string;
  readonly features: readonly string[];
  readonly dispstatus: ProcessColour;
}

const COLOURS: readonly string[] = ['GREEN', 'YELLOW', 'RED', 'GRAY'];
/**
 * sapcontrol's header timestamp follows the host's locale: `23.03.2015 13:59:27` (default),
 * `2015-03-23 13:59:27`, `03/23/2015 01:59:27 PM`, ... Any date and time of day is accepted there;
 * it is not used.
 */
const TIMESTAMP =
  /^\d{1,4}[./-]\d{1,2}[./-]\d{1,4},?[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?[AaPp]\.?[Mm]\.?)?$/;

function colour(what: string, value: string, line: Line): ProcessColour {
  const v = value
    .trim()
    .toUpperCase()
    .replace(/^SAPCONTROL-/, '');
  if (COLOURS.includes(v)) return v as ProcessColour;
  throw new HanaParseError(what, `unknown dispstatus ${quote(value)}`, line.text, line.number);
}

/** Cell `i` of a row; empty when the column is absent (-1). */
const cell = (cells: readonly string[], i: number): string => (i < 0 ? '' : (cells[i] ?? ''));
const port = (v: string): number | null => (/^\d+$/.test(v) ? Number(v) : null);

/**
 * Reads the common envelope; hands each data row to the reader made from the header's columns
 * (rows are not collected). Returns the last line with text.
 */
function readList(
  what: string,
  fn: string,
  text: string,
  requiredColumns: readonly string[],
  /** A free-text column whose value may itself contain ", " (GetProcessList's textstatus). */
  freeText: string | undefined,
  reader: (columns: readonly string[]) => (cells: string[], line: Line) => void,
): Line {
  const lines = emptyCheck(what, text);
  let ok = false;
  let columns: string[] | null = null;
  let freeColumn = -1;
  let onRow: (cells: string[], line: Line) => void = () => undefined;
  let rows = 0;
  for (const line of lines) {
    const t = line.text.trim();
    if (t === '') continue;
    if (columns) {
      let cells = splitFields(what, t, ',', line);
      const free = freeColumn;
      if (free >= 0 && cells.length > columns.length) {
        // The fields left and right of the free text are fixed; what is left over is the text.
        const extra = cells.length - columns.length;
        cells = [
          ...cells.slice(0, free),
          cells.slice(free, free + extra + 1).join(', '),
          ...cells.slice(free + extra + 1),
        ];
      }
      if (cells.length !== columns.length) {
        throw new HanaParseError(
          what,
          `row has ${cells.length} fields, the header has ${columns.length}`,
          line.text,
          line.number,
        );
      }
      checkRows(what, ++rows, line);
      onRow(cells, line);
      continue;
    }
    if (/^FAIL\b/.test(t)) throw new HanaParseError(what, 'sapcontrol answered FAIL', line.text, line.number);
    if (TIMESTAMP.test(t) || t === fn) continue;
    if (t === 'OK') {
      ok = true;
      continue;
    }
    if (ok && t.includes(',')) {
      columns = splitFields(what, t, ',', line).map((c) => c.toLowerCase());
      freeColumn = freeText !== undefined ? columns.indexOf(freeText) : -1;
      for (const c of requiredColumns) {
        if (!columns.includes(c))
          throw new HanaParseError(what, `header has no ${quote(c)} column`, line.text, line.number);
      }
      onRow = reader(columns);
      continue;
    }
    throw new HanaParseError(what, 'unrecognised line', line.text, line.number);
  }
  const last = lines.lastNonBlank()!;
  if (!ok) throw new HanaParseError(what, 'no "OK" line', last.text, last.number);
  if (!columns) throw new HanaParseError(what, 'no column header (truncated?)', last.text, last.number);
  return last;
}

export function parseProcessList(text: string, exitCode?: number): ProcessList {
  const what = 'sapcontrol GetProcessList';
  const processes: SapProcess[] = [];
  const last = readList(what, 'GetProcessList', text, ['name', 'dispstatus'], 'textstatus', (columns) => {
    const col = {
      name: columns.indexOf('name'),
      description: columns.indexOf('description'),
      dispstatus: columns.indexOf('dispstatus'),
      textstatus: columns.indexOf('textstatus'),
      starttime: columns.indexOf('starttime'),
      elapsedtime: columns.indexOf('elapsedtime'),
      pid: columns.indexOf('pid'),
    };
    return (cells, line) => {
      const pid = cell(cells, col.pid);
      processes.push({
        name: cell(cells, col.name),
        description: cell(cells, col.description),
        dispstatus: colour(what, cell(cells, col.dispstatus), line),
        textstatus: cell(cells, col.textstatus),
        starttime: cell(cells, col.starttime),
        elapsedtime: cell(cells, col.elapsedtime),
        pid: /^\d+$/.test(pid) ? Number(pid) : null,
      });
    };
  });
  if (processes.length === 0)
    throw new HanaParseError(what, 'no process rows (truncated?)', last.text, last.number);
  const green = processes.every((p) => p.dispstatus === 'GREEN');
  const gray = processes.every((p) => p.dispstatus === 'GRAY');
  // sapcontrol documents 3 (all running) and 4 (all stopped) for GetProcessList; 0 is anything in
  // between. Rows that all say GREEN under exit code 0 do not make "all running": worse wins.
  const allRunning = exitCode === 3 && green;
  const allStopped = exitCode === 4 && gray;
  if (exitCode !== undefined) {
    if (exitCode === 3 && !green)
      throw new HanaParseError(
        what,
        'exit code 3 (all running) but a process is not GREEN',
        last.text,
        last.number,
      );
    if (exitCode === 4 && !gray)
      throw new HanaParseError(
        what,
        'exit code 4 (all stopped) but a process is not GRAY',
        last.text,
        last.number,
      );
    if (exitCode !== 0 && exitCode !== 3 && exitCode !== 4) {
      throw new HanaParseError(what, `exit code ${exitCode} is not 0, 3 or 4`, last.text, last.number);
    }
  }
  return { processes, allRunning, allStopped };
}

export function parseSystemInstanceList(text: string, exitCode?: number): SapInstance[] {
  const what = 'sapcontrol GetSystemInstanceList';
  const list: SapInstance[] = [];
  const required = ['hostname', 'instancenr', 'dispstatus'];
  const last = readList(what, 'GetSystemInstanceList', text, required, undefined, (columns) => {
    const col = {
      hostname: columns.indexOf('hostname'),
      instanceNr: columns.indexOf('instancenr'),
      httpPort: columns.indexOf('httpport'),
      httpsPort: columns.indexOf('httpsport'),
      startPriority: columns.indexOf('startpriority'),
      features: columns.indexOf('features'),
      dispstatus: columns.indexOf('dispstatus'),
    };
    return (cells, line) => {
      const nr = cell(cells, col.instanceNr);
      if (!/^\d{1,2}$/.test(nr))
        throw new HanaParseError(what, `instance number ${quote(nr)}`, line.text, line.number);
      list.push({
        hostname: cell(cells, col.hostname),
        instanceNr: nr.padStart(2, '0'),
        httpPort: port(cell(cells, col.httpPort)),
        httpsPort: port(cell(cells, col.httpsPort)),
        startPriority: cell(cells, col.startPriority),
        features: splitFields(what, cell(cells, col.features), '|', line).filter((f) => f !== ''),
        dispstatus: colour(what, cell(cells, col.dispstatus), line),
      });
    };
  });
  if (exitCode !== undefined && exitCode !== 0)
    throw new HanaParseError(what, `exit code ${exitCode}`, last.text, last.number);
  if (list.length === 0)
    throw new HanaParseError(what, 'no instance rows (truncated?)', last.text, last.number);
  return list;
}
