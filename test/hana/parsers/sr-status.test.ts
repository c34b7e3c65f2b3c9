import { describe, it, expect } from 'vitest';
import { HanaParseError, parseSystemReplicationStatus } from '../../../src/hana/parsers/index.js';
import { fixture, truncate } from './fixtures.js';

describe('parseSystemReplicationStatus', () => {
  it('reads a SYNC primary with Fully Synced column, services merged into one link', () => {
    const s = parseSystemReplicationStatus(fixture('srs-primary-sync-active.txt'), 15);
    expect(s).toMatchObject({
      kind: 'primary',
      form: 'table',
      overall: 'ACTIVE',
      local: { mode: 'PRIMARY', siteId: 1, siteName: 'DC01' },
    });
    expect(s.services).toHaveLength(3);
    expect(s.links).toEqual([
      {
        sourceSiteId: 1,
        sourceSite: 'DC01',
        secondarySiteId: 2,
        secondarySite: 'DC02',
        mode: 'sync',
        status: 'ACTIVE',
        statusDetails: '',
        secondaryActive: true,
        fullySynced: true,
      },
    ]);
  });

  it('reads the older table without Fully Synced', () => {
    const s = parseSystemReplicationStatus(fixture('srs-primary-sync-no-fully-synced-column.txt'), 15);
    expect(s.links).toMatchObject([
      { secondarySite: 'world2', mode: 'sync', status: 'ACTIVE', fullySynced: null },
    ]);
  });

  it('keys multitier links by source and secondary (SYNCMEM tier 2, ASYNC tier 3)', () => {
    const s = parseSystemReplicationStatus(fixture('srs-primary-multitier-syncmem-async.txt'), 15);
    expect(s.links.map((l) => [l.sourceSite, l.secondarySite, l.mode, l.status])).toEqual([
      ['SiteA', 'SiteB', 'syncmem', 'ACTIVE'],
      ['SiteB', 'SiteC', 'async', 'ACTIVE'],
    ]);
    expect(s.siteStatus.get(3)).toBe('ACTIVE');
  });

  it('tolerates indentation (ASYNC primary after a DR takeover)', () => {
    const s = parseSystemReplicationStatus(fixture('srs-primary-async-active.txt'), 15);
    expect(s.links).toMatchObject([
      { sourceSite: 'SiteC', secondarySite: 'SiteA', mode: 'async', status: 'ACTIVE' },
    ]);
  });

  it('reads a cut-off secondary as ERROR / not active, and the tier-3 link as UNKNOWN', () => {
    const s = parseSystemReplicationStatus(fixture('srs-primary-error-connection-timeout.txt'), 11);
    expect(s.overall).toBe('ERROR');
    expect(s.links).toMatchObject([
      {
        secondarySite: 'SiteB',
        status: 'ERROR',
        secondaryActive: false,
        fullySynced: false,
        statusDetails: 'Communication channel closed',
      },
      { secondarySite: 'SiteC', status: 'UNKNOWN', secondaryActive: false },
    ]);
  });

  it('reads "IS PRIMARY (e.g. after takeover)" rows as ERROR without a mode', () => {
    const s = parseSystemReplicationStatus(fixture('srs-primary-is-primary-after-takeover.txt'), 11);
    expect(s.links).toMatchObject([
      { secondarySiteId: 1, secondarySite: '', mode: null, status: 'ERROR', secondaryActive: false },
    ]);
  });

  it('reads INITIALIZING (full replica) as the worst service status', () => {
    const s = parseSystemReplicationStatus(fixture('srs-primary-initializing-full-replica.txt'), 13);
    expect(s.overall).toBe('INITIALIZING');
    expect(s.links[0]).toMatchObject({ secondarySite: 'NUREMBERG', status: 'INITIALIZING' });
    expect(s.links[0]!.statusDetails).toContain('Full Replica: 92 %');
  });

  it('reads the --sapcontrol=1 form with log positions', () => {
    const s = parseSystemReplicationStatus(fixture('srs-sapcontrol-sync-active.txt'), 15);
    expect(s).toMatchObject({
      form: 'sapcontrol',
      kind: 'primary',
      overall: 'ACTIVE',
      local: { siteId: 1, siteName: 'DC01', mode: 'PRIMARY' },
    });
    expect(s.services).toHaveLength(3);
    expect(s.services[0]).toMatchObject({
      lastLogPosition: 59600896,
      shippedLogPosition: 59600896,
      fullySynced: true,
    });
    expect(s.links).toMatchObject([{ secondarySite: 'DC02', mode: 'sync', status: 'ACTIVE' }]);
  });

  it('reads "not running or not primary" on a secondary, with its local block', () => {
    const s = parseSystemReplicationStatus(fixture('srs-secondary-not-primary.txt'), 12);
    expect(s).toMatchObject({
      kind: 'not-primary',
      overall: null,
      links: [],
      local: { mode: 'SYNC', siteName: 'world2', activePrimarySite: 1 },
    });
  });

  it('reads "not a system replication site", also with the nameserver down', () => {
    expect(parseSystemReplicationStatus(fixture('srs-not-sr-site.txt'), 10)).toMatchObject({ kind: 'no-sr' });
    expect(parseSystemReplicationStatus(fixture('srs-down-not-sr-site.txt'), 10)).toMatchObject({
      kind: 'no-sr',
      nameserverNotResponding: true,
    });
  });
});

