/**
 * The parsers read each output against itself: rows against site lines, the overall line and the
 * exit code (systemReplicationStatus.py), keys HANA prints once (hdbnsutil -sr_state), rows
 * against the exit code (GetProcessList). Where they disagree the worse one wins or the text is
 * refused; an unhealthy system never reads as healthy. The real fixtures must still read as before.
 */
import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import { healthFromSignals } from '../../../src/hana/commands/health.js';
import {
  HanaParseError,
  parseLandscapeHostConfiguration,
  parseProcessList,
  parseSrState,
  parseSystemReplicationStatus,
} from '../../../src/hana/parsers/index.js';
import { replicationStatuses, type ReplicationStatus } from '../../../src/domain/types.js';
import { fixture } from './fixtures.js';

const EXIT: Record<ReplicationStatus, number> = {
  ERROR: 11,
  UNKNOWN: 12,
  INITIALIZING: 13,
  SYNCING: 14,
  ACTIVE: 15,
};
const rank = (s: ReplicationStatus) => replicationStatuses.indexOf(s);

const sync = fixture('srs-primary-sync-active.txt');
const multitier = fixture('srs-primary-multitier-syncmem-async.txt');

describe('systemReplicationStatus.py: rows, site lines, overall line and exit code agree', () => {
  it('an overall ERROR (exit 11) over ACTIVE rows and site lines makes every link ERROR', () => {
    const text = sync.replace(
      'overall system replication status: ACTIVE',
      'overall system replication status: ERROR',
    );
    const s = parseSystemReplicationStatus(text, 11);
    expect(s.overall).toBe('ERROR');
    expect(s.links).toMatchObject([{ secondarySite: 'DC02', status: 'ERROR' }]);
    expect(s.links[0]!.statusDetails).toMatch(/disagrees.*overall status is ERROR/);
  });

  it('the same without site lines (nothing ties the ERROR to one link)', () => {
    const text = sync
      .replace('status system replication site "2": ACTIVE\n', '')
      .replace('overall system replication status: ACTIVE', 'overall system replication status: ERROR');
    expect(parseSystemReplicationStatus(text, 11).links).toMatchObject([{ status: 'ERROR' }]);
  });

  it('an ERROR row under an ACTIVE site line and overall line (exit 15): the link and the overall are ERROR', () => {
    const text = sync.replace(
      '|YES           |SYNC        |ACTIVE      |               |        True |\n|H02      |h02hana0 |39003',
      '|YES           |SYNC        |ERROR       |               |        True |\n|H02      |h02hana0 |39003',
    );
    const s = parseSystemReplicationStatus(text, 15);
    expect(s.links).toMatchObject([{ status: 'ERROR' }]);
    expect(s.overall).toBe('ERROR');
  });

  it('a site line worse than its rows lowers that link only', () => {
    const text = sync.replace(
      'status system replication site "2": ACTIVE',
      'status system replication site "2": SYNCING',
    );
    expect(parseSystemReplicationStatus(text, 15)).toMatchObject({
      overall: 'SYNCING',
      links: [{ status: 'SYNCING' }],
    });
  });

  it('a site line for a site without rows lowers every link', () => {
    const text = sync.replace(
      'status system replication site "2": ACTIVE',
      'status system replication site "2": ACTIVE\nstatus system replication site "3": UNKNOWN',
    );
    const s = parseSystemReplicationStatus(text, 15);
    expect(s.links).toMatchObject([{ secondarySite: 'DC02', status: 'UNKNOWN' }]);
    expect(s.overall).toBe('UNKNOWN');
  });

  it('"NOT MAPPED" (a secondary host without mapping, as SAP\'s script prints it) is read, as ERROR for every link', () => {
    const text = sync
      .replace(
        'status system replication site "2": ACTIVE',
        'status system replication site "2": ACTIVE\nstatus system replication site "NOT MAPPED": ERROR',
      )
      .replace('overall system replication status: ACTIVE', 'overall system replication status: ERROR');
    const s = parseSystemReplicationStatus(text, 11);
    expect(s.links).toMatchObject([{ status: 'ERROR' }]);
  });

  it('"System Replication not active" (exit 10) over listed rows is never in sync', () => {
    const text = sync.replace(
      'overall system replication status: ACTIVE',
      'overall system replication status: System Replication not active',
    );
    const s = parseSystemReplicationStatus(text, 10);
    expect(s.links).toMatchObject([{ status: 'ERROR' }]);
    expect(s.overall).toBe('ERROR');
  });

  it('multitier: an ERROR on the tier-2 -> tier-3 link leaves the tier-1 -> tier-2 link ACTIVE', () => {
    const text = multitier
      .replaceAll('|ASYNC       |ACTIVE      |', '|ASYNC       |ERROR       |')
      .replace('status system replication site "3": ACTIVE', 'status system replication site "3": ERROR')
      .replace('overall system replication status: ACTIVE', 'overall system replication status: ERROR');
    const s = parseSystemReplicationStatus(text, 11);
    expect(s.links.map((l) => [l.sourceSite, l.secondarySite, l.status])).toEqual([
      ['SiteA', 'SiteB', 'ACTIVE'],
      ['SiteB', 'SiteC', 'ERROR'],
    ]);
    expect(s.overall).toBe('ERROR');
  });

  it('two overall lines or two lines for one site are refused', () => {
    expect(() =>
      parseSystemReplicationStatus(
        sync.replace(
          'overall system replication status: ACTIVE',
          'overall system replication status: ERROR\noverall system replication status: ACTIVE',
        ),
        15,
      ),
    ).toThrow(/second overall/);
    expect(() =>
      parseSystemReplicationStatus(
        sync.replace(
          'status system replication site "2": ACTIVE',
          'status system replication site "2": ERROR\nstatus system replication site "2": ACTIVE',
        ),
        15,
      ),
    ).toThrow(/two status lines/);
  });

  it('a "?" in Secondary Fully Synced is not in sync (the column present, its value unknown)', () => {
    const text = sync.replace(
      '|YES           |SYNC        |ACTIVE      |               |        True |\n|H02      |h02hana0 |39003',
      '|YES           |SYNC        |ACTIVE      |               |        ?    |\n|H02      |h02hana0 |39003',
    );
    const s = parseSystemReplicationStatus(text, 15);
    expect(s.links).toMatchObject([{ status: 'ACTIVE', fullySynced: false }]);
    const health = healthFromSignals({
      siteName: 'DC01',
      srState: {
        ok: true,
        value: parseSrState(
          fixture('sr-state-sapcontrol-primary-down.txt')
            .replace('online=false', 'online=true')
            .replace('site id=2', 'site id=1')
            .replace('site name=DC02', 'site name=DC01'),
        ),
      },
      processes: { ok: true, value: parseProcessList(fixture('gpl-running.txt'), 3) },
      landscape: { ok: true, value: parseLandscapeHostConfiguration(fixture('lhc-scale-up-ok.txt'), 4) },
      srStatus: { ok: true, value: s },
    });
    expect(health.replication).toMatchObject([{ secondary: 'DC02', inSync: false }]);
    // Without the column (older releases) the rows' status decides, as before.
    expect(
      parseSystemReplicationStatus(fixture('srs-primary-sync-no-fully-synced-column.txt'), 15).links[0]!
        .fullySynced,
    ).toBeNull();
  });

  it('--sapcontrol=1: a site not fully synced makes its link not fully synced; site keys given twice differently are refused', () => {
    const text = fixture('srs-sapcontrol-sync-active.txt');
    expect(
      parseSystemReplicationStatus(
        text.replace('site/2/SECONDARY_FULLY_SYNCED=True', 'site/2/SECONDARY_FULLY_SYNCED=False'),
        15,
      ).links,
    ).toMatchObject([{ secondarySite: 'DC02', fullySynced: false }]);
    expect(() =>
      parseSystemReplicationStatus(
        text.replace(
          'site/2/REPLICATION_STATUS=ACTIVE',
          'site/2/REPLICATION_STATUS=ERROR\nsite/2/REPLICATION_STATUS=ACTIVE',
        ),
        15,
      ),
    ).toThrow(/given twice/);
    expect(
      parseSystemReplicationStatus(
        text
          .replace(
            'site/2/REPLICATION_STATUS=ACTIVE',
            'site/2/REPLICATION_STATUS=ACTIVE\nsite/3/REPLICATION_STATUS=ERROR',
          )
          .replace('overall_replication_status=ACTIVE', 'overall_replication_status=ERROR'),
        11,
      ).links,
    ).toMatchObject([{ status: 'ERROR' }]);
  });

  it('property: no link reads better than its rows, its site line, or an overall line nothing else explains', () => {
    // The multitier table with a random status per row, per site line and overall line, and the
    // exit code of the overall line (the only combination the parser does not refuse outright).
    const lines = multitier.split('\n');
    const status = fc.constantFrom(...replicationStatuses);
    fc.assert(
      fc.property(
        fc.array(status, { minLength: 6, maxLength: 6 }),
        fc.option(status, { nil: undefined }),
        fc.option(status, { nil: undefined }),
        status,
        (rows, site2, site3, overall) => {
          const text = lines
            .map((l, i) =>
              i >= 3 && i <= 8 ? l.replace(/\|ACTIVE {6}\|/, `|${rows[i - 3]!.padEnd(12)}|`) : l,
            )
            .filter((l) => !(l.includes('site "2"') && site2 === undefined))
            .filter((l) => !(l.includes('site "3"') && site3 === undefined))
            .map((l) =>
              l
                .replace('site "2": ACTIVE', `site "2": ${site2}`)
                .replace('site "3": ACTIVE', `site "3": ${site3}`)
                .replace('status: ACTIVE', `status: ${overall}`),
            )
            .join('\n');
          const s = parseSystemReplicationStatus(text, EXIT[overall]);
          const [ab, bc] = s.links;
          const worstOf = (xs: ReplicationStatus[]) => xs.reduce((w, x) => (rank(x) < rank(w) ? x : w));
          expect(rank(ab!.status)).toBeLessThanOrEqual(
            rank(worstOf([...rows.slice(0, 3), site2 ?? 'ACTIVE'])),
          );
          expect(rank(bc!.status)).toBeLessThanOrEqual(rank(worstOf([...rows.slice(3), site3 ?? 'ACTIVE'])));
          // The overall line is explained by some link, or every link is as bad as it.
          expect(rank(worstOf([ab!.status, bc!.status]))).toBeLessThanOrEqual(rank(overall));
          expect(rank(s.overall as ReplicationStatus)).toBeLessThanOrEqual(
            rank(worstOf([overall, ab!.status, bc!.status])),
          );
        },
      ),
      { numRuns: 300, seed: 13 },
    );
  });
});

