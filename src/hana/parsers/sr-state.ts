// Why this file is long: two formats of one command (plain and --sapcontrol=1), each checked line by line so unknown text is never healthy.
/**
 * `hdbnsutil -sr_state` in its plain form and its `--sapcontrol=1` key=value form.
 * Both end with `done.`; a text without it is truncated and rejected.
 */
import { operationModes, replicationModes } from '../../api/spec.js';
import type { OperationMode, ReplicationMode } from '../../domain/types.js';
import { quote } from '../../quote.js';
import { HanaParseError } from './errors.js';
import {
  checkRows,
  emptyCheck,
  hasLine,
  keyValue,
  MAX_SITES,
  NAMESERVER_NOT_RESPONDING,
  parseBoolWord,
  parseIntStrict,
  words,
  type Line,
  type Lines,
} from './text.js';

export type SrMode = ReplicationMode | 'primary' | 'none';
export type SrOperationMode = OperationMode | 'primary' | 'unknown';

export interface SrStateSite {
  readonly name: string;
  readonly tier: number | null;
  readonly mode: SrMode | null;
  readonly operationMode: SrOperationMode | null;
  /** The site it replicates from (from `Mapping: A -> B` / `siteMapping/A=B`). */
  readonly source: string | null;
}

export interface SrState {
  readonly form: 'plain' | 'sapcontrol';
  /**
   * The nameserver answered (false: HANA is down and the state comes from its configuration).
   * null: the release does not print the line (HANA 1.0 up to SPS11 prints no `online:`); the
   * caller must then judge "running" from the other signals, never from this field.
   */
  readonly online: boolean | null;
  readonly nameserverNotResponding: boolean;
  readonly mode: SrMode;
  readonly operationMode: SrOperationMode | null;
  readonly siteId: number | null;
  readonly siteName: string | null;
  /** null when HANA prints `unknown` (down). */
  readonly isSource: boolean | null;
  readonly isSecondary: boolean | null;
  readonly hasSecondaries: boolean | null;
  readonly takeoverActive: boolean | null;
  readonly primarySuspended: boolean | null;
  /** Site id of the site this one replicates from (secondaries). */
  readonly activePrimarySite: number | null;
  readonly primaryMasters: readonly string[];
  /** `local -> [Site] host` */
  readonly hostMappings: readonly {
    readonly localHost: string;
    readonly site: string;
    readonly host: string;
  }[];
  readonly sites: readonly SrStateSite[];
}

const WHAT = 'hdbnsutil -sr_state';

function parseMode(value: string, line: Line): SrMode {
  const v = value.trim().toLowerCase();
  if (v === 'primary' || v === 'none') return v;
  if ((replicationModes as readonly string[]).includes(v)) return v as ReplicationMode;
  throw new HanaParseError(WHAT, `unknown replication mode ${quote(value)}`, line.text, line.number);
}

function parseOperationMode(value: string, line: Line): SrOperationMode {
  const v = value.trim().toLowerCase();
  if (v === 'primary' || v === 'unknown') return v;
  // A primary without secondaries prints `NUREMBERG (primary/)` and an empty "Operation mode of".
  if (v === '') return 'unknown';
  if ((operationModes as readonly string[]).includes(v)) return v as OperationMode;
  throw new HanaParseError(WHAT, `unknown operation mode ${quote(value)}`, line.text, line.number);
}

interface Draft {
  online?: boolean;
  mode?: SrMode;
  modeLine?: Line;
  operationMode?: SrOperationMode;
  siteId?: number;
  siteName?: string;
  isSource?: boolean | null;
  isSecondary?: boolean | null;
  hasSecondaries?: boolean | null;
  takeoverActive?: boolean | null;
  primarySuspended?: boolean | null;
  activePrimarySite?: number;
  primaryMasters: string[];
  hostMappings: { localHost: string; site: string; host: string }[];
  sites: Map<string, SiteDraft>;
  nameserverNotResponding: boolean;
  /** Keys HANA prints once, with the line that gave each. */
  seen: Map<string, Line>;
}

/**
 * A key HANA prints once given twice (e.g. `online: false`, later `online: true`) is refused:
 * neither the first nor the last can be trusted.
 */
function once(d: Draft, key: string, line: Line): void {
  const first = d.seen.get(key);
  if (first !== undefined) {
    throw new HanaParseError(
      WHAT,
      `${quote(key)} given twice (also on line ${first.number})`,
      line.text,
      line.number,
    );
  }
  d.seen.set(key, line);
}

