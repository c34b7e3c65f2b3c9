import { describe, it, expect } from 'vitest';
import { VirtualClock } from '../../../src/clock.js';
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
import { SimLandscape } from '../../../src/standins/hana-sim/model.js';
import {
  renderLandscapeHostConfiguration,
  renderProcessList,
  renderSrState,
  renderSystemInstanceList,
  renderSystemReplicationStatus,
} from '../../../src/standins/hana-sim/render.js';
import type { SimSiteSnapshot } from '../../../src/standins/hana-sim/snapshot.js';
import { MODEL_OPTIONS } from './adapter-suite.js';

function healthOf(s: SimSiteSnapshot, form: 'plain' | 'sapcontrol') {
  const sr = renderSrState(s, form);
  const procs = renderProcessList(s);
  const land = renderLandscapeHostConfiguration(s);
  const srState = parseSrState(sr.stdout);
  const primaryOnline = srState.mode === 'primary' && srState.online;
  const status = primaryOnline
    ? renderSystemReplicationStatus(s, form === 'plain' ? 'table' : 'sapcontrol')
    : undefined;
  return healthFromSignals({
    siteName: s.site,
    srState: { ok: true, value: srState },
    processes: { ok: true, value: parseProcessList(procs.stdout, procs.exitCode) },
    landscape: { ok: true, value: parseLandscapeHostConfiguration(land.stdout, land.exitCode) },
    ...(status
      ? {
          srStatus: {
            ok: true as const,
            value: parseSystemReplicationStatus(status.stdout, status.exitCode),
          },
        }
      : {}),
  });
}

function expectAgrees(s: SimSiteSnapshot): void {
  for (const form of ['plain', 'sapcontrol'] as const) {
    const h = healthOf(s, form);
    expect(h.probeOk, `${s.site} ${form}: ${h.probeError ?? ''}`).toBe(true);
    expect(h.srRole).toBe(s.srMode === 'primary' ? 'primary' : s.srMode === 'none' ? 'none' : 'secondary');
    expect(h.running).toBe(
      s.running &&
        s.landscapeStatus >= 2 &&
        s.processes.some((p) => p.name === 'hdbnameserver' && p.dispstatus === 'GREEN'),
    );
    expect(h.suspended).toBe(s.running && s.suspended);
    if (s.srMode === 'primary' && s.running) {
      expect(h.replication.map((l) => [l.secondary, l.mode, l.status, l.inSync])).toEqual(
        s.links.map((l) => [
          l.secondarySite,
          l.mode,
          l.status,
          l.status === 'ACTIVE' && l.secondaryActive && l.fullySynced,
        ]),
      );
    } else {
      expect(h.replication).toEqual([]);
    }
    if (s.srMode !== 'primary' && s.srMode !== 'none' && s.running) expect(h.source).toBe(s.source?.site);
  }
}

describe('simulator renderers -> parsers round trip', () => {
  it('agrees with the model through steady state, a cut network, a crash and a takeover', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
    const sites = [...MODEL_OPTIONS.sites, { name: 'SiteC', host: 'hana-c', source: 'SiteB' }];
    const landscape = new SimLandscape({ ...MODEL_OPTIONS, sites, clock });
    try {
      const check = () => {
        for (const name of landscape.siteNames()) expectAgrees(landscape.site(name).snapshot());
      };
      await clock.advanceBy(60_000);
      check();
      landscape.blockReplication('SiteA');
      await clock.advanceBy(45_000);
      check();
      landscape.unblockReplication('SiteA');
      await clock.advanceBy(60_000);
      check();
      landscape.crashInstance('SiteA');
      await clock.advanceBy(1000);
      check();
      landscape.site('SiteB').takeover({ handshake: false });
      await clock.advanceBy(10_000);
      check();
      const b = landscape.site('SiteB').snapshot();
      expect(b.srMode).toBe('primary');
    } finally {
      landscape.dispose();
    }
  });

  it('renders a multitier secondary whose source is tier 2, in both forms', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
    const sites = [...MODEL_OPTIONS.sites, { name: 'SiteC', host: 'hana-c', source: 'SiteB' }];
    const landscape = new SimLandscape({ ...MODEL_OPTIONS, sites, clock });
    try {
      await clock.advanceBy(60_000);
      const a = landscape.site('SiteA').snapshot();
      const c = landscape.site('SiteC').snapshot();
      for (const form of ['plain', 'sapcontrol'] as const) {
        const sr = parseSrState(renderSrState(c, form).stdout);
        expect(sr.sites.find((s) => s.name === 'SiteC')).toMatchObject({ source: 'SiteB', mode: 'sync' });
        expect(sourceSiteOf(sr)).toBe('SiteB');
        // The primary's configuration knows the whole tree.
        const tree = parseSrState(renderSrState(a, form).stdout);
        expect(tree.sites.map((s) => [s.name, s.tier, s.source])).toEqual(
          expect.arrayContaining([
            ['SiteA', 1, null],
            ['SiteB', 2, 'SiteA'],
            ['SiteC', 3, 'SiteB'],
          ]),
        );
      }
      const status = renderSystemReplicationStatus(c);
      expect(parseSystemReplicationStatus(status.stdout, status.exitCode).kind).toBe('not-primary');
      const list = renderSystemInstanceList(c);
      expect(parseSystemInstanceList(list.stdout, list.exitCode)[0]).toMatchObject({
        hostname: 'hana-c',
        instanceNr: '00',
        dispstatus: 'GREEN',
      });
    } finally {
      landscape.dispose();
    }
  });
});

