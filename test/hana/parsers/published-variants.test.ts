/**
 * Release and layout variants of the real outputs (sources in test/fixtures/hana/SOURCES.md), and
 * the cases SAP's own systemReplicationStatus.py prints (its source is quoted in SOURCES.md).
 */
import { describe, it, expect } from 'vitest';
import { healthFromSignals } from '../../../src/hana/commands/health.js';
import {
  HanaParseError,
  parseLandscapeHostConfiguration,
  parseProcessList,
  parseSrState,
  parseSystemInstanceList,
  parseSystemReplicationStatus,
  sourceSiteOf,
} from '../../../src/hana/parsers/index.js';
import { fixture, truncate } from './fixtures.js';

const crlf = (t: string) => t.replace(/\n/g, '\r\n');
const trailing = (t: string) => t.replace(/\n/g, '   \n');

describe('hdbnsutil -sr_state across releases', () => {
  it('HANA 1.0: "checking for active or inactive nameserver ..." and no online line', () => {
    const s = parseSrState(fixture('sr-state-hana1-primary-no-online.txt'));
    expect(s).toMatchObject({ online: null, mode: 'primary', siteId: 1, siteName: 'WDF' });
    expect(s.hostMappings).toContainEqual({ localHost: 'hana01', site: 'ROT', host: 'hana02' });
  });

  it('HANA 1.0 secondary: "re-setup replication" hint and "primary masters:host" without a space', () => {
    const s = parseSrState(fixture('sr-state-hana1-secondary-resetup.txt'));
    expect(s).toMatchObject({ online: null, mode: 'sync', siteName: 'ROT', activePrimarySite: 1 });
    expect(s.primaryMasters).toEqual(['hana01']);
    expect(sourceSiteOf(s)).toBe('WDF');
    expect(parseSrState(fixture('sr-state-hana1-secondary-online.txt'))).toMatchObject({
      online: true,
      mode: 'sync',
      siteName: 'ROT1',
      primaryMasters: ['hana01'],
    });
  });

  it('mode none (HANA 1.0, and HANA 2.0 with the daemon stopped)', () => {
    expect(parseSrState(fixture('sr-state-hana1-none.txt'))).toMatchObject({ mode: 'none', online: null });
    expect(parseSrState(fixture('sr-state-none-down.txt'))).toMatchObject({
      mode: 'none',
      online: false,
      nameserverNotResponding: true,
    });
  });

  it('a stopped primary after "checking ..." and "nameserver ... not responding."', () => {
    expect(parseSrState(fixture('sr-state-primary-down-checking.txt'))).toMatchObject({
      online: false,
      nameserverNotResponding: true,
      mode: 'primary',
      siteName: 'NUREMBERG',
    });
  });

  it('a primary without secondaries: "NUREMBERG (primary/)" and an empty operation mode', () => {
    const s = parseSrState(fixture('sr-state-primary-no-secondary-empty-opmode.txt'));
    expect(s).toMatchObject({ mode: 'primary', hasSecondaries: false });
    expect(s.sites).toEqual([
      { name: 'NUREMBERG', tier: 1, mode: 'primary', operationMode: 'unknown', source: null },
    ]);
  });

  it('reads CRLF line endings and trailing spaces the same', () => {
    for (const name of ['sr-state-primary-multitier.txt', 'sr-state-hana1-secondary-resetup.txt']) {
      const plain = parseSrState(fixture(name));
      expect(parseSrState(crlf(fixture(name)))).toEqual(plain);
      expect(parseSrState(trailing(fixture(name)))).toEqual(plain);
    }
  });

  it('still rejects text before the title that is not a progress line, and truncations', () => {
    const text = fixture('sr-state-hana1-secondary-resetup.txt');
    expect(() => parseSrState(text.replace('checking for', 'segmentation fault in'))).toThrow(HanaParseError);
    const lines = text.split('\n');
    for (let keep = 0; keep < lines.indexOf('done.'); keep++)
      expect(() => parseSrState(truncate(text, keep)), `kept ${keep}`).toThrow(HanaParseError);
  });
});

