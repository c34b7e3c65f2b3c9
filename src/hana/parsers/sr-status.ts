// Why this file is long: two formats of systemReplicationStatus.py with its exit codes and the published variants; unknown text counts against a site.
/**
 * `HDBSettings.sh systemReplicationStatus.py` (table form and `--sapcontrol=1` key=value form),
 * read together with its exit code: 10 NoHSR, 11 ERROR, 12 UNKNOWN, 13 INITIALIZING, 14 SYNCING,
 * 15 ACTIVE. Where the text and the exit code disagree, the text is not trusted.
 *
 * SAP's script computes each secondary site's status as the worst of its service rows, the overall
 * status as the worst of the sites, and exits with the overall status. The parser checks the text
 * against that: an exit code that contradicts the overall line is refused; a row, site line or
 * overall line that disagrees with the others makes the affected links as bad as the worst of them
 * (worse wins), and a worse status the text does not tie to one link applies to every link.
 */
import { replicationModes } from '../../api/spec.js';
import { replicationStatuses, type ReplicationMode, type ReplicationStatus } from '../../domain/types.js';
import { quote } from '../../quote.js';
import { HanaParseError } from './errors.js';
import {
  checkRows,
  emptyCheck,
  hasLine,
  isTableLine,
  keyValue,
  MAX_SITES,
  NAMESERVER_NOT_RESPONDING,
  parseIntStrict,
  readPipeTable,
  requireColumn,
  columnIndex,
  words,
  type Line,
  type Lines,
  type PipeTable,
} from './text.js';

const WHAT = 'systemReplicationStatus.py';

/** Exit code -> status (10 is NoHSR: no overall status). */
export const srStatusExitCodes: Readonly<Record<number, ReplicationStatus | 'NoHSR'>> = {
  10: 'NoHSR',
  11: 'ERROR',
  12: 'UNKNOWN',
  13: 'INITIALIZING',
  14: 'SYNCING',
  15: 'ACTIVE',
};

/** One service row (one per service and secondary). */
export interface SrServiceRow {
  readonly database: string | null;
  readonly host: string | null;
  readonly port: number | null;
  readonly serviceName: string | null;
  readonly siteId: number | null;
  readonly siteName: string;
  readonly secondaryHost: string | null;
  readonly secondarySiteId: number | null;
  readonly secondarySiteName: string;
  /** YES / NO / CONNECTION TIMEOUT / PRIMARY ...; null when the column is absent. */
  readonly secondaryActiveStatus: string | null;
  /** null when the row shows no mode (e.g. `IS PRIMARY (e.g. after takeover)`). */
  readonly replicationMode: ReplicationMode | null;
  /** null when the row shows no status (counts as not in sync). */
  readonly replicationStatus: ReplicationStatus | null;
  readonly replicationStatusDetails: string;
  /**
   * `Secondary Fully Synced`; null when the column is absent. A cell without a value (`?`, empty)
   * is false: not known to be in sync.
   */
  readonly fullySynced: boolean | null;
  /** Log positions, only in the --sapcontrol=1 form. */
  readonly lastLogPosition: number | null;
  readonly shippedLogPosition: number | null;
}

/** Services of one source -> secondary pair merged; status is the worst of its rows. */
export interface SrLinkStatus {
  readonly sourceSiteId: number | null;
  readonly sourceSite: string;
  readonly secondarySiteId: number | null;
  readonly secondarySite: string;
  readonly mode: ReplicationMode | null;
  readonly status: ReplicationStatus;
  readonly statusDetails: string;
  readonly secondaryActive: boolean;
  readonly fullySynced: boolean | null;
}

export interface SrLocalState {
  readonly mode: string;
  readonly siteId: number | null;
  readonly siteName: string | null;
  readonly activePrimarySite: number | null;
  readonly primaryMasters: readonly string[];
}