interface SiteDraft {
  name: string;
  tier: number | null;
  mode: SrMode | null;
  operationMode: SrOperationMode | null;
  source: string | null;
  /** The per-site lines HANA prints once that were read (a bit per kind, see SITE_LINE). */
  given: number;
}

/** Per-site lines HANA prints once. */
const SITE_LINE = { tree: 1, tier: 2, 'replication mode': 4, 'operation mode': 8 } as const;

function siteLineOnce(s: SiteDraft, kind: keyof typeof SITE_LINE, line: Line): void {
  if (s.given & SITE_LINE[kind])
    throw new HanaParseError(WHAT, `${kind} of site ${quote(s.name)} given twice`, line.text, line.number);
  s.given |= SITE_LINE[kind];
}

/** Sets one fact of a site; a second value that differs (tree vs "... of SITE:" lines) is refused. */
function siteFact<K extends 'tier' | 'mode' | 'operationMode' | 'source'>(
  s: SiteDraft,
  fact: K,
  value: NonNullable<SiteDraft[K]>,
  line: Line,
): void {
  const prev = s[fact];
  if (prev !== null && prev !== value) {
    throw new HanaParseError(
      WHAT,
      `${fact} of site ${quote(s.name)} is both ${quote(String(prev))} and ${quote(String(value))}`,
      line.text,
      line.number,
    );
  }
  s[fact] = value;
}

function site(d: Draft, name: string, line: Line): SiteDraft {
  let s = d.sites.get(name);
  if (!s) {
    if (d.sites.size === MAX_SITES)
      throw new HanaParseError(WHAT, `more than ${MAX_SITES} sites`, line.text, line.number);
    s = { name, tier: null, mode: null, operationMode: null, source: null, given: 0 };
    d.sites.set(name, s);
  }
  return s;
}

/** The header keys read (both forms), each by the name the plain form prints. */
const KEY_NAMES: Readonly<Record<string, string>> = {
  online: 'online',
  mode: 'mode',
  'operation mode': 'operation mode',
  'site id': 'site id',
  'site name': 'site name',
  'is source system': 'is source system',
  issource: 'is source system',
  'is secondary/consumer system': 'is secondary/consumer system',
  isconsumer: 'is secondary/consumer system',
  'has secondaries/consumers attached': 'has secondaries/consumers attached',
  hasconsumers: 'has secondaries/consumers attached',
  'is a takeover active': 'is a takeover active',
  istakeoveractive: 'is a takeover active',
  'is primary suspended': 'is primary suspended',
  isprimarysuspended: 'is primary suspended',
  'active primary site': 'active primary site',
  'primary masters': 'primary masters',
};

/** Applies one header key (both forms use the same words, the sapcontrol form camel-cases a few). */
function applyKey(d: Draft, key: string, value: string, line: Line): void {
  const k = key.toLowerCase();
  const canonical = KEY_NAMES[k];
  if (canonical !== undefined) once(d, canonical, line);
  switch (k) {
    case 'online': {
      const online = parseBoolWord(WHAT, value, line);
      if (online === null)
        throw new HanaParseError(WHAT, 'online is neither true nor false', line.text, line.number);
      d.online = online;
      return;
    }
    case 'mode':
      d.mode = parseMode(value, line);
      d.modeLine = line;
      return;
    case 'operation mode':
      d.operationMode = parseOperationMode(value, line);
      return;
    case 'site id':
      d.siteId = parseIntStrict(WHAT, value, line);
      return;
    case 'site name':
      d.siteName = value;
      return;
    case 'is source system':
    case 'issource':
      d.isSource = parseBoolWord(WHAT, value, line);
      return;
    case 'is secondary/consumer system':
    case 'isconsumer':
      d.isSecondary = parseBoolWord(WHAT, value, line);
      return;
    case 'has secondaries/consumers attached':
    case 'hasconsumers':
      d.hasSecondaries = parseBoolWord(WHAT, value, line);
      return;
    case 'is a takeover active':
    case 'istakeoveractive':
      d.takeoverActive = parseBoolWord(WHAT, value, line);
      return;
    case 'is primary suspended':
    case 'isprimarysuspended':
      d.primarySuspended = parseBoolWord(WHAT, value, line);
      return;
    case 'active primary site':
      d.activePrimarySite = parseIntStrict(WHAT, value, line);
      return;
    case 'primary masters':
      d.primaryMasters = words(WHAT, value, line);
      return;
    default:
      // Newer releases add flags (timetravel, replay mode, hint based routing): not needed here.
      return;
  }
}