describe('parseSystemReplicationStatus rejects what it does not understand', () => {
  it('throws when the exit code contradicts the overall status', () => {
    expect(() => parseSystemReplicationStatus(fixture('srs-primary-sync-active.txt'), 11)).toThrow(
      HanaParseError,
    );
    expect(() =>
      parseSystemReplicationStatus(fixture('srs-primary-error-connection-timeout.txt'), 15),
    ).toThrow(/contradicts/);
  });

  it('throws on an exit code outside 10-15 (the script crashed)', () => {
    expect(() => parseSystemReplicationStatus(fixture('srs-primary-sync-active.txt'), 1)).toThrow(
      HanaParseError,
    );
  });

  it('throws on "not primary" with an ACTIVE exit code', () => {
    expect(() => parseSystemReplicationStatus(fixture('srs-secondary-not-primary.txt'), 15)).toThrow(
      HanaParseError,
    );
  });

  it('throws on empty text, unknown words, a broken row and a traceback', () => {
    expect(() => parseSystemReplicationStatus('', 15)).toThrow(HanaParseError);
    expect(() =>
      parseSystemReplicationStatus(
        fixture('srs-primary-sync-active.txt').replaceAll('|ACTIVE      |', '|GREAT       |'),
        15,
      ),
    ).toThrow(/unknown replication status/);
    expect(() =>
      parseSystemReplicationStatus(
        fixture('srs-primary-sync-active.txt').replace('|YES           |SYNC', '|YES |x |SYNC'),
        15,
      ),
    ).toThrow(/cells/);
    expect(() =>
      parseSystemReplicationStatus(
        'Traceback (most recent call last):\n  File "systemReplicationStatus.py"',
        15,
      ),
    ).toThrow(HanaParseError);
  });

  it('throws on every truncation that loses the overall line or the local block', () => {
    for (const [name, code] of [
      ['srs-primary-sync-active.txt', 15],
      ['srs-primary-error-connection-timeout.txt', 11],
      ['srs-sapcontrol-sync-active.txt', 15],
    ] as const) {
      const text = fixture(name);
      const lines = text.trimEnd().split('\n');
      for (let keep = 0; keep < lines.length - 1; keep++) {
        let parsed: ReturnType<typeof parseSystemReplicationStatus> | undefined;
        try {
          parsed = parseSystemReplicationStatus(truncate(text, keep), code);
        } catch (err) {
          expect(err).toBeInstanceOf(HanaParseError);
        }
        // A cut that still parses must keep the whole meaning: never a rosier status than the full text.
        if (parsed) expect(parsed.local?.siteName, `${name} kept ${keep}`).toBeTruthy();
      }
    }
  });
});
