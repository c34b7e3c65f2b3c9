/**
 * A fence agent of the fence-agents collection (fence_ipmilan, fence_redfish, fence_aws,
 * fence_kubevirt, fence_sbd, fence_dummy...) as the FenceAgent port.
 *
 * The protocol: the agent is started without arguments and reads `name=value` lines on stdin,
 * `action=off|on|status|monitor` among them; exit 0 is success. For `status`, exit 0 means ON and
 * exit 2 OFF (fencing.py prints "Status: ON" / "Status: OFF"); a confirmation needs both the exit
 * code and that line, because exit 2 is also what the Python interpreter returns when it cannot
 * start a script at all.
 *
 * The agent is found by name in one directory (HANASR_FENCE_AGENT_DIR, default /usr/sbin), run
 * with an argument array (never a shell), a minimal environment, its own process group (killed on
 * timeout) and bounded output. Options come from the spec (common, then the site's), then the
 * credentials (read at every call, their secret values handed to the log redactor first), and
 * `action=` last so nothing overrides it. Nothing on the command line, so `ps` shows no secret.
 */
import { access, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  FENCE_AGENT_PATTERN,
  FENCE_PARAMETER_VALUE_PATTERN,
  fenceParameterKeyProblem,
  type FencingSpec,
} from '../api/spec.js';
import { TimeoutError } from '../clock.js';
import { CommandOutputLimitError, SpawnCommandRunner, type CommandRunner } from '../hana/commands/runner.js';
import { MIN_SECRET_LENGTH } from '../observability/log.js';
import {
  FENCE_SECRET_KEY_PATTERN,
  FenceCredentialError,
  loadFenceCredentials,
  type FenceCredentialSource,
} from './credentials.js';
import type { FenceAction, FenceAgent, FenceCallOptions, FenceCallResult } from './port.js';

const accessAsync = promisify(access);

export const DEFAULT_FENCE_AGENT_DIR = '/usr/sbin';
/** fence agents print a few lines; more is not an answer we trust. */
const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * The environment a fence agent sees: the search path, locale, time zone, home and temp
 * directory, and the proxy variables cloud agents (fence_aws, fence_gce, fence_azure_arm) need.
 * Nothing else of the agent's environment (no SQL password, no Kubernetes variables).
 */
export function fenceEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (
      ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'].includes(name) ||
      /^LC_[A-Z]+$/.test(name) ||
      /^(https?|no)_proxy$/i.test(name)
    )
      out[name] = value;
  }
  return out;
}

export interface CommandFenceAgentOptions {
  /** The spec's fence agent section, read at every call (the spec may change). */
  readonly spec: () => FencingSpec['agent'];
  /** Where fence agents are installed (default /usr/sbin). */
  readonly agentDir?: string;
  /** Where the credentials are (absent: none, e.g. fence_dummy or an instance role). */
  readonly credentials?: FenceCredentialSource;
  /** Registers a secret with the log redactor before it is used (Logger.addSecret). */
  readonly addSecret?: (secret: string) => void;
  /** Default: a SpawnCommandRunner with output bounded to 64 KiB and a 1 s kill grace. */
  readonly runner?: CommandRunner;
  /** The environment the agent's variables are picked from (default process.env). */
  readonly environment?: NodeJS.ProcessEnv;
}

function lastLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^WARNING:root:Parse error: Ignoring unknown option/.test(l));
  return lines[lines.length - 1] ?? '';
}

export class CommandFenceAgent implements FenceAgent {
  private readonly runner: CommandRunner;
  private readonly agentDir: string;

  constructor(private readonly options: CommandFenceAgentOptions) {
    this.agentDir = options.agentDir ?? DEFAULT_FENCE_AGENT_DIR;
    this.runner =
      options.runner ??
      new SpawnCommandRunner({ environment: {}, maxOutputBytes: MAX_OUTPUT_BYTES, killGraceMs: 1000 });
  }

