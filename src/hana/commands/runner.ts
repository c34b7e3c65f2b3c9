/**
 * Running HANA's command-line tools. The interface is what the command adapter needs; the real
 * implementation spawns with an argument array (never a shell), optionally as `<sid>adm` through
 * `runuser`, kills the whole process group when the deadline passes, and bounds the output.
 *
 * Tools get a minimal environment (toolEnvironment): the search path, home, user, locale, time
 * zone and the SAP variables of a `<sid>adm` session, never the rest of the agent's environment
 * (HANASR_SQL_PASSWORD, cloud keys, Kubernetes service variables...).
 */
import { spawn } from 'node:child_process';
import { realClock, TimeoutError, type Clock } from '../../clock.js';

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly env?: Record<string, string>;
  /** Written to the command's stdin, which is then closed (absent: stdin is /dev/null). */
  readonly input?: string;
}

export interface CommandRunner {
  run(argv: readonly string[], options: RunOptions): Promise<CommandResult>;
}

/** The command printed more than the runner keeps: its answer is not trusted. */
export class CommandOutputLimitError extends Error {
  readonly code = 'OUTPUT_LIMIT' as const;
  constructor(
    readonly command: string,
    readonly limitBytes: number,
  ) {
    super(`${command} printed more than ${limitBytes} bytes`);
    this.name = 'CommandOutputLimitError';
  }
}

/**
 * The variables a HANA tool may see: what a `<sid>adm` login sets up for hdbnsutil, sapcontrol
 * and HDBSettings.sh (search and library paths, the SAP directories, Python for the scripts,
 * the SSL directory of sapcontrol), locale and time zone, and the two variables the simulator's
 * stand-in tools read (HANASR_SIM_URL, HANASR_SIM_SITE). Nothing else passes.
 */
export const TOOL_ENV_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'LD_LIBRARY_PATH',
  'SAPSYSTEMNAME',
  'SAP_RETRIEVAL_PATH',
  'DIR_INSTANCE',
  'DIR_EXECUTABLE',
  'DIR_LIBRARY',
  'DIR_HOME',
  'PYTHONHOME',
  'PYTHONPATH',
  'SECUDIR',
  'HANASR_SIM_URL',
  'HANASR_SIM_SITE',
  'HANASR_SIM_TIMEOUT_MS',
];

/** The allowed subset of `environment` (TOOL_ENV_NAMES and the LC_* locale variables). */
export function toolEnvironment(environment: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) {
    if (value === undefined) continue;
    if (TOOL_ENV_NAMES.includes(name) || /^LC_[A-Z]+$/.test(name)) out[name] = value;
  }
  return out;
}

export interface SpawnCommandRunnerOptions {
  /** Run as this user (e.g. `ha1adm`) through `runuser -u <user> --`. */
  readonly runAs?: string;
  readonly runuserPath?: string;
  readonly clock?: Clock;
  /** Per stream; default 4 MiB. */
  readonly maxOutputBytes?: number;
  /** Time between SIGTERM and SIGKILL of the process group; default 2000 ms. */
  readonly killGraceMs?: number;
  /**
   * Where the tools' variables are picked from (toolEnvironment); default process.env. Picked once,
   * at the first run, and kept: an agent's environment does not change while it runs, and reading
   * every variable of process.env on every spawn was a tenth of what a probe cycle allocated.
   */
  readonly environment?: NodeJS.ProcessEnv;
}

/** Linux user names as useradd accepts them (and nothing a command line could misread). */
export const USER_NAME_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;

/** The argv actually spawned: the command, or `runuser -u <user> -- <command...>`. */
export function spawnArgv(argv: readonly string[], runAs?: string, runuserPath = 'runuser'): string[] {
  if (argv.length === 0 || argv[0] === '') throw new Error('empty command');
  if (runAs === undefined) return [...argv];
  if (!USER_NAME_PATTERN.test(runAs)) throw new Error(`invalid user name "${runAs}"`);
  return [runuserPath, '-u', runAs, '--', ...argv];
}

function commandName(argv: readonly string[]): string {
  const first = argv[0] ?? '';
  return first.slice(first.lastIndexOf('/') + 1);
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export class SpawnCommandRunner implements CommandRunner {
  private readonly clock: Clock;
  private readonly maxOutputBytes: number;
  private readonly killGraceMs: number;
  /** toolEnvironment of `options.environment`, picked at the first run. */
  private toolEnv: Readonly<Record<string, string>> | undefined;

  constructor(private readonly options: SpawnCommandRunnerOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.maxOutputBytes = options.maxOutputBytes ?? 4 * 1024 * 1024;
    this.killGraceMs = options.killGraceMs ?? 2000;
    if (options.runAs !== undefined && !USER_NAME_PATTERN.test(options.runAs)) {
      throw new Error(`invalid user name "${options.runAs}"`);
    }
  }

  private environment(): Readonly<Record<string, string>> {
    this.toolEnv ??= toolEnvironment(this.options.environment ?? process.env);
    return this.toolEnv;
  }

  run(argv: readonly string[], options: RunOptions): Promise<CommandResult> {
    const full = spawnArgv(argv, this.options.runAs, this.options.runuserPath);
    const name = commandName(argv);
    return new Promise<CommandResult>((resolve, reject) => {
      if (options.signal?.aborted) return reject(options.signal.reason);
      const child = spawn(full[0]!, full.slice(1), {
        shell: false,
        detached: true, // own process group, so a timeout kills the tool and everything it started
        stdio: [options.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        env: { ...this.environment(), ...options.env },
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const size = { out: 0, err: 0 };
      let settled = false;
      let cancelTimeout: () => void = () => {};
      let cancelKill: () => void = () => {};
      let closed = false;

      const killGroup = (sig: NodeJS.Signals) => {
        // The group outlives its leader while any member runs; ESRCH means nothing is left.
        if (closed || child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // the group is already gone
        }
      };
      const terminate = () => {
        killGroup('SIGTERM');
        cancelKill = this.clock.setTimer(this.killGraceMs, () => killGroup('SIGKILL'));
      };
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        cancelTimeout();
        options.signal?.removeEventListener('abort', onAbort);
        terminate();
        reject(error);
      };
      const onAbort = () => fail(options.signal?.reason ?? new Error(`${name} aborted`));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      cancelTimeout = this.clock.setTimer(options.timeoutMs, () =>
        fail(new TimeoutError(name, options.timeoutMs)),
      );

      const collect = (chunks: Buffer[], key: 'out' | 'err') => (chunk: Buffer) => {
        if (settled) return;
        size[key] += chunk.length;
        if (size[key] > this.maxOutputBytes)
          return fail(new CommandOutputLimitError(name, this.maxOutputBytes));
        chunks.push(chunk);
      };
      if (options.input !== undefined && child.stdin) {
        // A command that exits without reading its input must not fail the run (EPIPE).
        child.stdin.on('error', () => {});
        child.stdin.end(options.input);
      }
      child.stdout!.on('data', collect(out, 'out'));
      child.stderr!.on('data', collect(err, 'err'));
      child.on('error', (e) => fail(e));
      child.on('close', (code, signal) => {
        closed = true;
        cancelKill();
        if (settled) return;
        settled = true;
        cancelTimeout();
        options.signal?.removeEventListener('abort', onAbort);
        resolve({
          exitCode: code ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
    });
  }
}