describe('hdbnsutil -sr_state: a key HANA prints once, given twice, is refused', () => {
  const plain = fixture('sr-state-primary-async.txt');
  const kv = fixture('sr-state-sapcontrol-multitarget.txt');
  const cases: [string, string][] = [
    ['online: false then online: true', plain.replace('online: true', 'online: false\nonline: true')],
    ['mode twice', plain.replace('operation mode: primary', 'operation mode: primary\nmode: sync')],
    ['site name twice', plain.replace('site name: ABC', 'site name: ABC\nsite name: XYZ')],
    [
      'primary suspended twice',
      plain.replace('is primary suspended: false', 'is primary suspended: false\nis primary suspended: true'),
    ],
    [
      'a flag in both spellings',
      plain.replace('is source system: true', 'is source system: true\nisSource: false'),
    ],
    ['a site fact twice', plain.replace('Tier of XYZ: 2', 'Tier of XYZ: 2\nTier of XYZ: 3')],
    [
      'the tree and a fact disagreeing',
      plain.replace('Replication mode of XYZ: async', 'Replication mode of XYZ: sync'),
    ],
    [
      'a site with two sources',
      plain.replace('Mapping: ABC -> XYZ', 'Mapping: ABC -> XYZ\nMapping: XYZ -> XYZ'),
    ],
    ['online=false then online=true', kv.replace('online=true', 'online=false\nonline=true')],
    ['site id twice', kv.replace('site id=1', 'site id=1\nsite id=2')],
    ['siteTier twice', kv.replace('siteTier/DC02=2', 'siteTier/DC02=2\nsiteTier/DC02=3')],
    [
      'siteMapping: a target with two sources',
      kv.replace('siteMapping/DC02=DC03', 'siteMapping/DC02=DC03\nsiteMapping/DC01=DC03'),
    ],
  ];
  for (const [name, text] of cases) {
    it(name, () => {
      expect(() => parseSrState(text)).toThrow(HanaParseError);
    });
  }

  it('names both lines', () => {
    expect(() => parseSrState(plain.replace('online: true', 'online: false\nonline: true'))).toThrow(
      /"online" given twice \(also on line 4\).*line 5/,
    );
  });

  it('keys that repeat by design still read: one siteMapping line per target, one mapping line per site', () => {
    const s = parseSrState(kv);
    expect(s.sites.filter((x) => x.source === 'DC04').map((x) => x.name)).toEqual(['DC02', 'DC01']);
    expect(s.hostMappings).toHaveLength(4);
  });
});

describe('sapcontrol GetProcessList: "all running" only with exit code 3', () => {
  const running = fixture('gpl-running.txt');
  const stopped = fixture('gpl-stopped.txt');

  it('all rows GREEN under exit code 0 (not all running) is not all running', () => {
    const p = parseProcessList(running, 0);
    expect(p.allRunning).toBe(false);
    expect(p.processes.every((x) => x.dispstatus === 'GREEN')).toBe(true);
  });

  it('all rows GRAY under exit code 0 is not all stopped', () => {
    expect(parseProcessList(stopped, 0).allStopped).toBe(false);
  });

  it('without an exit code neither is claimed', () => {
    expect(parseProcessList(running)).toMatchObject({ allRunning: false, allStopped: false });
    expect(parseProcessList(stopped)).toMatchObject({ allRunning: false, allStopped: false });
  });

  it('exit codes 3 and 4 with matching rows still say so', () => {
    expect(parseProcessList(running, 3).allRunning).toBe(true);
    expect(parseProcessList(stopped, 4).allStopped).toBe(true);
  });
});