export interface SystemReplicationStatus {
  readonly form: 'table' | 'sapcontrol';
  /**
   * primary: the table and overall status of a source site; not-primary: "this system is either
   * not running or not primary"; no-sr: "this system is not a system replication site".
   */
  readonly kind: 'primary' | 'not-primary' | 'no-sr';
  readonly exitCode: number | null;
  readonly nameserverNotResponding: boolean;
  readonly services: readonly SrServiceRow[];
  readonly links: readonly SrLinkStatus[];
  /** `status system replication site "N": X` */
  readonly siteStatus: ReadonlyMap<number, ReplicationStatus>;
  /** NONE for a primary without any secondary; null when not a primary. */
  readonly overall: ReplicationStatus | 'NONE' | null;
  readonly local: SrLocalState | null;
}

function parseStatusWord(value: string, line: Line): ReplicationStatus {
  const v = value.trim().toUpperCase();
  if ((replicationStatuses as readonly string[]).includes(v)) return v as ReplicationStatus;
  throw new HanaParseError(WHAT, `unknown replication status ${quote(value)}`, line.text, line.number);
}

function worst(a: ReplicationStatus, b: ReplicationStatus): ReplicationStatus {
  return replicationStatuses.indexOf(a) <= replicationStatuses.indexOf(b) ? a : b;
}

/** SAP's script prints `?` in a cell whose value the nameserver did not return. */
const isMissing = (v: string) => v === '' || v === '?' || v === '-';

function rowMode(value: string, line: Line): ReplicationMode | null {
  const v = value.trim().toLowerCase();
  // A row whose secondary cannot be reached prints UNKNOWN as its mode (tier 3 behind a lost tier 2).
  if (isMissing(v) || v === 'unknown') return null;
  if ((replicationModes as readonly string[]).includes(v)) return v as ReplicationMode;
  throw new HanaParseError(WHAT, `unknown replication mode ${quote(value)}`, line.text, line.number);
}

function rowStatus(value: string, line: Line): ReplicationStatus | null | 'SKIP' {
  const v = value.trim().toUpperCase();
  // No status (or `?`) counts as not in sync, never as ACTIVE.
  if (v === '' || v === '?') return null;
  // SAP's own script leaves these out of the overall status.
  if (v === 'STOPPED' || v === 'TENANTCOPY') return 'SKIP';
  return parseStatusWord(v, line);
}

function fullySyncedWord(value: string, line: Line): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  // `?` (the nameserver gave no value) or an empty cell: not known to be in sync.
  if (v === 'false' || isMissing(v)) return false;
  throw new HanaParseError(
    WHAT,
    `expected True/False in "Secondary Fully Synced", got ${quote(value)}`,
    line.text,
    line.number,
  );
}

function optionalInt(value: string | undefined, line: Line): number | null {
  if (value === undefined || isMissing(value.trim())) return null;
  return parseIntStrict(WHAT, value, line);
}

/** Merges service rows into links (one per source/secondary pair), in order of first appearance. */
export function linksFromRows(
  rows: readonly SrServiceRow[],
  siteStatus: ReadonlyMap<number, ReplicationStatus>,
): SrLinkStatus[] {
  const byKey = new Map<string, SrServiceRow[]>();
  for (const row of rows) {
    const key = `${row.siteName}\u0000${row.secondarySiteId ?? row.secondarySiteName}`;
    const list = byKey.get(key) ?? [];
    list.push(row);
    byKey.set(key, list);
  }
  const links: SrLinkStatus[] = [];
  for (const list of byKey.values()) {
    const first = list[0]!;
    let status: ReplicationStatus = 'ACTIVE';
    let mode: ReplicationMode | null = null;
    let modeConflict = false;
    let secondaryActive = true;
    let fullySynced: boolean | null = true;
    const details = new Set<string>();
    for (const r of list) {
      status = worst(status, r.replicationStatus ?? 'UNKNOWN');
      if (r.replicationMode !== null) {
        if (mode !== null && mode !== r.replicationMode) modeConflict = true;
        mode ??= r.replicationMode;
      }
      if (r.secondaryActiveStatus !== null && r.secondaryActiveStatus.toUpperCase() !== 'YES')
        secondaryActive = false;
      if (r.fullySynced === false) fullySynced = false;
      else if (r.fullySynced === null && fullySynced === true) fullySynced = null;
      if (r.replicationStatusDetails !== '') details.add(r.replicationStatusDetails);
    }
    if (modeConflict) status = worst(status, 'UNKNOWN');
    const perSite = first.secondarySiteId !== null ? siteStatus.get(first.secondarySiteId) : undefined;
    if (perSite !== undefined && first.siteName !== '' && list.length > 0) status = worst(status, perSite);
    links.push({
      sourceSiteId: first.siteId,
      sourceSite: first.siteName,
      secondarySiteId: first.secondarySiteId,
      secondarySite: first.secondarySiteName,
      mode: modeConflict ? null : mode,
      status,
      statusDetails: [...details].join('; '),
      secondaryActive,
      fullySynced,
    });
  }
  return links;
}