describe('health when hdbnsutil prints no online line (HANA 1.0)', () => {
  const signals = (online: string) => ({
    siteName: 'WDF',
    srState: { ok: true as const, value: parseSrState(online) },
    processes: { ok: true as const, value: parseProcessList(fixture('gpl-running.txt'), 3) },
    landscape: {
      ok: true as const,
      value: parseLandscapeHostConfiguration(fixture('lhc-hana1-scale-up-ok.txt'), 4),
    },
  });

  it('rests "running" on the processes and the landscape; online: false still means down', () => {
    const text = fixture('sr-state-hana1-primary-no-online.txt');
    expect(healthFromSignals(signals(text))).toMatchObject({
      probeOk: true,
      running: true,
      srRole: 'primary',
    });
    const down = text.replace('mode: primary', 'online: false\n\nmode: primary');
    expect(healthFromSignals(signals(down))).toMatchObject({ running: false, acceptsWrites: false });
  });
});

describe('systemReplicationStatus.py variants', () => {
  it('"there are no secondary sites attached": a lone primary, overall NONE, exit 10', () => {
    const s = parseSystemReplicationStatus(fixture('srs-no-secondaries-attached.txt'), 10);
    expect(s).toMatchObject({
      kind: 'primary',
      overall: 'NONE',
      links: [],
      local: { mode: 'PRIMARY', siteId: 2, siteName: 'PRAGUE' },
    });
    expect(() => parseSystemReplicationStatus(fixture('srs-no-secondaries-attached.txt'), 15)).toThrow(
      /contradicts/,
    );
    expect(() =>
      parseSystemReplicationStatus(truncate(fixture('srs-no-secondaries-attached.txt'), 3), 10),
    ).toThrow(HanaParseError);
  });

  it('a secondary STARTING (mode and status UNKNOWN) is UNKNOWN and not active, exit 12', () => {
    const s = parseSystemReplicationStatus(fixture('srs-primary-starting-unknown.txt'), 12);
    expect(s.overall).toBe('UNKNOWN');
    expect(s.links).toMatchObject([
      { secondarySite: 'PRAGUE', mode: 'sync', status: 'UNKNOWN', secondaryActive: false },
    ]);
    expect(s.links[0]!.statusDetails).toContain('Full Replica: 62 %');
  });

  it('two tenants and a scale-out landscape: one link per secondary site', () => {
    const t = parseSystemReplicationStatus(fixture('srs-primary-two-tenants.txt'), 15);
    expect(new Set(t.services.map((r) => r.database))).toEqual(new Set(['SYSTEMDB', 'HN1', 'NW1']));
    expect(t.links).toMatchObject([
      { secondarySite: 'SITE2', mode: 'sync', status: 'ACTIVE', fullySynced: null },
    ]);
    const o = parseSystemReplicationStatus(fixture('srs-primary-scale-out-three-hosts.txt'), 15);
    expect(new Set(o.services.map((r) => r.host)).size).toBe(3);
    expect(o.links).toHaveLength(1);
    expect(o.local).toMatchObject({ siteName: 'HANA_S1', siteId: 1 });
  });

  it('reads CRLF, trailing spaces, lower-case labels and reordered columns the same', () => {
    const text = fixture('srs-primary-sync-active.txt');
    const plain = parseSystemReplicationStatus(text, 15);
    expect(parseSystemReplicationStatus(crlf(text), 15)).toEqual(plain);
    expect(parseSystemReplicationStatus(trailing(text), 15)).toEqual(plain);
    expect(
      parseSystemReplicationStatus(
        text.replace(
          'overall system replication status: ACTIVE',
          'Overall System Replication Status: active',
        ),
        15,
      ).overall,
    ).toBe('ACTIVE');
    // Swap the first two columns of every table line.
    const swapped = text
      .split('\n')
      .map((l) => {
        const m = /^\|([^|]*)\|([^|]*)\|(.*)$/.exec(l);
        return m ? `|${m[2]}|${m[1]}|${m[3]}` : l;
      })
      .join('\n');
    expect(parseSystemReplicationStatus(swapped, 15).links).toEqual(plain.links);
  });

  it('reads the --all table (raw column names) by name', () => {
    const text = fixture('srs-primary-sync-no-fully-synced-column.txt')
      .replace(
        /^\|Database \|Host {6}\|Port {2}\|Service Name \|/m,
        '|DATABASE |HOST      |PORT  |SERVICE_NAME |',
      )
      .replace(
        '|Secondary |Secondary |Secondary |Secondary |Secondary     |Replication |Replication |Replication    |',
        '|SECONDARY |SECONDARY |SECONDARY |SECONDARY |SECONDARY     |REPLICATION |REPLICATION |REPLICATION    |',
      )
      .replace(
        '|Host      |Port      |Site ID   |Site Name |Active Status |Mode        |Status      |Status Details |',
        '|_HOST     |_PORT     |_SITE_ID  |_SITE_NAME|_ACTIVE_STATUS|_MODE       |_STATUS     |_STATUS_DETAILS|',
      );
    expect(parseSystemReplicationStatus(text, 15).links).toMatchObject([
      { secondarySite: 'world2', mode: 'sync', status: 'ACTIVE' },
    ]);
  });

  it('a "?" cell (value missing, as SAP\'s script prints it) is unknown, never ACTIVE', () => {
    const text = fixture('srs-primary-sync-active.txt').replace(
      '|YES           |SYNC        |ACTIVE      |               |        True |\n|H02      |h02hana0 |39003',
      '|?             |?           |?           |               |        ?    |\n|H02      |h02hana0 |39003',
    );
    const s = parseSystemReplicationStatus(text, 15);
    expect(s.links[0]).toMatchObject({ status: 'UNKNOWN', secondaryActive: false, fullySynced: false });
  });

  it('the NoHSR text of SAP\'s script ("System Replication not active") reads as NONE', () => {
    // determineAndPrintOverallStatus() with no status entries on a non-primary: an empty table,
    // the NoHSR text, the local block; exit code 10.
    const text = [
      '| Database | Host | Port | Service Name | Volume ID | Site ID | Site Name | Secondary | Secondary | Secondary | Secondary | Secondary     | Replication | Replication | Replication    |',
      '|          |      |      |              |           |         |           | Host      | Port      | Site ID   | Site Name | Active Status | Mode        | Status      | Status Details |',
      '| -------- | ---- | ---- | ------------ | --------- | ------- | --------- | --------- | --------- | --------- | --------- | ------------- | ----------- | ----------- | -------------- |',
      '',
      'overall system replication status: System Replication not active',
      '',
      'Local System Replication State',
      '~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~',
      '',
      'mode: SYNC',
      'site id: 2',
      'site name: DC02',
      'active primary site: 1',
      'primary masters: h02hana0',
      '',
    ].join('\n');
    expect(parseSystemReplicationStatus(text, 10)).toMatchObject({ overall: 'NONE', links: [] });
    expect(() => parseSystemReplicationStatus(text, 15)).toThrow(/contradicts/);
  });
});