function finish(d: Draft, form: SrState['form'], lines: Lines): SrState {
  const last = lines.at(lines.length - 1);
  if (d.mode === undefined) throw new HanaParseError(WHAT, 'no "mode" line', last?.text ?? '', 0);
  if (d.mode !== 'none' && (d.siteName === undefined || d.siteId === undefined)) {
    throw new HanaParseError(
      WHAT,
      `mode ${d.mode} without site id and site name`,
      d.modeLine?.text ?? '',
      d.modeLine?.number ?? 0,
    );
  }
  return {
    form,
    // Without an `online:` line, a "nameserver ... not responding." still says it is down.
    online: d.online ?? (d.nameserverNotResponding ? false : null),
    nameserverNotResponding: d.nameserverNotResponding,
    mode: d.mode,
    operationMode: d.operationMode ?? null,
    siteId: d.siteId ?? null,
    siteName: d.siteName ?? null,
    isSource: d.isSource ?? null,
    isSecondary: d.isSecondary ?? null,
    hasSecondaries: d.hasSecondaries ?? null,
    takeoverActive: d.takeoverActive ?? null,
    primarySuspended: d.primarySuspended ?? null,
    activePrimarySite: d.activePrimarySite ?? null,
    primaryMasters: d.primaryMasters,
    hostMappings: d.hostMappings,
    sites: [...d.sites.values()].map(({ name, tier, mode, operationMode, source }) => ({
      name,
      tier,
      mode,
      operationMode,
      source,
    })),
  };
}

function newDraft(): Draft {
  return {
    primaryMasters: [],
    hostMappings: [],
    sites: new Map(),
    nameserverNotResponding: false,
    seen: new Map(),
  };
}

const HOST_MAPPING = /^(\S+)\s+->\s+\[([^\]]+)\]\s+(\S+)$/;
/*
 * Every pattern here matches in linear time: no two neighbouring quantifiers can take the same
 * character (so a long run of spaces or colons cannot be split in many ways before the match
 * fails), and no group repeats (V8 keeps a backtracking entry per repetition of a group, which
 * overflows its stack on a line of millions).
 * `    |    |---SiteC (async/logreplay)` (trimmed): pipes and spaces, dashes, the site.
 */
const TREE_LINE = /^[\s|]*(?:-+\s*)?(\w[\w.-]*)\s+\((\w+)\/(\w*)\)$/;
const SITE_FACT = /^(Tier|Replication mode|Operation mode) of ([^\s:]+):\s*(\S*)$/i;
/** HANA 1.0 (and some 2.0 revisions) print a progress line before the state. */
const PREAMBLE = /^checking (?:for (?:active or inactive |inactive |active )?|local )nameserver\b.*$/i;
const MAPPING = /^Mapping:\s*(\S+)\s+->\s+(\S+)$/;

function parsePlain(lines: Lines): SrState {
  const d = newDraft();
  let done = false;
  let titleSeen = false;
  for (const line of lines) {
    if (done) break;
    const t = line.text.trim();
    if (t === '' || /^~+$/.test(t)) continue;
    if (NAMESERVER_NOT_RESPONDING.test(t)) {
      d.nameserverNotResponding = true;
      continue;
    }
    if (t === 'done.') {
      done = true;
      continue;
    }
    if (t === 'failed.' || /^error:/i.test(t))
      throw new HanaParseError(WHAT, 'hdbnsutil reported a failure', line.text, line.number);
    if (/^system replication state$/i.test(t)) {
      titleSeen = true;
      continue;
    }
    if (!titleSeen && PREAMBLE.test(t)) continue;
    if (!titleSeen)
      throw new HanaParseError(
        WHAT,
        'unexpected text before "System Replication State"',
        line.text,
        line.number,
      );
    if (/^(?:host mappings|site mappings):$/i.test(t) || /^Hint based routing site:/i.test(t)) continue;
    let m = HOST_MAPPING.exec(t);
    if (m) {
      checkRows(WHAT, d.hostMappings.length + 1, line);
      d.hostMappings.push({ localHost: m[1]!, site: m[2]!, host: m[3]! });
      continue;
    }
    m = MAPPING.exec(t);
    if (m) {
      site(d, m[1]!, line);
      siteFact(site(d, m[2]!, line), 'source', m[1]!, line);
      continue;
    }
    m = SITE_FACT.exec(t);
    if (m) {
      const s = site(d, m[2]!, line);
      const fact = m[1]!.toLowerCase();
      siteLineOnce(
        s,
        fact === 'tier' ? 'tier' : fact === 'replication mode' ? 'replication mode' : 'operation mode',
        line,
      );
      if (fact === 'tier') siteFact(s, 'tier', parseIntStrict(WHAT, m[3]!, line), line);
      else if (fact === 'replication mode') siteFact(s, 'mode', parseMode(m[3]!, line), line);
      else siteFact(s, 'operationMode', parseOperationMode(m[3]!, line), line);
      continue;
    }
    m = TREE_LINE.exec(t);
    if (m) {
      const s = site(d, m[1]!, line);
      siteLineOnce(s, 'tree', line);
      siteFact(s, 'mode', parseMode(m[2]!, line), line);
      siteFact(s, 'operationMode', parseOperationMode(m[3]!, line), line);
      continue;
    }
    const kv = keyValue(t, ':');
    if (kv) {
      applyKey(d, kv.key, kv.value, line);
      continue;
    }
    throw new HanaParseError(WHAT, 'unrecognised line', line.text, line.number);
  }
  if (!done) {
    const last = lines.lastNonBlank();
    throw new HanaParseError(
      WHAT,
      'output ends before "done." (truncated)',
      last?.text ?? '',
      last?.number ?? 0,
    );
  }
  return finish(d, 'plain', lines);
}