/** Cell `i` of a row; undefined when the column is absent (-1). */
function cellOf(cells: readonly string[], i: number): string | undefined {
  return i >= 0 ? (cells[i] ?? '') : undefined;
}

function rowsFromTable(lines: Lines, start: number): { rows: SrServiceRow[]; next: number } {
  const header = lines.at(start)!;
  const rows: SrServiceRow[] = [];
  const next = readPipeTable(WHAT, lines, start, (table) => {
    const col = columnsOf(table, header);
    return (cells, line) => {
      const row = rowFromCells(col, cells, line);
      if (row) rows.push(row);
    };
  });
  return { rows, next };
}

function columnsOf(table: PipeTable, header: Line) {
  return {
    database: columnIndex(table, 'database'),
    host: columnIndex(table, 'host'),
    port: columnIndex(table, 'port'),
    service: columnIndex(table, 'service name'),
    siteId: columnIndex(table, 'site id'),
    siteName: requireColumn(WHAT, table, header, 'site name'),
    secHost: columnIndex(table, 'secondary host'),
    secSiteId: columnIndex(table, 'secondary site id'),
    secSiteName: requireColumn(WHAT, table, header, 'secondary site name'),
    secActive: columnIndex(table, 'secondary active status'),
    mode: requireColumn(WHAT, table, header, 'replication mode'),
    status: requireColumn(WHAT, table, header, 'replication status'),
    details: columnIndex(table, 'replication status details', 'replication details'),
    synced: columnIndex(table, 'secondary fully synced'),
  };
}

/** One service row; undefined for rows SAP's script leaves out (STOPPED, TENANTCOPY). */
function rowFromCells(
  col: ReturnType<typeof columnsOf>,
  cells: string[],
  line: Line,
): SrServiceRow | undefined {
  const status = rowStatus(cellOf(cells, col.status)!, line);
  if (status === 'SKIP') return undefined;
  return {
    database: cellOf(cells, col.database) ?? null,
    host: cellOf(cells, col.host) ?? null,
    port: optionalInt(cellOf(cells, col.port), line),
    serviceName: cellOf(cells, col.service) ?? null,
    siteId: optionalInt(cellOf(cells, col.siteId), line),
    siteName: cellOf(cells, col.siteName)!,
    secondaryHost: cellOf(cells, col.secHost) ?? null,
    secondarySiteId: optionalInt(cellOf(cells, col.secSiteId), line),
    secondarySiteName: cellOf(cells, col.secSiteName)!,
    secondaryActiveStatus: cellOf(cells, col.secActive) ?? null,
    replicationMode: rowMode(cellOf(cells, col.mode)!, line),
    replicationStatus: status,
    replicationStatusDetails: cellOf(cells, col.details) ?? '',
    fullySynced: col.synced >= 0 ? fullySyncedWord(cellOf(cells, col.synced)!, line) : null,
    lastLogPosition: null,
    shippedLogPosition: null,
  };
}

/** `"2"`, or `"NOT MAPPED"` for rows whose secondary host is not mapped (always ERROR). */
const SITE_STATUS = /^status system replication site "(\d+|NOT MAPPED)":\s*(\S+)$/i;
// `\s*(\S.*)` rather than `\s*(.*\S)`: the latter backtracks quadratically on a run of spaces.
const OVERALL = /^overall system replication status:\s*(\S.*)$/i;
const NOT_PRIMARY = /^this system is either not running or not primary system replication site\.?$/i;
const NOT_SR_SITE = /^this system is not a system replication site\.?$/i;
/** A primary whose secondaries are all unregistered (exit code 10, NoHSR). */
const NO_SECONDARIES = /^there are no secondary sites attached\.?$/i;
/** SAP's script prints its NoHSR code as this text (`ServiceStatus.toStr(NoHSR)`). */
const NOT_ACTIVE_TEXT = /^system replication not active$/i;

