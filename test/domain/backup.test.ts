import { describe, expect, it } from 'vitest';
import { backupSpecSchema, parseSpec, type BackupSpec } from '../../src/api/spec.js';
import {
  backupDue,
  backupHealth,
  retentionPlan,
  withRun,
  type BackupCatalogEntry,
  type BackupDueInput,
  type BackupFacts,
  type BackupRun,
} from '../../src/domain/backup.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const MIN = 60_000;
const H = 3_600_000;
const spec = (over: object = {}): BackupSpec => backupSpecSchema.parse({ schedule: '0 0 * * *', ...over });

const run = (over: Partial<BackupRun>): BackupRun => ({
  id: `s-${T0}`,
  kind: 'scheduled',
  slot: T0,
  attempt: 1,
  site: 'A',
  epoch: 1,
  state: 'succeeded',
  startedAt: T0 + 5000,
  endedAt: T0 + 60_000,
  message: 'done',
  ...over,
});

const running = (): BackupRun => {
  const { endedAt: _ended, ...r } = run({ state: 'running' });
  return r;
};

const input = (over: Partial<BackupDueInput> = {}): BackupDueInput => ({
  backup: spec(),
  self: 'A',
  leader: true,
  writable: true,
  epoch: 1,
  state: undefined,
  requests: [],
  inFlight: null,
  databases: ['SYSTEMDB', 'HA1'],
  maxSkewMs: 1000,
  now: T0 + 10_000,
  ...over,
});