function parseSapcontrol(lines: Lines): SrState {
  const d = newDraft();
  let state: 'before' | 'inside' | 'after' = 'before';
  for (const line of lines) {
    const t = line.text.trim();
    if (state === 'after') break;
    if (t === '') continue;
    if (state === 'before') {
      if (NAMESERVER_NOT_RESPONDING.test(t)) {
        d.nameserverNotResponding = true;
        continue;
      }
      if (t === 'SAPCONTROL-OK: <begin>') {
        state = 'inside';
        continue;
      }
      throw new HanaParseError(
        WHAT,
        'unexpected text before "SAPCONTROL-OK: <begin>"',
        line.text,
        line.number,
      );
    }
    if (t === 'SAPCONTROL-OK: <end>') {
      state = 'after';
      continue;
    }
    if (NAMESERVER_NOT_RESPONDING.test(t)) {
      d.nameserverNotResponding = true;
      continue;
    }
    const kv = keyValue(t, '=');
    if (!kv) throw new HanaParseError(WHAT, 'expected key=value', line.text, line.number);
    const slash = kv.key.indexOf('/');
    if (slash < 0) {
      applyKey(d, kv.key, kv.value, line);
      continue;
    }
    const group = kv.key.slice(0, slash);
    const name = kv.key.slice(slash + 1);
    switch (group) {
      case 'mapping': {
        // At most three parts: a value of millions of slashes is not split into millions.
        const [siteName, host] = kv.value.split('/', 3);
        if (!siteName || !host)
          throw new HanaParseError(WHAT, 'expected mapping/<host>=<site>/<host>', line.text, line.number);
        checkRows(WHAT, d.hostMappings.length + 1, line);
        d.hostMappings.push({ localHost: name, site: siteName, host });
        break;
      }
      case 'siteTier': {
        const s = site(d, name, line);
        siteLineOnce(s, 'tier', line);
        siteFact(s, 'tier', parseIntStrict(WHAT, kv.value, line), line);
        break;
      }
      case 'siteReplicationMode': {
        const s = site(d, name, line);
        siteLineOnce(s, 'replication mode', line);
        siteFact(s, 'mode', parseMode(kv.value, line), line);
        break;
      }
      case 'siteOperationMode': {
        const s = site(d, name, line);
        siteLineOnce(s, 'operation mode', line);
        siteFact(s, 'operationMode', parseOperationMode(kv.value, line), line);
        break;
      }
      case 'siteMapping':
        // One line per target (`siteMapping/DC04=DC02`, `siteMapping/DC04=DC01`): a target has one source.
        site(d, name, line);
        siteFact(site(d, kv.value, line), 'source', name, line);
        break;
      default:
        break;
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
  return finish(d, 'sapcontrol', lines);
}

/** Parses `hdbnsutil -sr_state` (plain or `--sapcontrol=1`). Throws HanaParseError on anything it does not understand. */
export function parseSrState(text: string): SrState {
  const lines = emptyCheck(WHAT, text);
  return hasLine(text, 'SAPCONTROL-OK: <begin>') ? parseSapcontrol(lines) : parsePlain(lines);
}

/** The site this one replicates from: its mapping parent, else the site of its primary master host. */
export function sourceSiteOf(state: SrState): string | null {
  if (state.siteName === null) return null;
  const own = state.sites.find((s) => s.name === state.siteName);
  if (own?.source) return own.source;
  const master = state.primaryMasters[0];
  if (master === undefined) return null;
  return state.hostMappings.find((m) => m.host === master && m.site !== state.siteName)?.site ?? null;
}