/** The overall word: a status, NONE, or SAP's NoHSR text (also NONE). */
function overallWord(value: string, line: Line): ReplicationStatus | 'NONE' {
  const v = value.trim();
  if (v.toUpperCase() === 'NONE' || NOT_ACTIVE_TEXT.test(v)) return 'NONE';
  return parseStatusWord(v, line);
}

interface Collected {
  rows: SrServiceRow[];
  tableSeen: boolean;
  siteStatus: Map<number, ReplicationStatus>;
  /** `status system replication site "NOT MAPPED": ...`: rows whose secondary host is not mapped. */
  notMapped: ReplicationStatus | null;
  /** `site/<id>/SECONDARY_FULLY_SYNCED` (--sapcontrol=1 on newer releases). */
  siteFullySynced: Map<number, boolean>;
  overall: ReplicationStatus | 'NONE' | null;
  overallLine: Line | null;
  local: {
    mode?: string;
    siteId?: number;
    siteName?: string;
    activePrimarySite?: number;
    primaryMasters: string[];
  } | null;
  notPrimary: boolean;
  noSr: boolean;
  noSecondaries: boolean;
  nameserverNotResponding: boolean;
}

function emptyCollected(): Collected {
  return {
    rows: [],
    tableSeen: false,
    siteStatus: new Map(),
    notMapped: null,
    siteFullySynced: new Map(),
    overall: null,
    overallLine: null,
    local: null,
    notPrimary: false,
    noSr: false,
    noSecondaries: false,
    nameserverNotResponding: false,
  };
}

function parseTableForm(lines: Lines): Collected {
  const c = emptyCollected();
  let i = 0;
  while (i < lines.length) {
    const line = lines.at(i)!;
    const t = line.text.trim();
    if (t === '' || /^~+$/.test(t)) {
      i++;
      continue;
    }
    if (c.local) {
      const kv = keyValue(t, ':');
      if (!kv)
        throw new HanaParseError(WHAT, 'unrecognised line in the local state block', line.text, line.number);
      switch (kv.key.toLowerCase()) {
        case 'mode':
          c.local.mode = kv.value;
          break;
        case 'site id':
          c.local.siteId = parseIntStrict(WHAT, kv.value, line);
          break;
        case 'site name':
          c.local.siteName = kv.value;
          break;
        case 'active primary site':
          c.local.activePrimarySite = parseIntStrict(WHAT, kv.value, line);
          break;
        case 'primary masters':
          c.local.primaryMasters = words(WHAT, kv.value, line);
          break;
        default:
          break;
      }
      i++;
      continue;
    }
    if (isTableLine(line)) {
      if (c.tableSeen) throw new HanaParseError(WHAT, 'a second table', line.text, line.number);
      const { rows, next } = rowsFromTable(lines, i);
      c.rows = rows;
      c.tableSeen = true;
      i = next;
      continue;
    }
    let m = SITE_STATUS.exec(t);
    if (m) {
      const status = parseStatusWord(m[2]!, line);
      if (m[1]!.toUpperCase() === 'NOT MAPPED') c.notMapped = worst(c.notMapped ?? status, status);
      else if (c.siteStatus.has(Number(m[1])))
        throw new HanaParseError(WHAT, `site ${quote(m[1])} has two status lines`, line.text, line.number);
      else if (c.siteStatus.size === MAX_SITES)
        throw new HanaParseError(WHAT, `more than ${MAX_SITES} site status lines`, line.text, line.number);
      else c.siteStatus.set(Number(m[1]), status);
    } else if ((m = OVERALL.exec(t))) {
      if (c.overallLine)
        throw new HanaParseError(WHAT, 'a second overall status line', line.text, line.number);
      c.overall = overallWord(m[1]!, line);
      c.overallLine = line;
    } else if (/^local system replication state$/i.test(t)) {
      c.local = { primaryMasters: [] };
    } else if (NAMESERVER_NOT_RESPONDING.test(t)) {
      c.nameserverNotResponding = true;
    } else if (NOT_PRIMARY.test(t)) {
      c.notPrimary = true;
    } else if (NOT_SR_SITE.test(t)) {
      c.noSr = true;
    } else if (NO_SECONDARIES.test(t)) {
      c.noSecondaries = true;
    } else {
      throw new HanaParseError(WHAT, 'unrecognised line', line.text, line.number);
    }
    i++;
  }
  return c;
}

