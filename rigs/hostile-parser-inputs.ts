/**
 * Pathological inputs for the HANA output parsers, shared by the property test
 * (test/hana/parsers/hostile.test.ts) and the benchmark (bench/parsers.ts). Every input is built
 * to a target size in characters; the runner keeps at most 4 MiB of a command's output.
 */
import {
  parseLandscapeHostConfiguration,
  parseProcessList,
  parseSrState,
  parseSystemInstanceList,
  parseSystemReplicationStatus,
} from '../src/hana/parsers/index.js';
import { readFileSync } from 'node:fs';

/** A recorded tool output of test/fixtures/hana (data shared with the parser tests). */
function fixture(name: string): string {
  return readFileSync(new URL(`../test/fixtures/hana/${name}`, import.meta.url), 'utf8');
}

export const MiB = 1024 * 1024;

export interface ParserUnderTest {
  readonly name: string;
  readonly parse: (text: string) => unknown;
  /** A real output the payloads are inserted into (so they reach the deeper code paths). */
  readonly sample: string;
}

export const parsersUnderTest: readonly ParserUnderTest[] = [
  {
    name: 'sr_state',
    parse: (t) => parseSrState(t),
    sample: fixture('sr-state-primary-multitier.txt'),
  },
  {
    name: 'sr_state sapcontrol',
    parse: (t) => parseSrState(t),
    sample: fixture('sr-state-sapcontrol-multitarget.txt'),
  },
  {
    name: 'srStatus table',
    parse: (t) => parseSystemReplicationStatus(t, 15),
    sample: fixture('srs-primary-sync-active.txt'),
  },
  {
    name: 'srStatus sapcontrol',
    parse: (t) => parseSystemReplicationStatus(t, 15),
    sample: fixture('srs-sapcontrol-sync-active.txt'),
  },
  {
    name: 'landscape',
    parse: (t) => parseLandscapeHostConfiguration(t, 4),
    sample: fixture('lhc-scale-up-ok.txt'),
  },
  {
    name: 'GetProcessList',
    parse: (t) => parseProcessList(t, 3),
    sample: fixture('gpl-running.txt'),
  },
  {
    name: 'GetSystemInstanceList',
    parse: (t) => parseSystemInstanceList(t, 0),
    sample: fixture('gsil-ascs-ers.txt'),
  },
];