describe('backupDue', () => {
  const cases: [string, Partial<BackupDueInput>, string, string?][] = [
    ['a secondary never backs up, even when a slot is due', { leader: false }, 'none:not_leader'],
    [
      'a leader whose HANA does not take writes starts nothing',
      { writable: false },
      'none:primary_not_writable',
    ],
    ['the slot is due on the primary', {}, 'start:scheduled', `s-${T0}`],
    ['nothing is started in maintenance mode', { maintenance: true }, 'none:maintenance'],
    ['the slot already ran', { state: { runs: [run({})] } }, 'none:slot_done'],
    ['a slot missed beyond the starting deadline is skipped', { now: T0 + 2 * H }, 'none:slot_missed'],
    [
      'a backup taken after the slot covers it',
      { newestSuccessful: { SYSTEMDB: T0 + 5000, HA1: T0 + 6000 } },
      'none:slot_covered',
    ],
    [
      'a backup from before the slot does not cover it',
      { newestSuccessful: { SYSTEMDB: T0 - 1000, HA1: T0 + 6000 } },
      'start:scheduled',
    ],
    [
      'a backup within the skew bound of the slot does not cover it',
      { newestSuccessful: { SYSTEMDB: T0 + 500, HA1: T0 + 500 } },
      'start:scheduled',
    ],
    [
      'a run in progress here',
      { inFlight: `s-${T0}`, state: { runs: [run({ state: 'running' })] } },
      'none:backup_running',
    ],
    [
      'a run left running by the old primary is interrupted and retried by the new one',
      { self: 'B', epoch: 2, state: { runs: [running()] } },
      'start:retry_interrupted',
      `s-${T0}`,
    ],
    [
      'a run left running by this agent before it restarted is interrupted and retried',
      { state: { runs: [running()] } },
      'start:retry_interrupted',
    ],
    [
      'a failed run waits for retryDelaySeconds',
      { state: { runs: [run({ state: 'failed', endedAt: T0 + 8000 })] } },
      'none:slot_done',
    ],
    [
      'a failed run is retried after retryDelaySeconds',
      { now: T0 + 8000 + 300_000, state: { runs: [run({ state: 'failed', endedAt: T0 + 8000 })] } },
      'start:retry_failed',
    ],
    [
      'no attempt beyond maxAttempts',
      { now: T0 + 20 * MIN, state: { runs: [run({ state: 'failed', attempt: 3, endedAt: T0 + 8000 })] } },
      'none:slot_done',
    ],
    [
      'a failed run is not retried when a backup taken since covers its slot (e.g. after a takeover)',
      {
        now: T0 + 8000 + 300_000,
        newestSuccessful: { SYSTEMDB: T0 + 200_000, HA1: T0 + 210_000 },
        state: { runs: [run({ state: 'failed', endedAt: T0 + 8000 })] },
      },
      'none:slot_done',
    ],
    [
      'an interrupted run is not retried when a backup taken since covers its slot',
      {
        self: 'B',
        epoch: 2,
        newestSuccessful: { SYSTEMDB: T0 + 7000, HA1: T0 + 8000 },
        state: { runs: [running()] },
      },
      'none:slot_done',
    ],
    [
      'a failed run of an older slot is not retried once the next slot came',
      {
        now: T0 + 24 * H + 10_000,
        state: { runs: [run({ state: 'failed', endedAt: T0 + 8000 })] },
      },
      'start:scheduled',
      `s-${T0 + 24 * H}`,
    ],
    [
      'after a takeover: a backup at once when the newest successful one is from another site',
      { self: 'B', epoch: 2, now: T0 + 5 * H, state: { runs: [run({})] } },
      'start:after_takeover',
      't-2',
    ],
    [
      'after a takeover, once',
      {
        self: 'B',
        epoch: 2,
        now: T0 + 6 * H,
        state: {
          runs: [
            run({}),
            run({
              id: 't-2',
              kind: 'after-takeover',
              slot: null,
              site: 'B',
              epoch: 2,
              startedAt: T0 + 5 * H,
            }),
          ],
        },
      },
      'none:slot_done',
    ],
    [
      'afterTakeover: false',
      {
        backup: spec({ afterTakeover: false }),
        self: 'B',
        epoch: 2,
        now: T0 + 5 * H,
        state: { runs: [run({})] },
      },
      'none:slot_done',
    ],
    [
      'the same site back at a new epoch (a store outage) is no takeover',
      { epoch: 2, now: T0 + 5 * H, state: { runs: [run({})] } },
      'none:slot_done',
    ],
    [
      'a manual request in this epoch',
      { requests: [{ id: 'r1', epoch: 1 }], state: { runs: [run({})] } },
      'start:manual_backup',
      'm-r1',
    ],
  ];
  it.each(cases)('%s', (_name, over, expected, id) => {
    const d = backupDue(input(over));
    expect(`${d.kind}:${d.reason}`).toBe(expected);
    expect(d.message.length).toBeGreaterThan(0);
    if (id !== undefined && d.kind === 'start') expect(d.run.id).toBe(id);
  });

  it("a new region after a switchover: no run in its store, the catalog's newest backup not readable here: it takes its own", () => {
    // The other region's runs live in the other region's store; the catalog replicated with the log.
    const newestSuccessful = { SYSTEMDB: T0 + 5000, HA1: T0 + 6000 };
    const seen = (readable: Record<string, boolean | null>) => ({
      runs: [],
      facts: facts({ site: 'C', observedAt: T0 + 9000, readable }),
    });
    const d = backupDue(input({ self: 'C', newestSuccessful, state: seen({ SYSTEMDB: false, HA1: false }) }));
    expect(`${d.kind}:${d.reason}`).toBe('start:after_takeover');
    if (d.kind === 'start') expect(d.run).toMatchObject({ id: 't-1', kind: 'after-takeover' });
    // Readable from here (a shared destination both regions read): the slot stays covered.
    expect(
      backupDue(input({ self: 'C', newestSuccessful, state: seen({ SYSTEMDB: true, HA1: true }) })).reason,
    ).toBe('slot_covered');
    // Not yet read by this site (no facts of its own): nothing assumed either way.
    expect(backupDue(input({ self: 'C', newestSuccessful })).reason).toBe('slot_covered');
  });

  it('back in the old region after a switchover and back: its own older run in the store, the newest backup (taken in the other region) not readable here: it takes its own', () => {
    // eu-west's store holds A's run of epoch 1; C backed up in eu-north meanwhile (the catalog has
    // it); A leads again at epoch 2 and cannot read C's files from its destination.
    const newestSuccessful = { SYSTEMDB: T0 + 5000, HA1: T0 + 6000 };
    const state = (readable: Record<string, boolean | null>) => ({
      runs: [run({})],
      facts: facts({ site: 'A', observedAt: T0 + 9000, readable }),
    });
    const d = backupDue(input({ epoch: 2, newestSuccessful, state: state({ SYSTEMDB: false, HA1: false }) }));
    expect(`${d.kind}:${d.reason}`).toBe('start:after_takeover');
    if (d.kind === 'start') expect(d.run).toMatchObject({ id: 't-2', kind: 'after-takeover' });
    // Readable from here: nothing to do (the day's slot ran).
    expect(
      backupDue(input({ epoch: 2, newestSuccessful, state: state({ SYSTEMDB: true, HA1: true }) })).reason,
    ).toBe('slot_done');
    // The same term that already ran a backup here (no takeover): no second after-takeover run.
    expect(
      backupDue(input({ epoch: 1, newestSuccessful, state: state({ SYSTEMDB: false, HA1: false }) })).kind,
    ).toBe('none');
  });

  it('a manual request from an older epoch is refused, not run', () => {
    const d = backupDue(input({ epoch: 2, requests: [{ id: 'r1', epoch: 1 }], state: { runs: [run({})] } }));
    expect(d.refuse).toEqual(['r1']);
    expect(d.kind === 'start' && d.run.kind === 'manual').toBe(false);
  });

  it('the interrupted run is handed back to be recorded, with why', () => {
    const d = backupDue(input({ self: 'B', epoch: 2, state: { runs: [running()] } }));
    expect(d.interrupt.map((r) => r.id)).toEqual([`s-${T0}`]);
    expect(d.kind === 'start' && d.run.attempt).toBe(2);
  });

  it('a doubled run is impossible across a takeover: once recorded, the slot is never due again', () => {
    // Walk the minutes of a day with the leader moving A -> B at 00:00:30; each start is recorded.
    let state = { runs: [] as BackupRun[] };
    const starts: string[] = [];
    const inFlight: Record<string, string | null> = { A: null, B: null };
    for (let t = T0; t < T0 + 2 * H; t += 10_000) {
      const site = t < T0 + 30_000 ? 'A' : 'B';
      const epoch = site === 'A' ? 1 : 2;
      const d = backupDue(
        input({
          self: site,
          epoch,
          now: t,
          state,
          inFlight: inFlight[site]!,
          backup: spec({ afterTakeover: false }),
        }),
      );
      for (const r of d.interrupt)
        state = withRun(state, { ...r, state: 'interrupted', endedAt: t }) as { runs: BackupRun[] };
      if (d.kind === 'start') {
        starts.push(`${site}:${d.run.id}#${d.run.attempt}`);
        if (site === 'A') inFlight['A'] = d.run.id;
        // A starts and is cut off (still running); B's attempt succeeds.
        state = withRun(state, {
          ...d.run,
          site,
          epoch,
          state: site === 'A' ? 'running' : 'succeeded',
          startedAt: t,
          message: '',
        }) as { runs: BackupRun[] };
      }
    }
    expect(starts).toEqual([`A:s-${T0}#1`, `B:s-${T0}#2`]);
  });
});

