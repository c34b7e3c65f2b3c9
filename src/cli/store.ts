/**
 * How a DBA command reads the coordination store (the live state the agents publish): etcd with
 * the same flags and environment variables as the operator, or — with none given — the demo
 * running on this machine (`npm start`), through its etcd or, on the in-memory store, its
 * control endpoint.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEtcdCoordination } from '../coordination/etcd.js';
import type { ClusterState } from '../coordination/port.js';
import { controlCall, findRunningDemo } from '../demo/control.js';
import { CliError, EXIT, stringFlag, UsageError, type FlagSpec, type ParsedArgs } from './args.js';

export const STORE_FLAGS: Record<string, FlagSpec> = {
  'etcd-endpoints': { type: 'string' },
  'etcd-prefix': { type: 'string' },
  'etcd-ca-file': { type: 'string' },
  'etcd-cert-file': { type: 'string' },
  'etcd-key-file': { type: 'string' },
  'state-dir': { type: 'string' },
};

export const STORE_FLAGS_HELP = `Coordination store options (a flag wins over its environment variable):
  --etcd-endpoints URL[,URL...]  HANASR_ETCD_ENDPOINTS   etcd client URLs
  --etcd-prefix /PATH            HANASR_ETCD_PREFIX      key prefix (default /hanasr)
  --etcd-ca-file FILE            HANASR_ETCD_CA_FILE     CA bundle of the etcd servers (PEM)
  --etcd-cert-file FILE          HANASR_ETCD_CERT_FILE   client certificate (PEM, with key)
  --etcd-key-file FILE           HANASR_ETCD_KEY_FILE    client private key (PEM)
  --state-dir DIR                without etcd endpoints: the demo running with this state
                                 directory (default $TMPDIR/hanasr-demo, as hanasr demo)`;

export interface StateReader {
  /** Where the state comes from, for messages. */
  readonly source: string;
  read(clusterKey: string): Promise<ClusterState>;
  close(): Promise<void>;
}

function setting(args: ParsedArgs, flag: string, env: string): string | undefined {
  const v = stringFlag(args, flag) ?? process.env[env];
  return v === undefined || v === '' ? undefined : v;
}

function etcdReader(endpoints: string[], args: ParsedArgs, timeoutMs: number): StateReader {
  const caFile = setting(args, 'etcd-ca-file', 'HANASR_ETCD_CA_FILE');
  const certFile = setting(args, 'etcd-cert-file', 'HANASR_ETCD_CERT_FILE');
  const keyFile = setting(args, 'etcd-key-file', 'HANASR_ETCD_KEY_FILE');
  const prefix = setting(args, 'etcd-prefix', 'HANASR_ETCD_PREFIX');
  let store;
  try {
    store = createEtcdCoordination({
      endpoints,
      callTimeoutMs: Math.min(timeoutMs, 60_000),
      leaseTtlSeconds: Math.max(10, Math.ceil((2 * timeoutMs) / 1000)),
      ...(prefix !== undefined ? { keyPrefix: prefix } : {}),
      ...(caFile !== undefined
        ? {
            tls: {
              caFile,
              ...(certFile !== undefined ? { certFile } : {}),
              ...(keyFile !== undefined ? { keyFile } : {}),
            },
          }
        : {}),
    });
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
  const endpoints = setting(args, 'etcd-endpoints', 'HANASR_ETCD_ENDPOINTS')
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (endpoints !== undefined && endpoints.length > 0) return etcdReader(endpoints, args, timeoutMs);
  const stateDir = stringFlag(args, 'state-dir') ?? join(tmpdir(), 'hanasr-demo');
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
