import { describe, it, expect } from 'vitest';
import { HanaParseError, parseSrState, sourceSiteOf } from '../../../src/hana/parsers/index.js';
import { fixture, truncate } from './fixtures.js';

describe('parseSrState (plain form)', () => {
  it('reads a primary with an async secondary', () => {
    const s = parseSrState(fixture('sr-state-primary-async.txt'));
    expect(s).toMatchObject({
      form: 'plain',
      online: true,
      mode: 'primary',
      siteId: 1,
      siteName: 'ABC',
      isSource: true,
      primarySuspended: false,
    });
    expect(s.sites.find((x) => x.name === 'XYZ')).toMatchObject({
      tier: 2,
      mode: 'async',
      operationMode: 'logreplay',
      source: 'ABC',
    });
    expect(sourceSiteOf(s)).toBeNull();
  });

  it('reads a multitier primary and its tiers', () => {
    const s = parseSrState(fixture('sr-state-primary-multitier.txt'));
    expect(s.mode).toBe('primary');
    expect(s.sites.map((x) => [x.name, x.tier, x.mode, x.source])).toEqual([
      ['SiteA', 1, 'primary', null],
      ['SiteB', 2, 'syncmem', 'SiteA'],
      ['SiteC', 3, 'async', 'SiteB'],
    ]);
    expect(s.hostMappings).toContainEqual({ localHost: 'cl-hdb-1', site: 'SiteC', host: 'cl-hdb-3' });
  });

  it('reads a tier-2 secondary that is also a source', () => {
    const s = parseSrState(fixture('sr-state-secondary-tier2.txt'));
    expect(s).toMatchObject({
      mode: 'syncmem',
      operationMode: 'logreplay',
      siteName: 'SiteB',
      isSource: true,
      isSecondary: true,
      activePrimarySite: 1,
    });
    expect(s.primaryMasters).toEqual(['cl-hdb-1']);
    expect(sourceSiteOf(s)).toBe('SiteA');
  });

  it('reads a tier-3 secondary whose source is tier 2', () => {
    const s = parseSrState(fixture('sr-state-secondary-tier3.txt'));
    expect(s).toMatchObject({ mode: 'async', siteName: 'SiteC', activePrimarySite: 2 });
    expect(sourceSiteOf(s)).toBe('SiteB');
  });

  it('keeps the configured role when HANA is down (online: false, unknown flags)', () => {
    const s = parseSrState(fixture('sr-state-secondary-offline.txt'));
    expect(s).toMatchObject({
      online: false,
      mode: 'async',
      operationMode: 'unknown',
      isSource: null,
      hasSecondaries: null,
      siteName: 'SiteA',
    });
    expect(sourceSiteOf(s)).toBeNull();
  });

  it('notes "nameserver ... not responding." before the state', () => {
    const s = parseSrState(fixture('sr-state-down-nameserver-not-responding.txt'));
    expect(s).toMatchObject({ online: false, nameserverNotResponding: true });
  });

  it('reads a lone primary after a takeover and a syncmem/logreplay_readaccess topology', () => {
    expect(parseSrState(fixture('sr-state-primary-alone-after-takeover.txt'))).toMatchObject({
      mode: 'primary',
      hasSecondaries: false,
      siteName: 'SiteC',
    });
    const s = parseSrState(fixture('sr-state-primary-syncmem-readaccess.txt'));
    expect(s.sites.find((x) => x.name === 'HO2_22')).toMatchObject({
      mode: 'syncmem',
      operationMode: 'logreplay_readaccess',
    });
  });
});

describe('parseSrState (--sapcontrol=1 form)', () => {
  it('reads mode none', () => {
    expect(parseSrState(fixture('sr-state-sapcontrol-none.txt'))).toMatchObject({
      form: 'sapcontrol',
      online: true,
      mode: 'none',
      siteName: null,
    });
  });

  it('reads a multitarget secondary and finds its source from siteMapping', () => {
    const s = parseSrState(fixture('sr-state-sapcontrol-multitarget.txt'));
    expect(s).toMatchObject({ mode: 'sync', siteName: 'DC01', isSecondary: true, activePrimarySite: 4 });
    expect(sourceSiteOf(s)).toBe('DC04');
    expect(s.sites.find((x) => x.name === 'DC03')).toMatchObject({ tier: 3, source: 'DC02', mode: 'sync' });
  });

  it('reads a stopped secondary and a stopped primary', () => {
    expect(parseSrState(fixture('sr-state-sapcontrol-secondary-down.txt'))).toMatchObject({
      online: false,
      mode: 'sync',
      siteName: 'DC02',
    });
    expect(parseSrState(fixture('sr-state-sapcontrol-primary-down.txt'))).toMatchObject({
      online: false,
      mode: 'primary',
      primarySuspended: null,
    });
  });
});

describe('parseSrState rejects what it does not understand', () => {
  const bad: [string, string][] = [
    ['empty', ''],
    ['blank lines', '\n\n  \n'],
    ['an error message', 'error: could not connect to nameserver\nfailed.'],
    ['an unknown mode', fixture('sr-state-primary-async.txt').replace('mode: primary\n', 'mode: semisync\n')],
    [
      'a line of garbage',
      fixture('sr-state-primary-async.txt').replace('Host Mappings:', 'Host Mappings:\n%%% garbage %%%'),
    ],
    [
      'online neither true nor false',
      fixture('sr-state-primary-async.txt').replace('online: true', 'online: maybe'),
    ],
    [
      'the sapcontrol form without its end marker',
      truncate(fixture('sr-state-sapcontrol-multitarget.txt'), 10),
    ],
  ];
  for (const [name, text] of bad) {
    it(`throws HanaParseError on ${name}`, () => {
      expect(() => parseSrState(text)).toThrow(HanaParseError);
    });
  }

  it('throws on every truncation of a real output (no "done.")', () => {
    const text = fixture('sr-state-primary-multitier.txt');
    const lines = text.split('\n');
    const doneAt = lines.indexOf('done.');
    for (let keep = 0; keep < doneAt; keep++) {
      expect(() => parseSrState(truncate(text, keep)), `kept ${keep} lines`).toThrow(HanaParseError);
    }
  });

  it('carries code PARSE, the line and its number', () => {
    const text = fixture('sr-state-primary-async.txt').replace('mode: primary\n', 'mode: semisync\n');
    try {
      parseSrState(text);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(HanaParseError);
      const e = err as HanaParseError;
      expect(e.code).toBe('PARSE');
      expect(e.line).toBe('mode: semisync');
      expect(e.lineNumber).toBe(text.split('\n').indexOf('mode: semisync') + 1);
    }
  });
});