const SERVICE_KEY = /^service\/([^/]+)\/(\d+)\/([A-Za-z_]+)$/;
const SITE_KEY = /^site\/(\d+)\/([A-Za-z_]+)$/;

/**
 * The --sapcontrol=1 form. SAP's script prints every key of one service row together
 * (`service/<host>/<port>/<KEY>=<value>`), row after row; with several secondaries (multitarget,
 * multitier) a host/port repeats: see the note below.
 * It prints `site/<id>/...` per secondary and for the local site, `overall_replication_status=` (or
 * `status=` when the status could not be read) and `local_site_id=` (0 when not an SR site).
 */
function parseSapcontrolForm(lines: Lines): Collected {
  const c = emptyCollected();
  // By host/port, in order of first appearance (a Map: a linear search per key was quadratic).
  const services = new Map<string, { fields: Map<string, string>; line: Line }>();
  const sites = new Map<number, Map<string, { value: string; line: Line }>>();
  let localSiteId: number | undefined;
  let localLine: Line | undefined;
  let state: 'before' | 'inside' | 'after' = 'before';
  for (const line of lines) {
    const t = line.text.trim();
    if (t === '' || state === 'after') continue;
    if (state === 'before') {
      if (NAMESERVER_NOT_RESPONDING.test(t)) c.nameserverNotResponding = true;
      else if (t === 'SAPCONTROL-OK: <begin>') state = 'inside';
      else if (NOT_PRIMARY.test(t)) c.notPrimary = true;
      else if (NOT_SR_SITE.test(t)) c.noSr = true;
      else if (NO_SECONDARIES.test(t)) c.noSecondaries = true;
      else
        throw new HanaParseError(
          WHAT,
          'unexpected text before "SAPCONTROL-OK: <begin>"',
          line.text,
          line.number,
        );
      continue;
    }
    if (t === 'SAPCONTROL-OK: <end>') {
      state = 'after';
      continue;
    }
    if (NOT_PRIMARY.test(t)) {
      c.notPrimary = true;
      continue;
    }
    if (NOT_SR_SITE.test(t)) {
      c.noSr = true;
      continue;
    }
    const kv = keyValue(t, '=');
    if (!kv) throw new HanaParseError(WHAT, 'expected key=value', line.text, line.number);
    let m = SERVICE_KEY.exec(kv.key);
    if (m) {
      const id = `${m[1]}/${m[2]}`;
      const key = m[3]!.toUpperCase();
      let s = services.get(id);
      if (!s) {
        checkRows(WHAT, services.size + 1, line);
        s = { fields: new Map<string, string>(), line };
        services.set(id, s);
      }
      const prev = s.fields.get(key);
      // Several secondaries repeat a host/port's keys (SAP's script prints one row's keys
      // together, so the rows could be told apart by order); until the simulator's round-trip
      // test agrees, a conflicting repeat is refused rather than guessed.
      if (prev !== undefined && prev !== kv.value) {
        throw new HanaParseError(
          WHAT,
          `service key ${quote(kv.key)} given twice with different values`,
          line.text,
          line.number,
        );
      }
      s.fields.set(key, kv.value);
      continue;
    }
    if ((m = SITE_KEY.exec(kv.key))) {
      const id = Number(m[1]);
      const key = m[2]!.toUpperCase();
      if (!sites.has(id) && sites.size === MAX_SITES)
        throw new HanaParseError(WHAT, `more than ${MAX_SITES} sites`, line.text, line.number);
      const s = sites.get(id) ?? new Map<string, { value: string; line: Line }>();
      if (s.has(key) && s.get(key)!.value !== kv.value)
        throw new HanaParseError(
          WHAT,
          `site key ${quote(kv.key)} given twice with different values`,
          line.text,
          line.number,
        );
      s.set(key, { value: kv.value, line });
      sites.set(id, s);
      continue;
    }
    const key = kv.key.toLowerCase();
    if (key === 'overall_replication_status' || key === 'status') {
      if (c.overallLine) throw new HanaParseError(WHAT, 'a second overall status', line.text, line.number);
      c.overall = overallWord(kv.value, line);
      c.overallLine = line;
    } else if (key === 'local_site_id') {
      localSiteId = parseIntStrict(WHAT, kv.value, line);
      localLine = line;
    }
  }
  if (state !== 'after') {
    const last = lines.lastNonBlank();
    throw new HanaParseError(
      WHAT,
      'output ends before "SAPCONTROL-OK: <end>" (truncated)',
      last?.text ?? '',
      last?.number ?? 0,
    );
  }
  for (const { fields, line } of services.values()) {
    const need = (k: string) => {
      const v = fields.get(k);
      if (v === undefined)
        throw new HanaParseError(WHAT, `service entry without ${k}`, line.text, line.number);
      return v;
    };
    const status = rowStatus(need('REPLICATION_STATUS'), line);
    if (status === 'SKIP') continue;
    c.rows.push({
      database: fields.get('DATABASE') ?? null,
      host: fields.get('HOST') ?? null,
      port: optionalInt(fields.get('PORT'), line),
      serviceName: fields.get('SERVICE_NAME') ?? null,
      siteId: optionalInt(fields.get('SITE_ID'), line),
      siteName: need('SITE_NAME'),
      secondaryHost: fields.get('SECONDARY_HOST') ?? null,
      secondarySiteId: optionalInt(fields.get('SECONDARY_SITE_ID'), line),
      secondarySiteName: fields.get('SECONDARY_SITE_NAME') ?? '',
      secondaryActiveStatus: fields.get('SECONDARY_ACTIVE_STATUS') ?? null,
      replicationMode: rowMode(need('REPLICATION_MODE'), line),
      replicationStatus: status,
      replicationStatusDetails: fields.get('REPLICATION_STATUS_DETAILS') ?? '',
      fullySynced: fields.has('SECONDARY_FULLY_SYNCED')
        ? fullySyncedWord(fields.get('SECONDARY_FULLY_SYNCED')!, line)
        : null,
      lastLogPosition: optionalInt(fields.get('LAST_LOG_POSITION'), line),
      shippedLogPosition: optionalInt(fields.get('SHIPPED_LOG_POSITION'), line),
    });
  }
  for (const [id, fields] of sites) {
    if (id === localSiteId) continue;
    const st = fields.get('REPLICATION_STATUS');
    if (st !== undefined) c.siteStatus.set(id, parseStatusWord(st.value, st.line));
    const synced = fields.get('SECONDARY_FULLY_SYNCED');
    if (synced !== undefined) c.siteFullySynced.set(id, fullySyncedWord(synced.value, synced.line));
  }
  c.tableSeen = services.size > 0 || c.overall !== null;
  if (localSiteId === 0) {
    // SAP's script: `local_site_id=0` and nothing else when the system is not an SR site.
    c.noSr = true;
  } else if (localSiteId !== undefined) {
    const s = sites.get(localSiteId);
    c.local = { siteId: localSiteId, primaryMasters: [] };
    const mode = s?.get('REPLICATION_MODE')?.value;
    const name = s?.get('SITE_NAME')?.value;
    const source = s?.get('SOURCE_SITE_ID')?.value;
    const masters = s?.get('PRIMARY_MASTERS');
    if (mode !== undefined) c.local.mode = mode;
    if (name !== undefined) c.local.siteName = name;
    if (source !== undefined && localLine)
      c.local.activePrimarySite = parseIntStrict(WHAT, source, localLine);
    if (masters !== undefined) c.local.primaryMasters = words(WHAT, masters.value, masters.line);
    // No table, no status: the script's "not running or not primary" and "no secondaries" cases,
    // told apart by the local mode.
    if (!c.tableSeen && !c.notPrimary && mode !== undefined) {
      if (mode.toUpperCase() === 'PRIMARY') c.noSecondaries = true;
      else c.notPrimary = true;
    }
  }
  return c;
}

