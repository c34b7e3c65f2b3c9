/**
 * HanaPort over HANA's command-line tools, run through a CommandRunner (spawned for real, or the
 * simulator's). Every call has its own deadline on the injected clock; every value that reaches
 * an argv is validated first.
 */
import {
  HOST_PATTERN,
  operationModes,
  replicationModes,
  SID_PATTERN,
  SITE_NAME_PATTERN,
} from '../../api/spec.js';
import { anySignal, TimeoutError, withTimeout, type Clock } from '../../clock.js';
import type { HanaHealth } from '../../domain/types.js';
import {
  HanaActionError,
  type HanaPort,
  type KillOptions,
  type RegisterOptions,
  type StopOptions,
  whenSent,
} from '../port.js';
import { HanaParseError } from '../parsers/errors.js';
import { parseLandscapeHostConfiguration } from '../parsers/landscape.js';
import { parseProcessList, type ProcessList } from '../parsers/sapcontrol.js';
import { parseSrState } from '../parsers/sr-state.js';
import { parseSystemReplicationStatus } from '../parsers/sr-status.js';
import { healthFromSignals, type LagSample, type LagSource, type Signal } from './health.js';
import type { CommandResult, CommandRunner } from './runner.js';

export interface HanaCommandPaths {
  readonly hdbnsutil: string;
  readonly sapcontrol: string;
  readonly hdbSettings: string;
  /** The HDB script (`HDB kill-9`). */
  readonly hdb: string;
}

export interface HanaCommandAdapterConfig {
  readonly sid: string;
  readonly instanceNumber: string;
  readonly siteName: string;
  /** Deadline of each probe command. */
  readonly commandTimeoutMs: number;
  /** Deadline of takeover/register/StartSystem/StopSystem calls (default 10 × commandTimeoutMs). */
  readonly actionTimeoutMs?: number;
  /** How long start()/stop() wait for all processes GREEN/GRAY (default 600 s / 300 s). */
  readonly startWaitMs?: number;
  readonly stopWaitMs?: number;
  /** GetProcessList polling interval while waiting (default 2 s). */
  readonly pollIntervalMs?: number;
  /** Default: /usr/sap/<SID>/HDB<NN>/exe/hdbnsutil, .../exe/sapcontrol, /usr/sap/<SID>/HDB<NN>/HDBSettings.sh and .../HDB */
  readonly paths?: Partial<HanaCommandPaths>;
  readonly runner: CommandRunner;
  readonly clock: Clock;
  readonly lagSource?: LagSource;
  readonly env?: Record<string, string>;
}

export const INSTANCE_NUMBER_PATTERN = /^[0-9]{2}$/;

export function defaultPaths(sid: string, instanceNumber: string): HanaCommandPaths {
  const base = `/usr/sap/${sid}/HDB${instanceNumber}`;
  return {
    hdbnsutil: `${base}/exe/hdbnsutil`,
    sapcontrol: `${base}/exe/sapcontrol`,
    hdbSettings: `${base}/HDBSettings.sh`,
    hdb: `${base}/HDB`,
  };
}

function invalid(what: string, value: string): HanaActionError {
  return new HanaActionError(
    'COMMAND_FAILED',
    `invalid ${what} ${JSON.stringify(value)}: refused before running any command`,
  );
}

