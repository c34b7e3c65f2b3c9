/**
 * The simulator's command faces: an argv as hdbnsutil, sapcontrol or HDBSettings.sh would get it,
 * answered from a SimSiteControl with the text and exit code real HANA prints (render.ts).
 * A frozen site answers once it thaws (the caller's deadline may end the call first); a node that
 * is down answers like an unreachable host.
 */
import { operationModes, replicationModes } from '../../api/spec.js';
import { TimeoutError, type Clock } from '../../clock.js';
import type { OperationMode, ReplicationMode } from '../../domain/types.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../hana/commands/runner.js';
import {
  renderLandscapeHostConfiguration,
  renderProcessList,
  renderSapcontrolFail,
  renderSapcontrolOk,
  renderSapcontrolRefused,
  renderSrState,
  renderSystemInstanceList,
  renderSystemReplicationStatus,
  type RenderedCommand,
} from './render.js';
import { SimCommandError, type SimSiteControl } from './snapshot.js';

/** How often a command waiting on a frozen site looks whether it thawed. */
const THAW_POLL_MS = 250;

/** What executing an argv against a site gives: an answer, or no answer at all (frozen). */
export type SimExecution =
  { readonly kind: 'answer'; readonly result: RenderedCommand } | { readonly kind: 'hang' };

const answer = (result: RenderedCommand): SimExecution => ({ kind: 'answer', result });
const fail = (stderr: string, exitCode = 1): SimExecution => answer({ exitCode, stdout: '', stderr });

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function flags(args: readonly string[]): Map<string, string | true> {
  const m = new Map<string, string | true>();
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq > 0) m.set(a.slice(0, eq).replace(/^-+/, ''), a.slice(eq + 1));
    else m.set(a.replace(/^-+/, ''), true);
  }
  return m;
}

function hdbnsutil(control: SimSiteControl, args: readonly string[]): SimExecution {
  const [verb, ...rest] = args;
  const f = flags(rest);
  const run = (fn: () => void, lines: string[]): SimExecution => {
    try {
      fn();
      return answer({ exitCode: 0, stdout: [...lines, 'done.'].join('\n') + '\n', stderr: '' });
    } catch (err) {
      if (err instanceof SimCommandError)
        return answer({ exitCode: err.exitCode, stdout: `${err.message}\nfailed.\n`, stderr: '' });
      throw err;
    }
  };
  switch (verb) {
    case '-sr_state':
      return answer(renderSrState(control.snapshot(), f.get('sapcontrol') === '1' ? 'sapcontrol' : 'plain'));
    case '-sr_takeover':
      return run(() => control.takeover({ handshake: f.has('suspendPrimary') }), []);
    case '-sr_register': {
      const remoteHost = f.get('remoteHost');
      const remoteInstance = f.get('remoteInstance');
      const replicationMode = f.get('replicationMode');
      const operationMode = f.get('operationMode') ?? 'logreplay';
      const name = f.get('name');
      if (typeof remoteHost !== 'string' || typeof remoteInstance !== 'string' || typeof name !== 'string') {
        return fail('error: -sr_register needs --remoteHost, --remoteInstance and --name\n');
      }
      if (
        typeof replicationMode !== 'string' ||
        !(replicationModes as readonly string[]).includes(replicationMode)
      ) {
        return fail(`error: invalid replication mode ${String(replicationMode)}\n`);
      }
      if (
        typeof operationMode !== 'string' ||
        !(operationModes as readonly string[]).includes(operationMode)
      ) {
        return fail(`error: invalid operation mode ${String(operationMode)}\n`);
      }
      return run(
        () =>
          control.register({
            remoteHost,
            remoteInstance,
            replicationMode: replicationMode as ReplicationMode,
            operationMode: operationMode as OperationMode,
            name,
            online: f.has('online'),
          }),
        ['adding site ...', 'collecting information ...', 'updating local ini files ...'],
      );
    }
    case '-sr_unregister':
      return run(() => control.unregister(), ['unregistering site ...']);
    default:
      return fail(`hdbnsutil: unknown option ${String(verb)}\n`);
  }
}

function sapcontrol(control: SimSiteControl, args: readonly string[]): SimExecution {
  const snap = control.snapshot();
  const nrAt = args.indexOf('-nr');
  const fnAt = args.indexOf('-function');
  const fn = fnAt >= 0 ? args[fnAt + 1] : undefined;
  if (fn === undefined) return fail('sapcontrol: -function missing\n');
  // A wrong instance number reaches no sapstartsrv: the same answer as a stopped one.
  if (nrAt < 0 || args[nrAt + 1] !== snap.instanceNumber) return answer(renderSapcontrolRefused(snap, fn));
  const fnArgs = args.slice(fnAt + 2);
  const act = (f: () => void) => {
    try {
      f();
      return answer(renderSapcontrolOk(control.snapshot(), fn));
    } catch (err) {
      if (err instanceof SimCommandError)
        return answer(renderSapcontrolFail(control.snapshot(), fn, err.message));
      throw err;
    }
  };
  switch (fn) {
    case 'GetProcessList':
      return answer(renderProcessList(snap));
    case 'GetSystemInstanceList':
      return answer(renderSystemInstanceList(snap));
    case 'StartSystem':
      return act(() => control.start());
    case 'StopSystem':
      return act(() => control.stop(fnArgs[1] === '0'));
    default:
      return answer(renderSapcontrolFail(snap, fn, 'Invalid function'));
  }
}