/**
 * Parses systemReplicationStatus.py output. `exitCode` (10-15) is checked against the text: a
 * disagreement, an exit code outside 10-15, or unknown text throws HanaParseError.
 */
export function parseSystemReplicationStatus(text: string, exitCode?: number): SystemReplicationStatus {
  const lines = emptyCheck(WHAT, text);
  if (exitCode !== undefined && srStatusExitCodes[exitCode] === undefined) {
    const first = lines.firstNonBlank()!;
    throw new HanaParseError(WHAT, `exit code ${exitCode} is not one of 10-15`, first.text, first.number);
  }
  const sapcontrol = hasLine(text, 'SAPCONTROL-OK: <begin>');
  const c = sapcontrol ? parseSapcontrolForm(lines) : parseTableForm(lines);
  const last = lines.lastNonBlank()!;
  const fromExit = exitCode !== undefined ? srStatusExitCodes[exitCode] : undefined;
  const local: SrLocalState | null = c.local
    ? {
        mode: (c.local.mode ?? '').toUpperCase(),
        siteId: c.local.siteId ?? null,
        siteName: c.local.siteName ?? null,
        activePrimarySite: c.local.activePrimarySite ?? null,
        primaryMasters: c.local.primaryMasters,
      }
    : null;
  const base = {
    form: sapcontrol ? ('sapcontrol' as const) : ('table' as const),
    exitCode: exitCode ?? null,
    nameserverNotResponding: c.nameserverNotResponding,
  };

  if (c.noSr || c.notPrimary) {
    if (c.tableSeen || c.overall !== null || c.noSecondaries || (c.noSr && c.notPrimary)) {
      throw new HanaParseError(WHAT, 'says "not primary" and also prints a status', last.text, last.number);
    }
    if (fromExit !== undefined && fromExit !== 'NoHSR' && fromExit !== 'UNKNOWN' && fromExit !== 'ERROR') {
      throw new HanaParseError(
        WHAT,
        `exit code ${exitCode} contradicts "not primary"`,
        last.text,
        last.number,
      );
    }
    return {
      ...base,
      kind: c.noSr ? 'no-sr' : 'not-primary',
      services: [],
      links: [],
      siteStatus: c.siteStatus,
      overall: null,
      local,
    };
  }

  if (c.noSecondaries) {
    // "there are no secondary sites attached": a primary alone, exit code 10 (NoHSR).
    if (c.tableSeen || c.overall !== null) {
      throw new HanaParseError(
        WHAT,
        'says "no secondary sites" and also prints a status',
        last.text,
        last.number,
      );
    }
    if (fromExit !== undefined && fromExit !== 'NoHSR') {
      throw new HanaParseError(
        WHAT,
        `exit code ${exitCode} contradicts "no secondary sites attached"`,
        last.text,
        last.number,
      );
    }
    if (local === null || local.mode !== 'PRIMARY' || local.siteName === null || local.siteId === null) {
      throw new HanaParseError(
        WHAT,
        '"no secondary sites attached" without a complete PRIMARY local block (truncated?)',
        last.text,
        last.number,
      );
    }
    return {
      ...base,
      kind: 'primary',
      services: [],
      links: [],
      siteStatus: c.siteStatus,
      overall: 'NONE',
      local,
    };
  }

  if (!c.tableSeen && c.overall === null) {
    throw new HanaParseError(
      WHAT,
      'neither a status table nor an overall status (truncated?)',
      last.text,
      last.number,
    );
  }
  if (local === null || local.mode === '' || local.siteName === null || local.siteId === null) {
    throw new HanaParseError(
      WHAT,
      'no complete "Local System Replication State" block (truncated?)',
      last.text,
      last.number,
    );
  }
  if (local.mode !== 'PRIMARY') {
    // Multitier: a tier-2 site prints its own table as a source; its local mode is its SR mode.
    if (!(replicationModes as readonly string[]).includes(local.mode.toLowerCase())) {
      throw new HanaParseError(WHAT, `unknown local mode ${quote(local.mode)}`, last.text, last.number);
    }
  }
  let overall: ReplicationStatus | 'NONE';
  if (c.overall !== null) {
    overall = c.overall;
    if (fromExit !== undefined) {
      const agrees = fromExit === 'NoHSR' ? overall === 'NONE' : fromExit === overall;
      if (!agrees) {
        const at = c.overallLine ?? last;
        throw new HanaParseError(
          WHAT,
          `overall status ${overall} contradicts exit code ${exitCode}`,
          at.text,
          at.number,
        );
      }
    }
  } else if (c.rows.length === 0 && (fromExit === 'NoHSR' || fromExit === undefined)) {
    overall = 'NONE';
  } else {
    throw new HanaParseError(
      WHAT,
      'no "overall system replication status" line (truncated?)',
      last.text,
      last.number,
    );
  }
  // SAP's script prints a bare ERROR when the nameserver cannot give the status; that is never
  // healthy. A bare ACTIVE (e.g. --localhost on a standby host) cannot be checked and is rejected.
  if (
    c.rows.length === 0 &&
    c.siteStatus.size === 0 &&
    overall !== 'NONE' &&
    overall !== 'ERROR' &&
    overall !== 'UNKNOWN'
  ) {
    throw new HanaParseError(
      WHAT,
      `overall status ${overall} without any service row`,
      last.text,
      last.number,
    );
  }
  const secondaries = new Set(
    c.rows.map((r) => `${r.siteName}\u0000${r.secondarySiteId ?? r.secondarySiteName}`),
  );
  if (secondaries.size > MAX_SITES || c.siteStatus.size > MAX_SITES)
    throw new HanaParseError(WHAT, `more than ${MAX_SITES} replication links`, last.text, last.number);
  const checked = crossChecked(c, overall);
  return {
    ...base,
    kind: 'primary',
    services: c.rows,
    links: checked.links,
    siteStatus: c.siteStatus,
    overall: checked.overall,
    local,
  };
}