describe("systemReplicationStatus.py --sapcontrol=1 variants (as SAP's script prints them)", () => {
  const wrap = (...body: string[]) =>
    ['SAPCONTROL-OK: <begin>', ...body, 'SAPCONTROL-OK: <end>', ''].join('\n');

  it('not an SR site: local_site_id=0', () => {
    expect(parseSystemReplicationStatus(wrap('local_site_id=0'), 10)).toMatchObject({ kind: 'no-sr' });
  });

  it('not primary: only the local site, with its source and primary masters', () => {
    const s = parseSystemReplicationStatus(
      wrap(
        'site/2/REPLICATION_MODE=SYNC',
        'site/2/SITE_NAME=DC02',
        'site/2/SOURCE_SITE_ID=1',
        'site/2/PRIMARY_MASTERS=h02hana0',
        'local_site_id=2',
      ),
      12,
    );
    expect(s).toMatchObject({
      kind: 'not-primary',
      overall: null,
      local: { mode: 'SYNC', siteName: 'DC02', activePrimarySite: 1, primaryMasters: ['h02hana0'] },
    });
  });

  it('no secondaries: a PRIMARY local site and nothing else is NONE (exit 10 only)', () => {
    const text = wrap('site/1/REPLICATION_MODE=PRIMARY', 'site/1/SITE_NAME=DC01', 'local_site_id=1');
    expect(parseSystemReplicationStatus(text, 10)).toMatchObject({ kind: 'primary', overall: 'NONE' });
    expect(() => parseSystemReplicationStatus(text, 15)).toThrow(HanaParseError);
  });

  it('status=ERROR when the nameserver could not give the status', () => {
    const s = parseSystemReplicationStatus(
      wrap('status=ERROR', 'site/1/REPLICATION_MODE=PRIMARY', 'site/1/SITE_NAME=DC01', 'local_site_id=1'),
      11,
    );
    expect(s.overall).toBe('ERROR');
  });

  it('multitarget: the same host/port once per secondary is refused, never merged into one row', () => {
    const row = (site: number, name: string, mode: string, status: string) => [
      'service/h0/30001/HOST=h0',
      'service/h0/30001/PORT=30001',
      'service/h0/30001/SITE_ID=1',
      'service/h0/30001/SITE_NAME=DC01',
      `service/h0/30001/SECONDARY_SITE_ID=${site}`,
      `service/h0/30001/SECONDARY_SITE_NAME=${name}`,
      'service/h0/30001/SECONDARY_ACTIVE_STATUS=YES',
      `service/h0/30001/REPLICATION_MODE=${mode}`,
      `service/h0/30001/REPLICATION_STATUS=${status}`,
      'service/h0/30001/REPLICATION_STATUS_DETAILS=',
    ];
    const text = wrap(
      ...row(2, 'DC02', 'SYNC', 'ACTIVE'),
      ...row(3, 'DC03', 'ASYNC', 'SYNCING'),
      'site/2/SITE_NAME=DC02',
      'site/2/SOURCE_SITE_ID=1',
      'site/2/REPLICATION_MODE=SYNC',
      'site/2/REPLICATION_STATUS=ACTIVE',
      'site/3/SITE_NAME=DC03',
      'site/3/SOURCE_SITE_ID=1',
      'site/3/REPLICATION_MODE=ASYNC',
      'site/3/REPLICATION_STATUS=SYNCING',
      'overall_replication_status=SYNCING',
      'site/1/REPLICATION_MODE=PRIMARY',
      'site/1/SITE_NAME=DC01',
      'local_site_id=1',
    );
    expect(() => parseSystemReplicationStatus(text, 14)).toThrow(/given twice/);
    expect(() => parseSystemReplicationStatus(truncate(text, 12), 14)).toThrow(/truncated/);
  });
});

