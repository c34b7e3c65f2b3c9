/**
 * How a DBA command reads the coordination store (the live state the agents publish): etcd with
 * the same flags and environment variables as the agent and the operator (STORE_OPTIONS), or — with none given — the demo
 * running on this machine (`npm start`), through its etcd or, on the in-memory store, its
 * control endpoint.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  etcdConfigOf,
  splitEndpoints,
  STORE_OPTIONS,
  storeConnectionInput,
  parseStoreConnection,
} from '../coordination/config.js';
import { EtcdCoordination } from '../coordination/etcd.js';
import { optionsHelp, type OptionTable } from '../config/options.js';
import { readSecretLine } from '../config/secret-file.js';
import type { ClusterState } from '../coordination/port.js';
import { controlCall, findRunningDemo } from '../demo/control.js';
import { CliError, EXIT, stringFlag, UsageError, type ParsedArgs } from './args.js';

const { callTimeoutMs: _ownTimeout, ...CONNECTION } = STORE_OPTIONS;

/** The store options of the DBA commands (the call deadline is theirs: --request-timeout). */
export const STORE_FLAGS: OptionTable = {
  ...CONNECTION,
  stateDir: {
    flag: 'state-dir',
    value: 'DIR',
    help: 'without etcd endpoints: the demo running with this state directory (default $TMPDIR/hanasr-demo, as hanasr demo)',
  },
};

export const STORE_FLAGS_HELP = `Coordination store options (a flag wins over its environment variable):
${optionsHelp(STORE_FLAGS)}`;

export interface StateReader {
  /** Where the state comes from, for messages. */
  readonly source: string;
  read(clusterKey: string): Promise<ClusterState>;
  close(): Promise<void>;
}

function etcdReader(endpoints: string[], args: ParsedArgs, timeoutMs: number): StateReader {
  let store;
  try {
    const connection = parseStoreConnection({
      ...storeConnectionInput(args.flags),
      endpoints,
      callTimeoutMs: Math.min(timeoutMs, 60_000),
    });
    const config = etcdConfigOf(connection, {
      leaseTtlSeconds: Math.max(10, Math.ceil((2 * timeoutMs) / 1000)),
      readPassword: (file) => readSecretLine(file),
    });
    store = new EtcdCoordination(config);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  return {
    source: `etcd ${endpoints.join(',')}`,
    read: (key) => store.read(key),
    close: () => store.close(),
  };
}

/** The store to read, from the flags and the environment; a CliError when there is none. */
export async function openStateReader(args: ParsedArgs, timeoutMs: number): Promise<StateReader> {
  const given = stringFlag(args, 'endpoints');
  const endpoints = given !== undefined ? splitEndpoints(given) : [];
  if (endpoints.length > 0) return etcdReader(endpoints, args, timeoutMs);
  const stateDir = stringFlag(args, 'stateDir') ?? join(tmpdir(), 'hanasr-demo');
  const demo = await findRunningDemo(stateDir);
  if (demo === null) {
    throw new CliError(
      EXIT.unavailable,
      `no coordination store: pass --etcd-endpoints (or HANASR_ETCD_ENDPOINTS), or start the demo (npm start; none answers in ${stateDir})`,
    );
  }
  if (demo.etcd !== undefined) {
    const reader = etcdReader([demo.etcd], args, timeoutMs);
    return { ...reader, source: `${reader.source} (the demo's, pid ${demo.pid})` };
  }
  return {
    source: `the demo's in-memory store (pid ${demo.pid})`,
    read: (key) =>
      controlCall<ClusterState>(
        `${demo.controlUrl}/store?cluster=${encodeURIComponent(key)}`,
        demo.token,
        'GET',
        undefined,
        timeoutMs,
      ),
    close: async () => {},
  };
}
