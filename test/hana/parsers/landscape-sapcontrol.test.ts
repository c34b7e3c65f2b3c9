import { describe, it, expect } from 'vitest';
import {
  HanaParseError,
  parseLandscapeHostConfiguration,
  parseProcessList,
  parseSystemInstanceList,
} from '../../../src/hana/parsers/index.js';
import { fixture, truncate } from './fixtures.js';

describe('parseLandscapeHostConfiguration', () => {
  it('reads a scale-up host (OK, exit 4)', () => {
    const l = parseLandscapeHostConfiguration(fixture('lhc-scale-up-ok.txt'), 4);
    expect(l).toMatchObject({ overall: 4, overallText: 'ok', nameserverNotResponding: false });
    expect(l.hosts).toMatchObject([{ host: 'node1', active: 'yes', status: 'ok' }]);
    expect(l.hosts[0]!.columns['nameserver actual role']).toBe('master');
  });

  it('reads a scale-out landscape with three header rows (INFO, exit 3)', () => {
    const l = parseLandscapeHostConfiguration(fixture('lhc-scale-out-info.txt'), 3);
    expect(l.overall).toBe(3);
    expect(l.hosts.map((h) => h.host)).toEqual(['dru-s4dan', 'dru-s4danw1', 'dru-s4danw2', 'dru-s4danw3']);
    expect(l.hosts[3]!.columns['indexserver config role']).toBe('standby');
  });

  it('reads HANA down (ERROR, exit 1, nameserver not responding)', () => {
    expect(parseLandscapeHostConfiguration(fixture('lhc-down-error.txt'), 1)).toMatchObject({
      overall: 1,
      nameserverNotResponding: true,
      hosts: [{ active: 'no', status: 'error' }],
    });
  });

  it('throws when the exit code contradicts the text, or is out of range', () => {
    expect(() => parseLandscapeHostConfiguration(fixture('lhc-down-error.txt'), 4)).toThrow(/contradicts/);
    expect(() => parseLandscapeHostConfiguration(fixture('lhc-scale-up-ok.txt'), 7)).toThrow(HanaParseError);
  });

  it('throws on empty, truncated and unknown text', () => {
    expect(() => parseLandscapeHostConfiguration('', 4)).toThrow(HanaParseError);
    const text = fixture('lhc-scale-out-info.txt');
    const n = text.trimEnd().split('\n').length;
    for (let keep = 0; keep < n; keep++)
      expect(() => parseLandscapeHostConfiguration(truncate(text, keep), 3)).toThrow(HanaParseError);
    expect(() =>
      parseLandscapeHostConfiguration(
        fixture('lhc-scale-up-ok.txt').replace('overall host status: ok', 'overall host status: splendid'),
        4,
      ),
    ).toThrow(/unknown overall/);
  });
});

describe('parseProcessList', () => {
  it('reads all GREEN (exit 3), keeps tenant duplicates', () => {
    const p = parseProcessList(fixture('gpl-running.txt'), 3);
    expect(p.allRunning).toBe(true);
    expect(p.processes.find((x) => x.name === 'hdbnameserver')).toMatchObject({
      dispstatus: 'GREEN',
      textstatus: 'Running',
      pid: 17951,
      starttime: '2022 05 10 14:45:54',
    });
    expect(
      parseProcessList(fixture('gpl-running-tenants.txt'), 3).processes.filter(
        (x) => x.name === 'hdbindexserver',
      ),
    ).toHaveLength(2);
  });

  it('reads all stopped (exit 4) with empty time fields', () => {
    expect(parseProcessList(fixture('gpl-stopped.txt'), 4)).toMatchObject({
      allStopped: true,
      processes: [{ name: 'hdbdaemon', dispstatus: 'GRAY', starttime: '' }],
    });
  });

  it('throws on FAIL (sapstartsrv down) and on exit codes that contradict the rows', () => {
    expect(() => parseProcessList(fixture('gpl-refused.txt'), 1)).toThrow(/FAIL/);
    expect(() => parseProcessList(fixture('gpl-stopped.txt'), 3)).toThrow(HanaParseError);
    expect(() => parseProcessList(fixture('gpl-running.txt'), 4)).toThrow(HanaParseError);
    expect(() => parseProcessList(fixture('gpl-running.txt'), 1)).toThrow(HanaParseError);
  });

  it('throws on empty, truncated, unknown colours and broken rows', () => {
    expect(() => parseProcessList('', 3)).toThrow(HanaParseError);
    expect(() => parseProcessList(truncate(fixture('gpl-running.txt'), 5))).toThrow(/no process rows/);
    expect(() =>
      parseProcessList(
        fixture('gpl-running.txt').replace(
          'GREEN, Running, 2022 05 10 14:45:54, 20:33:24, 17951',
          'PURPLE, Running, 2022 05 10 14:45:54, 20:33:24, 17951',
        ),
      ),
    ).toThrow(/dispstatus/);
    expect(() => parseProcessList(fixture('gpl-running.txt').replace(', 17951', ''))).toThrow(/fields/);
  });
});

describe('parseSystemInstanceList', () => {
  it('reads instances with features', () => {
    expect(parseSystemInstanceList(fixture('gsil-ascs-ers.txt'), 0)).toEqual([
      {
        hostname: 'sapen2er',
        instanceNr: '01',
        httpPort: 50113,
        httpsPort: 50114,
        startPriority: '0.5',
        features: ['ENQREP'],
        dispstatus: 'GREEN',
      },
      {
        hostname: 'sapen2as',
        instanceNr: '00',
        httpPort: 50013,
        httpsPort: 50014,
        startPriority: '1',
        features: ['MESSAGESERVER', 'ENQUE'],
        dispstatus: 'GREEN',
      },
    ]);
  });

  it('throws on FAIL and truncation', () => {
    expect(() =>
      parseSystemInstanceList(
        fixture('gpl-refused.txt').replace('GetProcessList', 'GetSystemInstanceList'),
        1,
      ),
    ).toThrow(HanaParseError);
    expect(() => parseSystemInstanceList(truncate(fixture('gsil-ascs-ers.txt'), 5), 0)).toThrow(
      HanaParseError,
    );
  });
});
