/**
 * `HDBSettings.sh landscapeHostConfiguration.py`: a host table, `overall host status: X`, and the
 * exit code 0 FATAL, 1 ERROR, 2 WARNING, 3 INFO, 4 OK. The exit code is what SAPHanaSR trusts;
 * the text must agree with it.
 */
import { landscapeStatusNames, type LandscapeStatus } from '../../domain/types.js';
import { quote } from '../../quote.js';
import { HanaParseError } from './errors.js';
import {
  emptyCheck,
  isTableLine,
  NAMESERVER_NOT_RESPONDING,
  readPipeTable,
  requireColumn,
  type Line,
} from './text.js';

const WHAT = 'landscapeHostConfiguration.py';

export interface LandscapeHost {
  readonly host: string;
  /** yes / no / ? */
  readonly active: string;
  /** ok / info / warning / error / ignore / ? */
  readonly status: string;
  /** Every column by its normalised header (e.g. "nameserver actual role"). */
  readonly columns: Readonly<Record<string, string>>;
}

export interface LandscapeHostConfiguration {
  readonly hosts: readonly LandscapeHost[];
  readonly overall: LandscapeStatus;
  readonly overallText: string;
  readonly nameserverNotResponding: boolean;
}

function statusFromWord(word: string, line: Line): LandscapeStatus {
  const i = (landscapeStatusNames as readonly string[]).indexOf(word.trim().toUpperCase());
  if (i < 0)
    throw new HanaParseError(WHAT, `unknown overall host status ${quote(word)}`, line.text, line.number);
  return i as LandscapeStatus;
}

const OVERALL = /^overall host status:\s*(\S+)$/i;

function byName(columns: readonly string[], cells: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let k = 0; k < columns.length; k++) out[columns[k]!] = cells[k] ?? '';
  return out;
}

export function parseLandscapeHostConfiguration(text: string, exitCode?: number): LandscapeHostConfiguration {
  const lines = emptyCheck(WHAT, text);
  const last = lines.lastNonBlank()!;
  if (exitCode !== undefined && !(exitCode >= 0 && exitCode <= 4 && Number.isInteger(exitCode))) {
    throw new HanaParseError(WHAT, `exit code ${exitCode} is not one of 0-4`, last.text, last.number);
  }
  let hosts: LandscapeHost[] | null = null;
  let overall: LandscapeStatus | null = null;
  let overallText = '';
  let overallLine: Line | null = null;
  let nameserverNotResponding = false;
  let i = 0;
  while (i < lines.length) {
    const line = lines.at(i)!;
    const t = line.text.trim();
    if (t === '') {
      i++;
      continue;
    }
    if (isTableLine(line)) {
      if (hosts) throw new HanaParseError(WHAT, 'a second table', line.text, line.number);
      const list: LandscapeHost[] = [];
      i = readPipeTable(WHAT, lines, i, (table) => {
        const hostCol = requireColumn(WHAT, table, line, 'host');
        const activeCol = requireColumn(WHAT, table, line, 'host active');
        const statusCol = requireColumn(WHAT, table, line, 'host status');
        return (cells) =>
          list.push({
            host: cells[hostCol]!,
            active: cells[activeCol]!,
            status: cells[statusCol]!,
            columns: byName(table.columns, cells),
          });
      });
      hosts = list;
      continue;
    }
    const m = OVERALL.exec(t);
    if (m) {
      overallText = m[1]!.toLowerCase();
      overall = statusFromWord(m[1]!, line);
      overallLine = line;
    } else if (NAMESERVER_NOT_RESPONDING.test(t)) {
      nameserverNotResponding = true;
    } else {
      throw new HanaParseError(WHAT, 'unrecognised line', line.text, line.number);
    }
    i++;
  }
  if (hosts === null) throw new HanaParseError(WHAT, 'no host table', last.text, last.number);
  if (hosts.length === 0)
    throw new HanaParseError(WHAT, 'host table without any host (truncated?)', last.text, last.number);
  if (overall === null || overallLine === null) {
    throw new HanaParseError(WHAT, 'no "overall host status" line (truncated?)', last.text, last.number);
  }
  if (exitCode !== undefined && exitCode !== overall) {
    throw new HanaParseError(
      WHAT,
      `overall host status ${quote(overallText)} contradicts exit code ${exitCode}`,
      overallLine.text,
      overallLine.number,
    );
  }
  return { hosts, overall, overallText, nameserverNotResponding };
}