function describe(err: unknown): string {
  if (err instanceof TimeoutError) return err.message;
  if (err instanceof HanaParseError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

function lastLine(r: CommandResult): string {
  const lines = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines[lines.length - 1] ?? '';
}

export class HanaCommandAdapter implements HanaPort {
  private readonly paths: HanaCommandPaths;
  private readonly actionTimeoutMs: number;
  /** The last probe found an online primary (its next probe reads the lag beside the tools). */
  private lastPrimaryOnline = false;

  constructor(private readonly config: HanaCommandAdapterConfig) {
    if (!SID_PATTERN.test(config.sid)) throw invalid('SID', config.sid);
    if (!INSTANCE_NUMBER_PATTERN.test(config.instanceNumber))
      throw invalid('instance number', config.instanceNumber);
    if (!SITE_NAME_PATTERN.test(config.siteName)) throw invalid('site name', config.siteName);
    if (!(config.commandTimeoutMs > 0)) throw new Error('commandTimeoutMs must be positive');
    this.paths = { ...defaultPaths(config.sid, config.instanceNumber), ...config.paths };
    this.actionTimeoutMs = config.actionTimeoutMs ?? config.commandTimeoutMs * 10;
  }

  /** Runs one command with its deadline; the runner gets the deadline's signal too. */
  private run(argv: string[], timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    const what = argv
      .slice(0, 2)
      .map((a) => a.slice(a.lastIndexOf('/') + 1))
      .join(' ');
    return withTimeout(this.config.clock, timeoutMs, what, (deadline) => {
      const combined = signal ? anySignal([signal, deadline]) : deadline;
      return this.config.runner.run(argv, {
        timeoutMs,
        signal: combined,
        ...(this.config.env ? { env: this.config.env } : {}),
      });
    });
  }

  private async signal<T>(
    argv: string[],
    parse: (r: CommandResult) => T,
    signal?: AbortSignal,
  ): Promise<Signal<T>> {
    try {
      const r = await this.run(argv, this.config.commandTimeoutMs, signal);
      return { ok: true, value: parse(r) };
    } catch (err) {
      return { ok: false, error: describe(err) };
    }
  }

  private sapcontrol(fn: string, ...args: string[]): string[] {
    return [this.paths.sapcontrol, '-nr', this.config.instanceNumber, '-function', fn, ...args];
  }

  async probe(signal?: AbortSignal): Promise<HanaHealth> {
    // A site that was a writable primary at its last probe reads its lag while its tools run (one
    // SQL round trip beside them, not after them: a slow but answering SQL server plus slow tools
    // then still fit in the probe timeout). The read is used only when the tools say primary again;
    // otherwise it is cut. A site that was not a primary reads it only after the tools, as before.
    const source = this.config.lagSource;
    const early = source && this.lastPrimaryOnline ? new AbortController() : undefined;
    const earlyLag =
      early && source
        ? this.readLag(source, anySignal([early.signal, ...(signal ? [signal] : [])]))
        : undefined;
    const [srState, processes, landscape] = await Promise.all([
      this.signal(
        [this.paths.hdbnsutil, '-sr_state', '--sapcontrol=1'],
        (r) => {
          if (r.exitCode !== 0) throw new Error(`exit code ${r.exitCode}: ${lastLine(r)}`);
          return parseSrState(r.stdout);
        },
        signal,
      ),
      this.signal(this.sapcontrol('GetProcessList'), (r) => parseProcessList(r.stdout, r.exitCode), signal),
      this.signal(
        [this.paths.hdbSettings, 'landscapeHostConfiguration.py'],
        (r) => parseLandscapeHostConfiguration(r.stdout, r.exitCode),
        signal,
      ),
    ]);
    const primaryOnline = srState.ok && srState.value.mode === 'primary' && srState.value.online;
    this.lastPrimaryOnline = primaryOnline === true;
    if (!primaryOnline) {
      early?.abort();
      return healthFromSignals({ siteName: this.config.siteName, srState, processes, landscape });
    }
    // The table form: its layout with several secondaries is published (the key=value form's is not).
    const srStatus = await this.signal(
      [this.paths.hdbSettings, 'systemReplicationStatus.py'],
      (r) => parseSystemReplicationStatus(r.stdout, r.exitCode),
      signal,
    );
    let lag: Signal<ReadonlyMap<string, LagSample>> | undefined;
    if (source && srStatus.ok) lag = await (earlyLag ?? this.readLag(source, signal));
    else early?.abort();
    return healthFromSignals({
      siteName: this.config.siteName,
      srState,
      processes,
      landscape,
      srStatus,
      ...(lag ? { lag } : {}),
    });
  }

  /** The lag from the SQL source within the command timeout; a failure is the signal's error. */
  private async readLag(
    source: LagSource,
    signal: AbortSignal | undefined,
  ): Promise<Signal<ReadonlyMap<string, LagSample>>> {
    try {
      return {
        ok: true,
        value: await withTimeout(this.config.clock, this.config.commandTimeoutMs, 'replication lag', (s) =>
          source.replicationLag(signal ? anySignal([signal, s]) : s),
        ),
      };
    } catch (err) {
      return { ok: false, error: describe(err) };
    }
  }

  private async action(
    argv: string[],
    signal: AbortSignal | undefined,
    succeeded: (r: CommandResult) => boolean,
  ): Promise<CommandResult> {
    let r: CommandResult;
    try {
      r = await this.run(argv, this.actionTimeoutMs, signal);
    } catch (err) {
      if (err instanceof TimeoutError) throw new HanaActionError('TIMEOUT', err.message);
      throw new HanaActionError('UNAVAILABLE', describe(err));
    }
    if (!succeeded(r)) {
      const name = argv
        .slice(0, 2)
        .map((a) => a.slice(a.lastIndexOf('/') + 1))
        .join(' ');
      throw new HanaActionError('COMMAND_FAILED', `${name} failed (exit code ${r.exitCode}): ${lastLine(r)}`);
    }
    return r;
  }

  private static hdbnsutilDone(r: CommandResult): boolean {
    return r.exitCode === 0 && /^done\.$/m.test(r.stdout);
  }

  private static sapcontrolOk(r: CommandResult): boolean {
    return r.exitCode === 0 && /^OK$/m.test(r.stdout);
  }

  async takeover(options: { readonly handshake: boolean }, signal?: AbortSignal): Promise<void> {
    const argv = [this.paths.hdbnsutil, '-sr_takeover', ...(options.handshake ? ['--suspendPrimary'] : [])];
    await this.action(argv, signal, HanaCommandAdapter.hdbnsutilDone);
  }

  async register(options: RegisterOptions, signal?: AbortSignal): Promise<void> {
    if (!HOST_PATTERN.test(options.remoteHost)) throw invalid('remote host', options.remoteHost);
    if (!INSTANCE_NUMBER_PATTERN.test(options.remoteInstance))
      throw invalid('remote instance', options.remoteInstance);
    if (!SITE_NAME_PATTERN.test(options.siteName)) throw invalid('site name', options.siteName);
    if (!SITE_NAME_PATTERN.test(options.remoteSite)) throw invalid('remote site', options.remoteSite);
    if (options.siteName !== this.config.siteName)
      throw invalid('site name (not this site)', options.siteName);
    if (!(replicationModes as readonly string[]).includes(options.replicationMode))
      throw invalid('replication mode', options.replicationMode);
    if (!(operationModes as readonly string[]).includes(options.operationMode))
      throw invalid('operation mode', options.operationMode);
    const argv = [
      this.paths.hdbnsutil,
      '-sr_register',
      `--remoteHost=${options.remoteHost}`,
      `--remoteInstance=${options.remoteInstance}`,
      `--replicationMode=${options.replicationMode}`,
      `--operationMode=${options.operationMode}`,
      `--name=${options.siteName}`,
      ...(options.online ? ['--online'] : []),
    ];
    await this.action(argv, signal, HanaCommandAdapter.hdbnsutilDone);
  }

  /** Polls GetProcessList until `done` says so, bounded by waitMs on the injected clock. */
  private async waitFor(
    what: string,
    waitMs: number,
    done: (p: ProcessList) => boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const clock = this.config.clock;
    const deadline = clock.now() + waitMs;
    const interval = this.config.pollIntervalMs ?? 2000;
    for (;;) {
      const p = await this.signal(
        this.sapcontrol('GetProcessList'),
        (r) => parseProcessList(r.stdout, r.exitCode),
        signal,
      );
      if (p.ok && done(p.value)) return;
      if (clock.now() + interval > deadline) {
        throw new HanaActionError(
          'TIMEOUT',
          `${what} not reached within ${waitMs} ms${p.ok ? '' : ` (${p.error})`}`,
        );
      }
      await clock.sleep(interval, signal);
    }
  }

  async start(signal?: AbortSignal): Promise<void> {
    await this.action(this.sapcontrol('StartSystem', 'HDB'), signal, HanaCommandAdapter.sapcontrolOk);
    await this.waitFor(
      'all processes GREEN',
      this.config.startWaitMs ?? 600_000,
      (p) => p.allRunning,
      signal,
    );
  }

  /**
   * `HDB kill-9`: the HDB script kills every process of the instance with SIGKILL (what SUSE's
   * susChkSrv hook runs for action_on_lost=kill); then waits until GetProcessList shows them all
   * stopped.
   */
  async kill(signal?: AbortSignal, options: KillOptions = {}): Promise<void> {
    await whenSent(this.config.clock, options.onSent, () =>
      this.action([this.paths.hdb, 'kill-9'], signal, (r) => r.exitCode === 0),
    );
    await this.waitFor(
      'all processes stopped after the kill',
      this.config.stopWaitMs ?? 300_000,
      (p) => p.allStopped,
      signal,
    );
  }

  async stop(options: StopOptions, signal?: AbortSignal): Promise<void> {
    if (options.stoppedAtLastProbe === true) {
      // The last probe found every process stopped (a crashed instance): StopSystem would do
      // nothing to it, and a fresh list that still shows them all stopped is the confirmation the
      // wait below would give. A process back, or a list that cannot be read: stopped as usual.
      const p = await this.signal(
        this.sapcontrol('GetProcessList'),
        (r) => parseProcessList(r.stdout, r.exitCode),
        signal,
      );
      if (p.ok && p.value.allStopped) return;
    }
    // A hard stop gives the soft shutdown 0 s before sapstartsrv kills the processes.
    const args = options.hard ? ['StopSystem', 'HDB', '0'] : ['StopSystem', 'HDB'];
    const call = () =>
      this.action(this.sapcontrol(args[0]!, ...args.slice(1)), signal, HanaCommandAdapter.sapcontrolOk);
    await (options.hard ? whenSent(this.config.clock, options.onSent, call) : call());
    await this.waitFor(
      'all processes stopped',
      this.config.stopWaitMs ?? 300_000,
      (p) => p.allStopped,
      signal,
    );
  }
}
