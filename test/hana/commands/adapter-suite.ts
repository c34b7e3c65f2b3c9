/**
 * One behaviour suite for HanaCommandAdapter, run against the simulator in-process
 * (SimCommandRunner) and through the fake executables (SpawnCommandRunner + control server).
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import type { Clock } from '../../../src/clock.js';
import { HanaCommandAdapter, type HanaCommandAdapterConfig } from '../../../src/hana/commands/adapter.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../../src/hana/commands/runner.js';
import { HanaActionError } from '../../../src/hana/port.js';
import { SimLandscape } from '../../../src/standins/hana-sim/model.js';

export const SITES = [
  { name: 'SiteA', host: 'hana-a' },
  { name: 'SiteB', host: 'hana-b' },
];

export interface Harness {
  readonly landscape: SimLandscape;
  /** Clock the adapter uses. */
  readonly clock: Clock;
  readonly commandTimeoutMs: number;
  runner(site: string): CommandRunner;
  paths(): NonNullable<HanaCommandAdapterConfig['paths']>;
  /** Moves simulated time on (model state: replication, restarts). */
  advanceModel(ms: number): Promise<void>;
  /** Awaits an adapter call, moving time as the harness needs. */
  settle<T>(p: Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Records every argv that reaches the runner (a real runner underneath). */
class RecordingRunner implements CommandRunner {
  readonly calls: string[][] = [];
  constructor(private readonly inner: CommandRunner) {}
  run(argv: readonly string[], options: RunOptions): Promise<CommandResult> {
    this.calls.push([...argv]);
    return this.inner.run(argv, options);
  }
}

export function adapterSuite(name: string, makeHarness: () => Promise<Harness>): void {
  describe(`HanaCommandAdapter against the simulator (${name})`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await makeHarness();
      await h.advanceModel(60_000);
    });
    afterEach(async () => {
      await h.close();
    });

    const adapter = (site: string, runner?: CommandRunner) =>
      new HanaCommandAdapter({
        sid: 'HA1',
        instanceNumber: '00',
        siteName: site,
        commandTimeoutMs: h.commandTimeoutMs,
        actionTimeoutMs: h.commandTimeoutMs,
        pollIntervalMs: 1000,
        startWaitMs: 600_000,
        stopWaitMs: 20_000,
        paths: h.paths(),
        runner: runner ?? h.runner(site),
        clock: h.clock,
      });

    it('reads the primary: running, writable, its SYNC secondary in sync', async () => {
      const health = await h.settle(adapter('SiteA').probe());
      expect(health).toMatchObject({
        probeOk: true,
        running: true,
        srRole: 'primary',
        acceptsWrites: true,
        suspended: false,
        landscapeStatus: 4,
        overallReplicationStatus: 'ACTIVE',
      });
      expect(health.replication).toMatchObject([
        {
          secondary: 'SiteB',
          mode: 'sync',
          operationMode: 'logreplay',
          status: 'ACTIVE',
          inSync: true,
          lagSeconds: null,
          lagBytes: null,
        },
      ]);
      expect(health.processes['hdbnameserver']).toBe('GREEN');
    });

    it('reads the secondary: running, not writable, its source, no links of its own', async () => {
      const health = await h.settle(adapter('SiteB').probe());
      expect(health).toMatchObject({
        probeOk: true,
        running: true,
        srRole: 'secondary',
        source: 'SiteA',
        srMode: 'sync',
        acceptsWrites: false,
        replication: [],
      });
    });

    it('keeps the configured role of a crashed primary with running false', async () => {
      h.landscape.crashInstance('SiteA');
      await h.advanceModel(1000);
      const health = await h.settle(adapter('SiteA').probe());
      expect(health).toMatchObject({ srRole: 'primary', running: false, acceptsWrites: false });
    });

    it('a node that is down fails the probe (never running)', async () => {
      h.landscape.crashNode('SiteA');
      await h.advanceModel(1000);
      const health = await h.settle(adapter('SiteA').probe());
      expect(health).toMatchObject({ probeOk: false, running: false, acceptsWrites: false });
      expect(health.probeError).toMatch(/GetProcessList/);
    });

    it('a frozen site times out: probe fails, never healthy', async () => {
      h.landscape.freezeSite('SiteA');
      const health = await h.settle(adapter('SiteA').probe());
      expect(health).toMatchObject({ probeOk: false, running: false, acceptsWrites: false });
      expect(health.probeError).toMatch(/timed out/);
    });

    it('a cut replication network turns the link out of sync after the log-shipping timeout', async () => {
      h.landscape.blockReplication('SiteA');
      await h.advanceModel(45_000);
      const health = await h.settle(adapter('SiteA').probe());
      expect(health.probeOk).toBe(true);
      expect(health.replication[0]).toMatchObject({ secondary: 'SiteB', inSync: false });
      expect(health.overallReplicationStatus).not.toBe('ACTIVE');
    });

    it('takes over on the secondary after the primary crashed', async () => {
      h.landscape.crashInstance('SiteA');
      await h.advanceModel(1000);
      await h.settle(adapter('SiteB').takeover({ handshake: false }));
      await h.advanceModel(5000);
      const health = await h.settle(adapter('SiteB').probe());
      expect(health).toMatchObject({ srRole: 'primary', running: true, acceptsWrites: true });
    });

    it('stops and starts a site, waiting for the processes', async () => {
      const b = adapter('SiteB');
      await h.settle(b.stop({ hard: false }));
      expect(await h.settle(b.probe())).toMatchObject({ running: false, srRole: 'secondary' });
      await h.settle(b.start());
      expect(await h.settle(b.probe())).toMatchObject({ running: true, srRole: 'secondary' });
    });

    // primaryStartSeen tells a start by hand from an indexserver restart by this pid.
    it('lists the nameserver pid: an indexserver restart keeps it, a start makes a new one', async () => {
      const a = adapter('SiteA');
      const before = await h.settle(a.probe());
      expect(before.nameserverPid).toEqual(expect.any(Number));
      h.landscape.killIndexserver('SiteA');
      await h.advanceModel(3000);
      // Restarting or, where the harness moved time on while probing (real processes at 50x: a
      // slow probe under load saw the restart already complete on Node 24), restarted: the same
      // nameserver either way, which is what tells it from a start.
      const restarting = await h.settle(a.probe());
      expect(restarting).toMatchObject({ srRole: 'primary', nameserverPid: before.nameserverPid });
      h.landscape.crashInstance('SiteA');
      h.landscape.restartInstance('SiteA');
      await h.advanceModel(1000);
      // Starting or, where the harness moved time on while probing, started: new processes.
      const started = await h.settle(a.probe());
      expect(started).toMatchObject({ srRole: 'primary' });
      expect(started.nameserverPid).toEqual(expect.any(Number));
      expect(started.nameserverPid).not.toBe(before.nameserverPid);
    });

    // A crashed instance the last probe found stopped: a fresh GetProcessList that still shows
    // every process stopped confirms the stop on its own (StopSystem does nothing to a stopped
    // instance, and each tool call is time before the leader key can be handed on).
    it('a stop of an instance the last probe found stopped: one fresh GetProcessList, no StopSystem', async () => {
      h.landscape.crashInstance('SiteB');
      const recording = new RecordingRunner(h.runner('SiteB'));
      const b = adapter('SiteB', recording);
      expect(await h.settle(b.probe())).toMatchObject({ running: false });
      recording.calls.length = 0;
      await h.settle(b.stop({ hard: true, stoppedAtLastProbe: true }));
      expect(recording.calls.map((c) => c.slice(1).join(' '))).toEqual(['-nr 00 -function GetProcessList']);
    });

    it('the hint, but the instance runs (started since the probe): StopSystem runs and is waited for', async () => {
      const recording = new RecordingRunner(h.runner('SiteB'));
      const b = adapter('SiteB', recording);
      await h.settle(b.stop({ hard: true, stoppedAtLastProbe: true }));
      expect(recording.calls.some((c) => c.includes('StopSystem'))).toBe(true);
      expect(h.landscape.site('SiteB').snapshot().running).toBe(false);
    });

    it('the hint, but GetProcessList cannot be read: unknown is not stopped, StopSystem runs', async () => {
      h.landscape.crashInstance('SiteB');
      const inner = h.runner('SiteB');
      let garbled = 0;
      const runner: CommandRunner = {
        run: (argv, options) =>
          argv.includes('GetProcessList') && garbled++ === 0
            ? Promise.resolve({ exitCode: 4, stdout: 'not a process list\n', stderr: '' })
            : inner.run(argv, options),
      };
      const recording = new RecordingRunner(runner);
      await h.settle(adapter('SiteB', recording).stop({ hard: true, stoppedAtLastProbe: true }));
      expect(garbled).toBeGreaterThan(1);
      expect(recording.calls.some((c) => c.includes('StopSystem'))).toBe(true);
    });

    it('a hung site: the hard stop does not complete, HDB kill-9 stops it', async () => {
      const b = adapter('SiteB');
      h.landscape.hangInstance('SiteB');
      await expect(h.settle(b.stop({ hard: true }))).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(h.landscape.site('SiteB').snapshot().running).toBe(true);
      await h.settle(b.kill());
      expect(h.landscape.site('SiteB').snapshot()).toMatchObject({ running: false, hung: false });
      expect(await h.settle(b.probe())).toMatchObject({ running: false, srRole: 'secondary' });
    });

    it('refuses invalid values before any command runs', async () => {
      const recording = new RecordingRunner(h.runner('SiteB'));
      const b = adapter('SiteB', recording);
      const base = {
        remoteSite: 'SiteA',
        remoteHost: 'hana-a',
        remoteInstance: '00',
        replicationMode: 'sync',
        operationMode: 'logreplay',
        siteName: 'SiteB',
      } as const;
      await expect(b.register({ ...base, remoteHost: 'hana-a;reboot' })).rejects.toBeInstanceOf(
        HanaActionError,
      );
      await expect(b.register({ ...base, remoteInstance: '0 0' })).rejects.toBeInstanceOf(HanaActionError);
      await expect(b.register({ ...base, siteName: '--name=x' })).rejects.toBeInstanceOf(HanaActionError);
      await expect(b.register({ ...base, siteName: 'SiteC' })).rejects.toBeInstanceOf(HanaActionError);
      expect(recording.calls).toEqual([]);
      expect(
        () =>
          new HanaCommandAdapter({
            sid: 'ha1',
            instanceNumber: '00',
            siteName: 'SiteA',
            commandTimeoutMs: 1000,
            runner: recording,
            clock: h.clock,
          }),
      ).toThrow(HanaActionError);
      expect(
        () =>
          new HanaCommandAdapter({
            sid: 'HA1',
            instanceNumber: '0',
            siteName: 'SiteA',
            commandTimeoutMs: 1000,
            runner: recording,
            clock: h.clock,
          }),
      ).toThrow(HanaActionError);
    });

    it('a takeover on a frozen site ends at its deadline with TIMEOUT', async () => {
      h.landscape.freezeSite('SiteB');
      await expect(h.settle(adapter('SiteB').takeover({ handshake: true }))).rejects.toMatchObject({
        code: 'TIMEOUT',
      });
    });

    it('a takeover the simulator refuses is a COMMAND_FAILED action error', async () => {
      await expect(h.settle(adapter('SiteA').takeover({ handshake: false }))).rejects.toMatchObject({
        code: 'COMMAND_FAILED',
      });
    });
  });
}

export const MODEL_OPTIONS = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: SITES,
  initialPrimary: 'SiteA',
  mode: 'sync',
  operationMode: 'logreplay',
  logShippingTimeoutSeconds: 30,
  seed: 7,
  writesPerSecond: 20,
  startSeconds: 5,
} as const;