const entry = (over: Partial<BackupCatalogEntry>): BackupCatalogEntry => ({
  backupId: '1',
  database: 'HA1',
  entryType: 'complete data backup',
  state: 'successful',
  startedAt: T0,
  endedAt: T0 + MIN,
  bytes: 1e9,
  destinationType: 'file',
  paths: ['/b/x'],
  ...over,
});

const facts = (over: Partial<BackupFacts> = {}): BackupFacts => ({
  site: 'A',
  observedAt: T0 + 2 * H,
  databases: ['SYSTEMDB', 'HA1'],
  catalog: [
    entry({ backupId: '10', database: 'SYSTEMDB', startedAt: T0 + 10_000 }),
    entry({ backupId: '11', database: 'HA1', startedAt: T0 + 20_000 }),
    entry({ backupId: '12', database: 'HA1', entryType: 'log backup', startedAt: T0 + H, endedAt: T0 + H }),
    entry({
      backupId: '13',
      database: 'SYSTEMDB',
      entryType: 'log backup',
      startedAt: T0 + H,
      endedAt: T0 + H,
    }),
  ],
  logMode: 'normal',
  autoLogBackup: true,
  readable: { SYSTEMDB: true, HA1: true },
  ...over,
});

describe('backupHealth', () => {
  const opts = { staleAfterMs: 5 * MIN, maxSkewMs: 1000 };
  const now = T0 + 2 * H;
  const cases: [string, BackupSpec, Partial<BackupFacts> | null, number, string][] = [
    ['healthy', spec(), {}, now, 'BackupsOk'],
    ['no facts: unknown is not healthy', spec(), null, now, 'BackupStateUnknown'],
    ['stale facts', spec(), { observedAt: now - 10 * MIN }, now, 'BackupStateUnknown'],
    ['catalog unreadable', spec(), { error: 'timeout' }, now, 'BackupStateUnknown'],
    ['no backup at all', spec(), { catalog: [] }, now, 'NoSuccessfulBackup'],
    [
      'too old a day later plus margin',
      spec(),
      { observedAt: T0 + 25 * H + MIN },
      T0 + 25 * H + MIN,
      'BackupTooOld',
    ],
    [
      'within the margin a day later',
      spec(),
      { observedAt: T0 + 24 * H + 30 * MIN },
      T0 + 24 * H + 30 * MIN,
      'LogBackupStalled',
    ],
    [
      'not readable from this destination',
      spec(),
      { readable: { SYSTEMDB: true, HA1: false } },
      now,
      'BackupNotReadable',
    ],
    [
      'readability not confirmed',
      spec(),
      { readable: { SYSTEMDB: true, HA1: null } },
      now,
      'BackupNotReadable',
    ],
    ['readability never checked', spec(), { readable: { SYSTEMDB: true } }, now, 'BackupNotReadable'],
    ['log backups off', spec(), { autoLogBackup: false }, now, 'LogBackupDisabled'],
    ['log_mode overwrite', spec(), { logMode: 'overwrite' }, now, 'LogBackupDisabled'],
    ['log state unknown', spec(), { logMode: null }, now, 'LogBackupDisabled'],
    [
      'log backups not required',
      spec({ logBackup: { required: false } }),
      { autoLogBackup: false },
      now,
      'BackupsOk',
    ],
    [
      'log backups stalled past maxAge',
      spec({ logBackup: { maxAgeSeconds: 600 } }),
      {},
      now,
      'LogBackupStalled',
    ],
  ];
  it.each(cases)('%s', (_n, backup, f, at, reason) => {
    const h = backupHealth(backup, f === null ? undefined : { runs: [], facts: facts(f) }, at, opts);
    expect(h.reason).toBe(reason);
    expect(h.healthy).toBe(reason === 'BackupsOk');
    expect(h.message.length).toBeGreaterThan(0);
  });

  describe('log backups before the first one, and log waiting for backup (M_LOG_SEGMENTS)', () => {
    const dataOnly = (startedAt: number) => [
      entry({ backupId: '10', database: 'SYSTEMDB', startedAt }),
      entry({ backupId: '11', database: 'HA1', startedAt }),
    ];
    const logs = spec({ logBackup: { maxAgeSeconds: 900 } });
    it('the first data backup a few minutes ago, no log backup yet: within the grace, healthy', () => {
      const at = T0 + 10 * MIN;
      const h = backupHealth(
        logs,
        { runs: [], facts: facts({ catalog: dataOnly(T0), observedAt: at }) },
        at,
        opts,
      );
      expect(h.logStalled).toBe(false);
      expect(h.reason).toBe('BackupsOk');
    });
    it('no log backup at all, maxAge after the first data backup: stalled', () => {
      const at = T0 + 16 * MIN;
      const h = backupHealth(
        logs,
        { runs: [], facts: facts({ catalog: dataOnly(T0), observedAt: at }) },
        at,
        opts,
      );
      expect(h.logStalled).toBe(true);
      expect(h.reason).toBe('LogBackupStalled');
      expect(h.message).toMatch(/no log backup yet/);
    });
    it('no backup at all while log backups are required: the log flag is up too (none can start)', () => {
      const h = backupHealth(logs, { runs: [], facts: facts({ catalog: [] }) }, now, opts);
      expect(h.reason).toBe('NoSuccessfulBackup');
      expect(h.logStalled).toBe(true);
      const relaxed = backupHealth(
        spec({ logBackup: { required: false } }),
        { runs: [], facts: facts({ catalog: [] }) },
        now,
        opts,
      );
      expect(relaxed.logStalled).toBe(false);
    });
    it('a recent log backup in the catalog, but closed log segments wait for backup past maxAge: falling behind', () => {
      // facts(): log backups of both databases an hour ago; with maxAge 2 h the catalog looks fine.
      const backlog = spec({ logBackup: { maxAgeSeconds: 7200 } });
      const ok = backupHealth(backlog, { runs: [], facts: facts() }, now, opts);
      expect(ok.reason).toBe('BackupsOk');
      const behind = facts({
        logBacklog: {
          HA1: { waitingSegments: 9, waitingBytes: 9 * 2 ** 30, oldestWaitingAgeSeconds: 7300 },
          SYSTEMDB: { waitingSegments: 0, waitingBytes: 0, oldestWaitingAgeSeconds: null },
        },
      });
      const h = backupHealth(backlog, { runs: [], facts: behind }, now, opts);
      expect(h.reason).toBe('LogBackupStalled');
      expect(h.logStalled).toBe(true);
      expect(h.message).toMatch(/HA1: 9 log segments \(9216 MB\) wait for backup, the oldest for 7300 s/);
      expect(h.databases.find((d) => d.database === 'HA1')).toMatchObject({
        logSegmentsWaiting: 9,
        logBytesWaiting: 9 * 2 ** 30,
      });
      // The same backlog, younger than maxAge (counted from when it was read): fine.
      const young = facts({
        logBacklog: { HA1: { waitingSegments: 2, waitingBytes: 2 ** 31, oldestWaitingAgeSeconds: 600 } },
      });
      expect(backupHealth(backlog, { runs: [], facts: young }, now, opts).reason).toBe('BackupsOk');
      // Log backups not required: a backlog is no alarm.
      expect(
        backupHealth(spec({ logBackup: { required: false } }), { runs: [], facts: behind }, now, opts).reason,
      ).toBe('BackupsOk');
    });
  });

  it('a run that failed every attempt is not healthy', () => {
    const h = backupHealth(
      spec(),
      { runs: [run({ state: 'failed', attempt: 3, message: 'disk full' })], facts: facts() },
      now,
      opts,
    );
    expect(h.reason).toBe('BackupFailing');
  });
});

