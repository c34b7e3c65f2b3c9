/**
 * A fake Kubernetes API server in memory, over plain HTTP on loopback, that the real
 * @kubernetes/client-node and kubectl (1.35: apply with validation, apply --server-side, explain,
 * describe, get -w, wait, events) talk to. Used by the tests and embedded by `npm start` as the
 * local Kubernetes API of the demo landscape.
 */
import { writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { Faults } from './faults.js';
import { FakeApi, type FakeApiOptions } from './server.js';

export type { FakeApiOptions } from './server.js';
export type { FailureFault, FaultMatch, Faults, Verb } from './faults.js';
export type { JSONSchemaProps } from './schema.js';
export type { StatusObject, StatusCause } from './errors.js';

export interface FakeApiServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Fault hooks: failNext, addLatency, dropWatches, compact, clear. */
  readonly faults: Faults;
  /** The current global resourceVersion. */
  resourceVersion(): string;
  /** Requests received so far (a watch counts once). */
  requests(): number;
  /** Writes a kubeconfig (context `fakeapi`, namespace `default`) usable by kubectl and client-node. */
  writeKubeconfig(path: string): void;
  /** A client-node KubeConfig pointing at this server (skipTLSVerify, as plain HTTP needs). */
  kubeConfig(): KubeConfig;
  /** Drops open watches and stops listening. */
  close(): Promise<void>;
}

const NAME = 'fakeapi';

function kubeconfigObject(url: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: NAME, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: NAME, user: { token: 'fakeapi-token' } }],
    contexts: [{ name: NAME, context: { cluster: NAME, user: NAME, namespace: 'default' } }],
    'current-context': NAME,
    preferences: {},
  };
}

export async function startFakeApiServer(options: FakeApiOptions = {}): Promise<FakeApiServer> {
  const api = new FakeApi(options);
  const address = await api.listen();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  return {
    url,
    port: address.port,
    faults: api.faults,
    resourceVersion: () => String(api.store.resourceVersion),
    requests: () => api.requests,
    writeKubeconfig(path: string): void {
      writeFileSync(path, stringify(kubeconfigObject(url)), { mode: 0o600 });
    },
    kubeConfig(): KubeConfig {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: NAME, server: url, skipTLSVerify: true }],
        users: [{ name: NAME, token: 'fakeapi-token' }],
        contexts: [{ name: NAME, cluster: NAME, user: NAME, namespace: 'default' }],
        currentContext: NAME,
      });
      return kc;
    },
    close: () => api.close(),
  };
}