/** `unit` repeated (and cut) to exactly `size` characters. */
export function fill(unit: string, size: number): string {
  if (size <= 0) return '';
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/** `head` + `unit`... + `tail`, `size` characters in all. */
function framed(head: string, unit: string, tail: string, size: number): string {
  return head + fill(unit, Math.max(0, size - head.length - tail.length)) + tail;
}

/**
 * Payloads that hurt naive code: long runs of one character (backtracking regular expressions,
 * `replace(/\s+$/, '')`), one huge line, millions of lines, separators without end.
 */
export const payloads: readonly { readonly name: string; readonly make: (size: number) => string }[] = [
  { name: 'spaces inside one line', make: (n) => framed('a', ' ', 'b', n) },
  { name: 'one line of spaces', make: (n) => fill(' ', n) },
  { name: 'spaces then a lone CR', make: (n) => framed('a', ' ', '\rb', n) },
  { name: 'no-break spaces', make: (n) => framed('a', '\u00a0', 'b', n) },
  { name: 'one huge line', make: (n) => fill('x', n) },
  { name: 'short lines', make: (n) => fill('x\n', n) },
  { name: 'blank lines', make: (n) => fill('\n', n) },
  { name: 'CRLF blank lines', make: (n) => fill('\r\n', n) },
  { name: 'pipes', make: (n) => fill('|', n) },
  { name: 'pipe, spaces, junk', make: (n) => framed('|', ' ', '!', n) },
  { name: 'pipe cells of spaces', make: (n) => fill('| ', n) },
  { name: 'dashed separator', make: (n) => framed('|', '-', '|', n) },
  { name: 'tree prefix', make: (n) => framed('|', '    |', '---x (sync/)!', n) },
  { name: 'site fact colons', make: (n) => framed('Tier of ', ':', ' x y', n) },
  { name: 'mapping arrows', make: (n) => framed('Mapping: a', ' ->', ' x', n) },
  { name: 'host mapping brackets', make: (n) => framed('h -> [', 'x', ' h', n) },
  { name: 'overall then spaces', make: (n) => framed('overall system replication status:', ' ', '\rx', n) },
  { name: 'nameserver spaces', make: (n) => framed('nameserver ', ' ', 'h x', n) },
  { name: 'key without value', make: (n) => framed('online', ':', '', n) },
  { name: 'equals signs', make: (n) => framed('a', '=', '', n) },
  { name: 'commas', make: (n) => fill(',', n) },
  { name: 'comma, spaces', make: (n) => fill(', ', n) },
  { name: 'service keys', make: (n) => framed('service/', '/', '1/X=1', n) },
  { name: 'digits', make: (n) => fill('1', n) },
  { name: 'timestamp-like', make: (n) => framed('11.05.2022 11:19:18', '0', '', n) },
];

/** The payload placed where it reaches each stage: alone, in the first line, mid-text, at the end. */
export function* placements(
  sample: string,
  payload: string,
): Generator<{ readonly name: string; readonly text: string }> {
  const lines = sample.split('\n');
  const mid = Math.floor(lines.length / 2);
  yield { name: 'alone', text: payload };
  yield { name: 'first', text: `${payload}\n${sample}` };
  yield { name: 'middle', text: [...lines.slice(0, mid), payload, ...lines.slice(mid)].join('\n') };
  yield { name: 'last', text: `${sample}\n${payload}` };
}

/** Inputs that are (nearly) well formed and large: many services, hosts, processes, keys. */
export function structured(
  size: number,
): { readonly parser: string; readonly name: string; readonly text: string }[] {
  /** head + as many generated lines as fit + tail, at most `size` characters. */
  const body = (head: string, make: (i: number) => string, tail: string) => {
    const out: string[] = [];
    let used = head.length + tail.length;
    for (let i = 0; ; i++) {
      const line = make(i);
      if (used + line.length + 1 > size) break;
      out.push(line);
      used += line.length + 1;
    }
    return head + out.join('\n') + (out.length > 0 ? '\n' : '') + tail;
  };
  const srsTable = fixture('srs-primary-sync-active.txt').split('\n');
  const srsRow = (i: number) =>
    `|H02      |h${i} |${30000 + (i % 9999)} |indexserver  |        3 |      1 |DC01      |h02hana1  |    39003 |        2 |DC02      |YES           |SYNC        |ACTIVE      |detail ${i} |        True |`;
  const service = (i: number) =>
    [
      `service/h${i}/3${i}/HOST=h${i}`,
      `service/h${i}/3${i}/PORT=3${i}`,
      `service/h${i}/3${i}/SITE_ID=1`,
      `service/h${i}/3${i}/SITE_NAME=DC01`,
      `service/h${i}/3${i}/SECONDARY_SITE_ID=2`,
      `service/h${i}/3${i}/SECONDARY_SITE_NAME=DC02`,
      `service/h${i}/3${i}/SECONDARY_ACTIVE_STATUS=YES`,
      `service/h${i}/3${i}/REPLICATION_MODE=SYNC`,
      `service/h${i}/3${i}/REPLICATION_STATUS=ACTIVE`,
      `service/h${i}/3${i}/REPLICATION_STATUS_DETAILS=detail ${i}`,
      `service/h${i}/3${i}/SECONDARY_FULLY_SYNCED=True`,
    ].join('\n');
  const srsKvTail = [
    'site/2/SITE_NAME=DC02',
    'site/2/SOURCE_SITE_ID=1',
    'site/2/REPLICATION_MODE=SYNC',
    'site/2/REPLICATION_STATUS=ACTIVE',
    'overall_replication_status=ACTIVE',
    'site/1/REPLICATION_MODE=PRIMARY',
    'site/1/SITE_NAME=DC01',
    'local_site_id=1',
    'SAPCONTROL-OK: <end>',
    '',
  ].join('\n');
  const stateKvHead = 'SAPCONTROL-OK: <begin>\nonline=true\nmode=primary\nsite id=1\nsite name=DC01\n';
  const stateKvTail = 'SAPCONTROL-OK: <end>\ndone.\n';
  const statePlainHead =
    'System Replication State\n~~~~~~~~~~~~~~~~~~~~~~~~\n\nonline: true\n\nmode: primary\nsite id: 1\nsite name: SiteA\n\n';
  const lhc = fixture('lhc-scale-up-ok.txt').split('\n');
  const host = (i: number) =>
    `| node${i}  | yes    | ok     |          |        |         1 | default      | default      | master 1    | master      | worker      | master      |`;
  const gplHead =
    '\n11.05.2022 11:19:18\nGetProcessList\nOK\nname, description, dispstatus, textstatus, starttime, elapsedtime, pid\n';
  const gsilHead =
    '\n30.11.2023 07:15:42\nGetSystemInstanceList\nOK\nhostname, instanceNr, httpPort, httpsPort, startPriority, features, dispstatus\n';
  const commas = fill('x, ', size - gplHead.length - 100);
  return [
    {
      parser: 'srStatus table',
      name: 'many services',
      text: body(srsTable.slice(0, 3).join('\n') + '\n', srsRow, srsTable.slice(6).join('\n')),
    },
    {
      parser: 'srStatus sapcontrol',
      name: 'many services',
      text: body('SAPCONTROL-OK: <begin>\n', service, srsKvTail),
    },
    {
      parser: 'sr_state sapcontrol',
      name: 'unknown key repeated',
      text: body(stateKvHead, () => 'isTimetravelEnabled=false', stateKvTail),
    },
    {
      parser: 'sr_state sapcontrol',
      name: 'many sites',
      text: body(stateKvHead, (i) => `siteTier/S${i}=2`, stateKvTail),
    },
    {
      parser: 'sr_state sapcontrol',
      name: 'many host mappings',
      text: body(stateKvHead, (i) => `mapping/h0=S${i % 7}/h${i}`, stateKvTail),
    },
    {
      parser: 'sr_state',
      name: 'many site facts',
      text: body(statePlainHead, (i) => `Tier of S${i}: 2`, 'done.\n'),
    },
    {
      parser: 'sr_state',
      name: 'many tree lines',
      text: body(statePlainHead, (i) => `    |---S${i} (sync/logreplay)`, 'done.\n'),
    },
    {
      parser: 'sr_state',
      name: 'unknown key repeated',
      text: body(statePlainHead, () => 'is timetravel enabled: false', 'done.\n'),
    },
    {
      parser: 'landscape',
      name: 'many hosts',
      text: body(lhc.slice(0, 3).join('\n') + '\n', host, lhc.slice(4).join('\n')),
    },
    {
      parser: 'GetProcessList',
      name: 'many processes',
      text: body(
        gplHead,
        (i) => `hdbindexserver, HDB Indexserver-${i}, GREEN, Running, 2022 05 10 14:46:35, 20:32:43, ${i}`,
        '',
      ),
    },
    {
      parser: 'GetProcessList',
      name: 'textstatus full of commas',
      text: `${gplHead}hdbdaemon, HDB Daemon, GREEN, ${commas}, 2022 05 10 14:45:54, 20:33:24, 17931\n`,
    },
    {
      parser: 'GetSystemInstanceList',
      name: 'many instances',
      text: body(gsilHead, (i) => `host${i}, 0, 50013, 50014, 1, HDB|HDB_WORKER, GREEN`, ''),
    },
  ];
}

/**
 * Every hostile input of about `size` characters, with the parser it is meant for, one at a time
 * (all of them at 4 MiB would not fit in memory together).
 */
export function* hostileInputs(
  size: number,
  /** Placements to use (all when absent): alone, first, middle, last. */
  only?: readonly string[],
): Generator<{ readonly parser: ParserUnderTest; readonly name: string; readonly text: string }> {
  for (const parser of parsersUnderTest) {
    for (const p of payloads) {
      const payload = p.make(size - parser.sample.length - 1);
      for (const at of placements(parser.sample, payload))
        if (!only || only.includes(at.name)) yield { parser, name: `${p.name} (${at.name})`, text: at.text };
    }
  }
  for (const s of structured(size)) {
    const parser = parsersUnderTest.find((p) => p.name === s.parser)!;
    yield { parser, name: s.name, text: s.text };
  }
}