describe('simulator renderers on hand-built snapshots', () => {
  const base: SimSiteSnapshot = {
    sid: 'HA1',
    instanceNumber: '00',
    site: 'SiteA',
    siteId: 1,
    host: 'hana-a',
    now: Date.UTC(2026, 0, 5, 8, 0, 0),
    nodeUp: true,
    running: false,
    frozen: false,
    processes: [
      {
        name: 'hdbdaemon',
        description: 'HDB Daemon',
        dispstatus: 'GRAY',
        textstatus: 'Stopped',
        starttime: '',
        elapsedtime: '',
        pid: 0,
      },
    ],
    landscapeStatus: 1,
    srMode: 'primary',
    operationMode: 'logreplay',
    suspended: false,
    takeoverActive: false,
    links: [],
    topology: [
      { name: 'SiteA', siteId: 1, host: 'hana-a', mode: 'primary', operationMode: 'logreplay' },
      { name: 'SiteB', siteId: 2, host: 'hana-b', mode: 'sync', operationMode: 'logreplay', source: 'SiteA' },
    ],
    logAreaFull: false,
  };

  it('a stopped primary: online false, nameserver not responding, all stopped, landscape ERROR', () => {
    const sr = parseSrState(renderSrState(base).stdout);
    expect(sr).toMatchObject({
      online: false,
      mode: 'primary',
      nameserverNotResponding: true,
      primarySuspended: null,
    });
    expect(parseSrState(renderSrState(base, 'sapcontrol').stdout)).toMatchObject({
      online: false,
      mode: 'primary',
    });
    const procs = renderProcessList(base);
    expect(procs.exitCode).toBe(4);
    expect(parseProcessList(procs.stdout, procs.exitCode).allStopped).toBe(true);
    const land = renderLandscapeHostConfiguration(base);
    expect(parseLandscapeHostConfiguration(land.stdout, land.exitCode)).toMatchObject({
      overall: 1,
      nameserverNotResponding: true,
    });
    const status = renderSystemReplicationStatus(base);
    expect(parseSystemReplicationStatus(status.stdout, status.exitCode)).toMatchObject({
      kind: 'no-sr',
      nameserverNotResponding: true,
    });
  });

  it('a primary with an ERROR link and one INITIALIZING: exit code of the worst, both links parsed', () => {
    const link = {
      secondarySite: 'SiteB',
      secondarySiteId: 2,
      secondaryHost: 'hana-b',
      mode: 'sync' as const,
      operationMode: 'logreplay' as const,
      status: 'ERROR' as const,
      statusDetails: 'Communication channel closed',
      secondaryActive: false,
      fullySynced: false,
      lastLogPosition: 1000,
      lastLogPositionTime: base.now,
      shippedLogPosition: 900,
      shippedLogPositionTime: base.now - 5000,
      replayedLogPosition: 900,
      replayedLogPositionTime: base.now - 5000,
      backlogSize: 6400,
      backlogTimeMicros: 5_000_000,
      shippedLogBuffersCount: 10,
      shippedLogBuffersSize: 640,
      shippedLogBuffersDurationMicros: 100,
    };
    const s: SimSiteSnapshot = {
      ...base,
      running: true,
      processes: [
        {
          name: 'hdbdaemon',
          description: 'HDB Daemon',
          dispstatus: 'GREEN',
          textstatus: 'Running',
          starttime: '2026 01 05 07:00:00',
          elapsedtime: '1:00:00',
          pid: 10,
        },
        {
          name: 'hdbnameserver',
          description: 'HDB Nameserver',
          dispstatus: 'GREEN',
          textstatus: 'Running',
          starttime: '2026 01 05 07:00:00',
          elapsedtime: '1:00:00',
          pid: 11,
        },
      ],
      landscapeStatus: 4,
      links: [
        link,
        {
          ...link,
          secondarySite: 'SiteC',
          secondarySiteId: 3,
          secondaryHost: 'hana-c',
          mode: 'async',
          status: 'INITIALIZING',
          statusDetails: 'Full Replica: 10 % (100/1000 MB)',
          secondaryActive: true,
        },
      ],
    };
    const r = renderSystemReplicationStatus(s, 'table');
    expect(r.exitCode).toBe(11);
    const parsed = parseSystemReplicationStatus(r.stdout, r.exitCode);
    expect(parsed.links.map((l) => [l.secondarySite, l.mode, l.status])).toEqual([
      ['SiteB', 'sync', 'ERROR'],
      ['SiteC', 'async', 'INITIALIZING'],
    ]);
    // The key=value form repeats service keys per secondary; the parser refuses to guess which is which.
    const kv = renderSystemReplicationStatus(s, 'sapcontrol');
    expect(() => parseSystemReplicationStatus(kv.stdout, kv.exitCode)).toThrow(HanaParseError);
  });
});
