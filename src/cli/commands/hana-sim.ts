/**
 * `hanasr hana-sim`: a simulated HANA landscape in real time, one SQL wire-protocol port per
 * site, so any HANA client or tool can be pointed at a simulated primary and secondary.
 */
import { readFile } from 'node:fs/promises';
import { realClock } from '../../clock.js';
import {
  operationModes,
  replicationModes,
  type OperationMode,
  type ReplicationMode,
} from '../../api/spec.js';
import { optionsHelp, parseOptions, stringOption, type OptionTable } from '../../config/options.js';
import { SimLandscape } from '../../standins/hana-sim/model.js';
import { simSiteDatabase } from '../../standins/hana-wire/database.js';
import { startHanaWireServer, type HanaWireServer } from '../../standins/hana-wire/server.js';

/** Every option of `hanasr hana-sim`, declared once (parser, --help and docs/cli.md). */
export const options = {
  port: { value: 'PORT', help: 'first port (required)' },
  user: { value: 'USER', help: 'the database user clients log in as (required)' },
  passwordFile: { value: 'FILE', help: 'read the password from FILE (first line)' },
  password: {
    env: 'HANASR_SIM_PASSWORD',
    value: 'PASSWORD',
    help: 'the password; NOTE: visible to other users in ps as a flag, prefer --password-file or the environment variable',
  },
  sites: { value: 'A,B', help: 'site names (default A,B); the first starts as primary' },
  sid: { value: 'SID', help: 'system id (default HA1)' },
  instance: { value: 'NN', help: 'instance number (default 00)' },
  mode: { choices: replicationModes, value: 'MODE', help: `${replicationModes.join(' | ')} (default sync)` },
  operationMode: {
    choices: operationModes,
    value: 'MODE',
    help: `${operationModes.join(' | ')} (default logreplay)`,
  },
  writesPerSecond: { value: 'N', help: 'simulated client workload on the primary (default 20)' },
  seed: { value: 'N', help: 'random seed (default 1)' },
} as const satisfies OptionTable;

export const help = `Usage: hanasr hana-sim --port PORT --user USER (--password-file FILE | --password PASSWORD) [options]

Runs a simulated HANA system replication landscape in real time and serves the HANA SQL
network protocol for each site on 127.0.0.1, one port per site counting up from PORT.
When ready it prints one line per site: SITE HOST:PORT ROLE. Stop it with Ctrl-C (SIGINT) or
SIGTERM.

Connect with @sap/hana-client, hdb, hdbsql... (SCRAMSHA256 or SCRAMPBKDF2SHA256). The primary
answers SELECT * FROM DUMMY, SYS.M_DATABASE, SYS.M_SYSTEM_REPLICATION and
SYS.M_SERVICE_REPLICATION (live log positions and lag), and simple tables you create. Tables
live in the simulated sites' logs: a commit on a sync primary returns once the secondary has
it, and what the primary committed is there after a takeover. A secondary refuses connections
unless --operation-mode logreplay_readaccess.

Against hostile clients: a connection that has not logged in within 10 s is closed, a message
over 4 MiB closes its connection, at most 256 connections are open per port, and a login as an
unknown user takes as long to refuse as a wrong password (no user names leak by timing).

Options:
${optionsHelp(options)}

Exit codes: 0 stopped by a signal, 2 invalid options, 1 failed to start.
`;

interface Options {
  port: number;
  user: string;
  password: string;
  sites: string[];
  sid: string;
  instance: string;
  mode: ReplicationMode;
  operationMode: OperationMode;
  writesPerSecond: number;
  seed: number;
}

class UsageError extends Error {}

async function parse(argv: string[], env: NodeJS.ProcessEnv): Promise<Options> {
  const parsed = parseOptions(argv, options, { env });
  if (parsed.problems.length > 0) throw new UsageError(parsed.problems[0]!);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  const get = (key: keyof typeof options) => stringOption(parsed.values, key);
  const port = Number(get('port'));
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError('--port must be a port number');
  const user = get('user');
  if (!user) throw new UsageError('--user is required');
  let password: string | undefined;
  const file = get('passwordFile');
  if (file !== undefined) {
    try {
      password = (await readFile(file, 'utf8')).split(/\r?\n/)[0];
    } catch (err) {
      throw new UsageError(
        `cannot read --password-file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
  password ??= get('password');
  if (!password)
    throw new UsageError('a password is required: --password-file, HANASR_SIM_PASSWORD or --password');
  const sites = (get('sites') ?? 'A,B')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (sites.length === 0 || new Set(sites).size !== sites.length)
    throw new UsageError('--sites needs distinct site names');
  if (port + sites.length - 1 > 65535) throw new UsageError('not enough ports above --port');
  // The parser checked both against their choices.
  const mode = (get('mode') ?? 'sync') as ReplicationMode;
  const operationMode = (get('operationMode') ?? 'logreplay') as OperationMode;
  const writesPerSecond = Number(get('writesPerSecond') ?? '20');
  const seed = Number(get('seed') ?? '1');
  if (!Number.isFinite(writesPerSecond) || writesPerSecond < 0)
    throw new UsageError('--writes-per-second must be >= 0');
  if (!Number.isInteger(seed)) throw new UsageError('--seed must be an integer');
  const instance = get('instance') ?? '00';
  if (!/^\d{2}$/.test(instance)) throw new UsageError('--instance must be two digits');
  return {
    port,
    user,
    password,
    sites,
    sid: get('sid') ?? 'HA1',
    instance,
    mode,
    operationMode,
    writesPerSecond,
    seed,
  };
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let options: Options;
  try {
    options = await parse(argv, env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`hanasr hana-sim: ${err.message}\n\n${help}`);
      return 2;
    }
    throw err;
  }
  const landscape = new SimLandscape({
    sid: options.sid,
    instanceNumber: options.instance,
    sites: options.sites.map((name) => ({ name, host: `hana-${name.toLowerCase()}` })),
    initialPrimary: options.sites[0]!,
    mode: options.mode,
    operationMode: options.operationMode,
    logShippingTimeoutSeconds: 30,
    clock: realClock,
    seed: options.seed,
    writesPerSecond: options.writesPerSecond,
  });
  const servers: HanaWireServer[] = [];
  try {
    for (const [i, name] of options.sites.entries()) {
      const site = landscape.site(name);
      servers.push(
        await startHanaWireServer({
          host: '127.0.0.1',
          port: options.port + i,
          user: options.user,
          password: options.password,
          snapshot: () => site.snapshot(),
          database: simSiteDatabase(landscape, name),
        }),
      );
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    landscape.dispose();
    process.stderr.write(
      `hanasr hana-sim: cannot listen: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`,
    );
    return 1;
  }
  const lines = options.sites.map((name, i) => {
    const s = landscape.site(name).snapshot();
    const role = s.srMode === 'primary' ? 'primary' : s.srMode === 'none' ? 'none' : 'secondary';
    return `${name} 127.0.0.1:${servers[i]!.port} ${role}`;
  });
  process.stdout.write(lines.join('\n') + '\n');

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await Promise.all(servers.map((s) => s.close()));
  landscape.dispose();
  return 0;
}