describe('landscapeHostConfiguration.py and sapcontrol variants', () => {
  it('HANA 1.0 scale-up table with cells that lose their padding', () => {
    const l = parseLandscapeHostConfiguration(fixture('lhc-hana1-scale-up-ok.txt'), 4);
    expect(l.hosts).toMatchObject([{ host: 'hana01', active: 'yes', status: 'ok' }]);
    expect(l.hosts[0]!.columns['indexserver config role']).toBe('worker');
    expect(parseLandscapeHostConfiguration(crlf(fixture('lhc-scale-out-info.txt')), 3).hosts).toHaveLength(4);
  });

  it('GetSystemInstanceList of a scale-out system with a GRAY worker and a standby', () => {
    const list = parseSystemInstanceList(fixture('gsil-scale-out-standby-gray.txt'), 0);
    expect(list.map((i) => [i.hostname, i.instanceNr, i.features.join('|'), i.dispstatus])).toEqual([
      ['hanadb1', '03', 'HDB|HDB_WORKER', 'GREEN'],
      ['hanadb3', '03', 'HDB|HDB_STANDBY', 'GREEN'],
      ['hanadb2', '03', 'HDB|HDB_WORKER', 'GRAY'],
    ]);
    expect(parseSystemInstanceList(fixture('gsil-scale-up-hdb-worker.txt'), 0)).toMatchObject([
      { hostname: 'somehost-vmhana02', instanceNr: '00', httpPort: 50013, features: ['HDB', 'HDB_WORKER'] },
    ]);
  });

  it('GetProcessList: localized timestamps, CRLF, and a textstatus with commas', () => {
    const text = fixture('gpl-running.txt');
    const plain = parseProcessList(text, 3);
    for (const stamp of ['2022-05-11 11:19:18', '05/11/2022 11:19:18 AM', '2022/05/11 11:19:18'])
      expect(parseProcessList(text.replace('11.05.2022 11:19:18', stamp), 3)).toEqual(plain);
    expect(parseProcessList(crlf(text), 3)).toEqual(plain);
    const yellow = text.replace(
      'hdbindexserver, HDB Indexserver-BSD, GREEN, Running,',
      'hdbindexserver, HDB Indexserver-BSD, YELLOW, Initializing, waiting for log replay,',
    );
    const p = parseProcessList(yellow, 0);
    expect(p.processes.find((x) => x.name === 'hdbindexserver')).toMatchObject({
      dispstatus: 'YELLOW',
      textstatus: 'Initializing, waiting for log replay',
      pid: 18210,
    });
    expect(p.allRunning).toBe(false);
    expect(() => parseProcessList(yellow, 3)).toThrow(HanaParseError);
    expect(() => parseProcessList(text.replace('11.05.2022 11:19:18', 'last tuesday'), 3)).toThrow(
      HanaParseError,
    );
  });
});