  async call(site: string, action: FenceAction, o: FenceCallOptions): Promise<FenceCallResult> {
    const fail = (
      code: Extract<FenceCallResult, { ok: false }>['code'],
      message: string,
    ): FenceCallResult => ({
      ok: false,
      action,
      code,
      message,
    });
    const spec = this.options.spec();
    if (spec === undefined) return fail('NOT_CONFIGURED', 'no fence agent in spec.fencing.agent');
    if (!FENCE_AGENT_PATTERN.test(spec.command))
      return fail('NOT_CONFIGURED', 'spec.fencing.agent.command is not a fence agent name');
    const options: Record<string, string> = { ...spec.parameters, ...(spec.sites[site] ?? {}) };
    for (const [key, value] of Object.entries(options)) {
      // The schema checked these; the spec may come from the store, so check again before a command line.
      const problem = fenceParameterKeyProblem(key);
      if (problem !== undefined) return fail('NOT_CONFIGURED', `fence option ${key} ${problem}`);
      if (!FENCE_PARAMETER_VALUE_PATTERN.test(value))
        return fail('NOT_CONFIGURED', `fence option ${key}: not one line`);
    }

    const secrets: string[] = [];
    if (this.options.credentials !== undefined) {
      let creds: Record<string, string>;
      try {
        creds = await loadFenceCredentials(this.options.credentials, site);
      } catch (err) {
        return fail(
          'CREDENTIALS',
          err instanceof FenceCredentialError ? err.message : 'fence credentials cannot be read',
        );
      }
      for (const [key, value] of Object.entries(creds)) {
        if (FENCE_SECRET_KEY_PATTERN.test(key.replace(/-/g, '_'))) {
          this.options.addSecret?.(value);
          secrets.push(value);
          if (value.length < MIN_SECRET_LENGTH)
            return fail(
              'CREDENTIALS',
              `the fence credential ${key} is shorter than ${MIN_SECRET_LENGTH} characters: refused`,
            );
        } else if (value.length >= 4) {
          secrets.push(value); // logins and the like: kept out of our messages, not out of every log
        }
        options[key] = value;
      }
    }
    const redact = (text: string): string => {
      let out = text;
      for (const s of [...secrets].sort((a, b) => b.length - a.length))
        if (s !== '') out = out.split(s).join('[REDACTED]');
      return out.length > 300 ? `${out.slice(0, 297)}...` : out;
    };

    const file = path.join(this.agentDir, spec.command);
    try {
      await accessAsync(file, constants.X_OK);
    } catch {
      return fail('SPAWN', `fence agent ${file} is not installed or not executable`);
    }
    const input =
      [...Object.entries(options).map(([k, v]) => `${k}=${v}`), `action=${action}`].join('\n') + '\n';
    const what = `${spec.command} action=${action} for ${site}`;
    let result;
    try {
      result = await this.runner.run([file], {
        timeoutMs: o.timeoutMs,
        input,
        env: fenceEnvironment(this.options.environment ?? process.env),
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (err) {
      if (err instanceof TimeoutError)
        return fail('TIMEOUT', `${what}: no answer within ${o.timeoutMs} ms (killed)`);
      if (err instanceof CommandOutputLimitError)
        return fail('FAILED', `${what}: printed more than ${MAX_OUTPUT_BYTES} bytes`);
      if (o.signal?.aborted) return fail('ABORTED', `${what}: aborted`);
      return fail(
        'SPAWN',
        redact(`${what}: cannot run (${(err as NodeJS.ErrnoException).code ?? String(err)})`),
      );
    }
    const said = redact(lastLine(result.stderr) || lastLine(result.stdout) || '(no output)');
    if (action === 'status') {
      if (result.exitCode === 0 && /^Status: ON\s*$/m.test(result.stdout))
        return { ok: true, action, power: 'on', message: `${what}: Status: ON` };
      if (result.exitCode === 2 && /^Status: OFF\s*$/m.test(result.stdout))
        return { ok: true, action, power: 'off', message: `${what}: Status: OFF` };
      if (result.exitCode === 0 || result.exitCode === 2)
        return fail(
          'UNKNOWN_STATUS',
          `${what}: exit ${result.exitCode} without the matching Status line: ${said}`,
        );
      return fail('FAILED', `${what}: exit ${result.exitCode}: ${said}`);
    }
    if (result.exitCode === 0)
      return { ok: true, action, message: `${what}: ${redact(lastLine(result.stdout) || 'done')}` };
    return fail('FAILED', `${what}: exit ${result.exitCode}: ${said}`);
  }
}