function hdbSettings(control: SimSiteControl, args: readonly string[]): SimExecution {
  const [script, ...rest] = args;
  const snap = control.snapshot();
  switch (script) {
    case 'systemReplicationStatus.py':
      return answer(
        renderSystemReplicationStatus(snap, rest.includes('--sapcontrol=1') ? 'sapcontrol' : 'table'),
      );
    case 'landscapeHostConfiguration.py':
      return answer(renderLandscapeHostConfiguration(snap));
    default:
      return fail(`python: can't open file '${String(script)}': [Errno 2] No such file or directory\n`, 2);
  }
}

/**
 * `HDB kill-9` (the HDB script in /usr/sap/<SID>/HDB<NN>, run as <sid>adm): kills every process
 * of the instance with the signal. Only the exit code is relied upon.
 */
function hdb(control: SimSiteControl, args: readonly string[]): SimExecution {
  const [verb] = args;
  if (verb === undefined || !/^kill(-[0-9]+)?$/.test(verb)) {
    return fail(`usage: HDB {start|stop|info|kill|kill-<signal>|...}\n`);
  }
  const signal = verb === 'kill' ? '15' : verb.slice(5);
  const pids = control.snapshot().processes.filter((p) => p.dispstatus !== 'GRAY');
  try {
    control.kill();
  } catch (err) {
    if (err instanceof SimCommandError) return fail(`${err.message}\n`, err.exitCode);
    throw err;
  }
  const lines = ['killing HDB processes:', ...pids.map((p) => `kill -${signal} ${p.pid} ${p.name}`)];
  return answer({ exitCode: 0, stdout: lines.join('\n') + '\n', stderr: '' });
}

/** Executes one argv against a site. Pure apart from the actions it calls on the control. */
export function executeSimCommand(control: SimSiteControl, argv: readonly string[]): SimExecution {
  const tool = basename(argv[0] ?? '');
  const args = argv.slice(1);
  const snap = control.snapshot();
  if (snap.frozen) {
    // A hard stop or a kill cannot end frozen processes, but it is delivered: they die at the thaw.
    if (
      (tool === 'sapcontrol' && args.includes('StopSystem')) ||
      (tool === 'HDB' && /^kill/.test(args[0] ?? ''))
    )
      control.killAtThaw?.();
    return { kind: 'hang' };
  }
  if (!snap.nodeUp) {
    if (tool === 'sapcontrol')
      return answer(renderSapcontrolRefused(snap, args[args.indexOf('-function') + 1] ?? ''));
    return fail(`${tool}: connect to ${snap.host} failed: Connection refused\n`);
  }
  // A hung instance: its processes answer nothing; sapstartsrv and the HDB script still run.
  if (snap.hung === true && tool !== 'sapcontrol' && tool !== 'HDB') return { kind: 'hang' };
  // Only the probe's tools hang (hang-probe-tools): the database itself still commits.
  if (snap.probeToolsHung === true && (tool === 'hdbnsutil' || tool === 'HDBSettings.sh'))
    return { kind: 'hang' };
  switch (tool) {
    case 'HDB':
      return hdb(control, args);
    case 'hdbnsutil':
      return hdbnsutil(control, args);
    case 'sapcontrol':
      return sapcontrol(control, args);
    case 'HDBSettings.sh':
      return hdbSettings(control, args);
    default:
      return fail(`${tool}: command not found\n`, 127);
  }
}

/** CommandRunner over one simulated site, in the injected (usually virtual) time. */
export class SimCommandRunner implements CommandRunner {
  constructor(
    private readonly control: SimSiteControl,
    private readonly clock: Clock,
  ) {}

  run(argv: readonly string[], options: RunOptions): Promise<CommandResult> {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    let execution: SimExecution;
    try {
      execution = executeSimCommand(this.control, argv);
    } catch (err) {
      return Promise.reject(err);
    }
    if (execution.kind === 'answer') return Promise.resolve(execution.result);
    // A frozen site answers nothing until it thaws; then the command that waited runs (a queued
    // hard kill takes effect at the thaw, as on a real host). The caller's deadline still applies.
    const name = basename(argv[0] ?? '');
    return new Promise<CommandResult>((resolve, reject) => {
      let cancelPoll: () => void = () => {};
      const finish = () => {
        cancelDeadline();
        cancelPoll();
        options.signal?.removeEventListener('abort', onAbort);
      };
      const cancelDeadline = this.clock.setTimer(options.timeoutMs, () => {
        finish();
        reject(new TimeoutError(name, options.timeoutMs));
      });
      const onAbort = () => {
        finish();
        reject(options.signal?.reason);
      };
      const poll = () => {
        let next: SimExecution;
        try {
          next = executeSimCommand(this.control, argv);
        } catch (err) {
          finish();
          return reject(err);
        }
        if (next.kind === 'answer') {
          finish();
          return resolve(next.result);
        }
        cancelPoll = this.clock.setTimer(THAW_POLL_MS, poll);
      };
      cancelPoll = this.clock.setTimer(THAW_POLL_MS, poll);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