describe('retentionPlan', () => {
  const data = (id: string, daysAgo: number, over: Partial<BackupCatalogEntry> = {}) =>
    entry({ backupId: id, startedAt: T0 - daysAgo * 86_400_000, ...over });
  const catalog = [
    data('1', 5),
    data('2', 4),
    data('3', 3, { state: 'failed' }),
    data('4', 2),
    data('5', 1, { entryType: 'log backup' }),
    data('6', 0),
  ];
  const f = facts({ catalog, readable: { HA1: true } });
  it.each([
    ['count 2 keeps 6 and 4', { count: 2 }, [{ database: 'HA1', beforeId: '4', deletes: 3 }]],
    ['count 10 keeps all', { count: 10 }, []],
    ['age 2.5 days keeps 6 and 4', { maxAgeDays: 2.5 }, [{ database: 'HA1', beforeId: '4', deletes: 3 }]],
    ['age 1 day keeps only the newest', { maxAgeDays: 1 }, [{ database: 'HA1', beforeId: '6', deletes: 5 }]],
    [
      'count 1 or age 4.5: the more conservative',
      { count: 1, maxAgeDays: 4.5 },
      [{ database: 'HA1', beforeId: '2', deletes: 1 }],
    ],
  ])('%s', (_n, retention, steps) => {
    expect(retentionPlan(spec({ retention }), f, T0).steps).toEqual(steps);
  });

  it('deletes nothing while the newest backup is not confirmed readable', () => {
    const plan = retentionPlan(
      spec({ retention: { count: 1 } }),
      facts({ catalog, readable: { HA1: false } }),
      T0,
    );
    expect(plan.steps).toEqual([]);
    expect(plan.skipped).toEqual(['HA1']);
  });

  it('no retention configured: nothing', () => {
    expect(retentionPlan(spec(), f, T0).steps).toEqual([]);
  });
});

