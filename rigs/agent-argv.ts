/**
 * The command line of a real `hanasr agent` process next to a simulated site: shared by the agent
 * end-to-end test (test/agent/failover.test.ts), the chaos rig (test/chaos/rig.ts) and the bench
 * rig (bench/lib/rig.ts). HANA is reached through the simulator's stand-in executables (they need
 * HANASR_SIM_URL and HANASR_SIM_SITE in the environment) and SQL on loopback; the peer through
 * its SQL port and its agent's /status.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SIM_BIN = path.join(REPO_ROOT, 'src/standins/hana-sim/bin');
/** The same stand-ins as shell scripts over curl and jq (no Node.js start-up per tool; benches). */
export const SIM_BIN_SH = path.join(REPO_ROOT, 'src/standins/hana-sim/bin-sh');
/** `node --import tsx <this> ...`: the CLI from source. */
export const CLI_SOURCE = path.join(REPO_ROOT, 'src/cli/main.ts');

export interface AgentArgvOptions {
  /** `--cluster` (a name, or `<namespace>.<name>`). */
  readonly cluster: string;
  readonly site: string;
  readonly specFile: string;
  readonly etcdEndpoints: readonly string[];
  readonly etcdPrefix: string;
  /** Port of this site's SQL server on 127.0.0.1. */
  readonly sqlPort: number;
  readonly peer: { readonly site: string; readonly sqlPort: number; readonly statusPort: number };
  readonly peerTokenFile: string;
  readonly statusPort: number;
  /** More flags (after the common ones). */
  readonly extra?: readonly string[];
  /** Where the stand-in executables are (default SIM_BIN, the Node.js ones). */
  readonly binDir?: string;
}

/** The arguments after `node --import tsx src/cli/main.ts`. */
export function agentArgv(o: AgentArgvOptions): string[] {
  return [
    'agent',
    '--cluster',
    o.cluster,
    '--site',
    o.site,
    '--spec-file',
    o.specFile,
    '--etcd-endpoints',
    o.etcdEndpoints.join(','),
    '--etcd-prefix',
    o.etcdPrefix,
    '--etcd-call-timeout-ms',
    '800',
    '--store-timeout-ms',
    '1500',
    '--hdbnsutil',
    path.join(o.binDir ?? SIM_BIN, 'hdbnsutil'),
    '--sapcontrol',
    path.join(o.binDir ?? SIM_BIN, 'sapcontrol'),
    '--hdbsettings',
    path.join(o.binDir ?? SIM_BIN, 'HDBSettings.sh'),
    '--action-timeout-seconds',
    '20',
    '--sql-host',
    '127.0.0.1',
    '--sql-port',
    String(o.sqlPort),
    '--peer-sql',
    `${o.peer.site}=127.0.0.1:${o.peer.sqlPort}`,
    '--peer-status',
    `${o.peer.site}=http://127.0.0.1:${o.peer.statusPort}`,
    '--peer-token-file',
    o.peerTokenFile,
    '--status-host',
    '127.0.0.1',
    '--status-port',
    String(o.statusPort),
    ...(o.extra ?? []),
  ];
}
