/**
 * sapcontrol's list answers: `GetProcessList` and `GetSystemInstanceList`. Both print a blank
 * line, a timestamp, the function name, `OK`, a comma-separated header, then one row per item.
 * A `FAIL: ...` answer (e.g. NIECONN_REFUSED when sapstartsrv is down) throws.
 */
import type { ProcessColour } from '../../domain/types.js';
import { HanaParseError } from './errors.js';
import { emptyCheck, isBlank, type Line } from './text.js';

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
  /** sapcontrol exit code 3 */
  readonly allRunning: boolean;
  /** sapcontrol exit code 4 */
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
  throw new HanaParseError(what, `unknown dispstatus "${value}"`, line.text, line.number);
}

/** Reads the common envelope; returns the header columns and the data lines. */
function readList(
  what: string,
  fn: string,
  text: string,
  requiredColumns: readonly string[],
  /** A free-text column whose value may itself contain ", " (GetProcessList's textstatus). */
  freeText?: string,
) {
  const lines = emptyCheck(what, text);
  let ok = false;
  let columns: string[] | null = null;
  const rows: { cells: string[]; line: Line }[] = [];
  for (const line of lines) {
    const t = line.text.trim();
    if (t === '') continue;
    if (columns) {
      let cells = t.split(',').map((c) => c.trim());
      const free = freeText !== undefined ? columns.indexOf(freeText) : -1;
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
      rows.push({ cells, line });
      continue;
    }
    if (/^FAIL\b/.test(t)) throw new HanaParseError(what, 'sapcontrol answered FAIL', line.text, line.number);
    if (TIMESTAMP.test(t) || t === fn) continue;
    if (t === 'OK') {
      ok = true;
      continue;
    }
    if (ok && t.includes(',')) {
      columns = t.split(',').map((c) => c.trim().toLowerCase());
      for (const c of requiredColumns) {
        if (!columns.includes(c))
          throw new HanaParseError(what, `header has no "${c}" column`, line.text, line.number);
      }
      continue;
    }
    throw new HanaParseError(what, 'unrecognised line', line.text, line.number);
  }
  const last = [...lines].reverse().find((l) => !isBlank(l))!;
  if (!ok) throw new HanaParseError(what, 'no "OK" line', last.text, last.number);
  if (!columns) throw new HanaParseError(what, 'no column header (truncated?)', last.text, last.number);
  return { columns, rows, last };
}

export function parseProcessList(text: string, exitCode?: number): ProcessList {
  const what = 'sapcontrol GetProcessList';
  const { columns, rows, last } = readList(
    what,
    'GetProcessList',
    text,
    ['name', 'dispstatus'],
    'textstatus',
  );
  const at = (name: string) => columns.indexOf(name);
  const processes = rows.map(({ cells, line }) => {
    const get = (name: string) => (at(name) >= 0 ? (cells[at(name)] ?? '') : '');
    const pid = get('pid');
    return {
      name: get('name'),
      description: get('description'),
      dispstatus: colour(what, get('dispstatus'), line),
      textstatus: get('textstatus'),
      starttime: get('starttime'),
      elapsedtime: get('elapsedtime'),
      pid: /^\d+$/.test(pid) ? Number(pid) : null,
    };
  });
  if (processes.length === 0)
    throw new HanaParseError(what, 'no process rows (truncated?)', last.text, last.number);
  const allRunning = processes.every((p) => p.dispstatus === 'GREEN');
  const allStopped = processes.every((p) => p.dispstatus === 'GRAY');
  if (exitCode !== undefined) {
    if (exitCode === 3 && !allRunning)
      throw new HanaParseError(
        what,
        'exit code 3 (all running) but a process is not GREEN',
        last.text,
        last.number,
      );
    if (exitCode === 4 && !allStopped)
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
  const { columns, rows, last } = readList(what, 'GetSystemInstanceList', text, [
    'hostname',
    'instancenr',
    'dispstatus',
  ]);
  if (exitCode !== undefined && exitCode !== 0)
    throw new HanaParseError(what, `exit code ${exitCode}`, last.text, last.number);
  const at = (name: string) => columns.indexOf(name);
  const port = (v: string) => (/^\d+$/.test(v) ? Number(v) : null);
  const list = rows.map(({ cells, line }) => {
    const get = (name: string) => (at(name) >= 0 ? (cells[at(name)] ?? '') : '');
    const nr = get('instancenr');
    if (!/^\d{1,2}$/.test(nr))
      throw new HanaParseError(what, `instance number "${nr}"`, line.text, line.number);
    return {
      hostname: get('hostname'),
      instanceNr: nr.padStart(2, '0'),
      httpPort: port(get('httpport')),
      httpsPort: port(get('httpsport')),
      startPriority: get('startpriority'),
      features: get('features')
        .split('|')
        .filter((f) => f !== ''),
      dispstatus: colour(what, get('dispstatus'), line),
    };
  });
  if (list.length === 0)
    throw new HanaParseError(what, 'no instance rows (truncated?)', last.text, last.number);
  return list;
}