describe('spec.backup', () => {
  const base = {
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'a' },
      { name: 'B', host: 'b' },
    ],
  };
  it('defaults: daily at 00:00 UTC, file destination, all databases, log backups required, afterTakeover', () => {
    const s = parseSpec({ ...base, backup: {} });
    expect(s.backup).toMatchObject({
      schedule: '0 0 * * *',
      destination: { type: 'file', prefix: 'hanasr' },
      scope: 'site',
      logBackup: { required: true, maxAgeSeconds: 3600 },
      afterTakeover: true,
    });
    expect(parseSpec(base).backup).toBeUndefined();
  });
  it.each([
    [{ schedule: '61 * * * *' }, 'backup.schedule: not a cron expression: minute: 61 is outside 0-59'],
    [{ timeZone: 'Nowhere/Land' }, 'backup.timeZone'],
    [{ destination: { type: 'file', prefix: "x'); DROP" } }, 'backup.destination.prefix'],
    [{ destination: { type: 'backint' } }, 'backup.destination.parameterFile'],
    [{ databases: ['ha1'] }, 'backup.databases'],
    [{ retention: { count: 0 } }, 'backup.retention.count'],
  ])('refuses %j', (backup, message) => {
    expect(() => parseSpec({ ...base, backup })).toThrow(message);
  });
});