const rank = (s: ReplicationStatus) => replicationStatuses.indexOf(s);

/**
 * Rows, site lines and the overall line read together (the exit code was checked against the
 * overall line already). Worse wins: a site line worse than its rows lowers that link
 * (linksFromRows); a status the text gives without tying it to a listed link (a site line for a
 * site without rows, "NOT MAPPED", an overall line worse than every site and row, an overall
 * "not active" with rows) lowers every link; an overall line better than the rows is lowered.
 */
function crossChecked(
  c: Collected,
  overallLine: ReplicationStatus | 'NONE',
): { links: SrLinkStatus[]; overall: ReplicationStatus | 'NONE' } {
  let links = linksFromRows(c.rows, c.siteStatus).map((l) =>
    l.secondarySiteId !== null && c.siteFullySynced.get(l.secondarySiteId) === false
      ? { ...l, fullySynced: false }
      : l,
  );
  if (links.length === 0) return { links, overall: overallLine };
  const listed = new Set(links.map((l) => l.secondarySiteId));
  let cap: ReplicationStatus = 'ACTIVE';
  const why: string[] = [];
  for (const [id, status] of c.siteStatus) {
    if (!listed.has(id) && rank(status) < rank('ACTIVE')) {
      cap = worst(cap, status);
      why.push(`site ${quote(id)} is ${status} without rows`);
    }
  }
  if (c.notMapped !== null && rank(c.notMapped) < rank('ACTIVE')) {
    cap = worst(cap, c.notMapped);
    why.push(`site "NOT MAPPED" is ${c.notMapped}`);
  }
  const fromLinks = links.reduce<ReplicationStatus>((w, l) => worst(w, l.status), 'ACTIVE');
  if (overallLine === 'NONE') {
    cap = worst(cap, 'ERROR');
    why.push('overall status says replication is not active, but rows are listed');
  } else if (rank(overallLine) < rank(worst(fromLinks, cap))) {
    cap = worst(cap, overallLine);
    why.push(`overall status is ${overallLine}, worse than every site`);
  }
  if (cap !== 'ACTIVE') {
    const note = `the status text disagrees: ${why.join(', ')}`;
    links = links.map((l) =>
      rank(cap) < rank(l.status)
        ? { ...l, status: cap, statusDetails: l.statusDetails === '' ? note : `${l.statusDetails}; ${note}` }
        : l,
    );
  }
  const overall = links.reduce<ReplicationStatus>(
    (w, l) => worst(w, l.status),
    overallLine === 'NONE' ? 'ERROR' : overallLine,
  );
  return { links, overall };
}
