/** `hanasr operator` configuration (flags, environment, zod errors naming the field) and the process's HTTP endpoints. */
import { describe, expect, it } from 'vitest';
import { configFromArgs, help } from '../../src/cli/commands/operator.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { realClock } from '../../src/clock.js';
import { startFakeApiServer } from '../../src/standins/kube-api/index.js';
import { WebhookConfigError } from '../../src/notify/webhook.js';
import { LineCollector } from '../../src/observability/log.js';
import {
  CONFIG_SOURCES,
  OperatorConfigError,
  parseOperatorConfig,
  startOperator,
} from '../../src/operator/run.js';

describe('operator configuration', () => {
  it('reads the chart environment, flags winning over variables', () => {
    const input = configFromArgs(['--metrics-port', '9191', '--log-level=debug'], {
      HANASR_ETCD_ENDPOINTS: 'https://etcd-0:2379, https://etcd-1:2379',
      HANASR_ETCD_PREFIX: '/x',
      HANASR_ETCD_CA_FILE: '/tls/ca.crt',
      HANASR_WATCH_NAMESPACE: 'hana',
      HANASR_LOG_LEVEL: 'warn',
      HANASR_METRICS_PORT: '9090',
      HANASR_HEALTH_PORT: '8081',
      POD_NAME: 'hanasr-operator-0',
      POD_NAMESPACE: 'hanasr-system',
    });
    const config = parseOperatorConfig(input);
    expect(config).toMatchObject({
      coordination: 'etcd',
      etcd: {
        endpoints: ['https://etcd-0:2379', 'https://etcd-1:2379'],
        prefix: '/x',
        caFile: '/tls/ca.crt',
      },
      watchNamespace: 'hana',
      logLevel: 'debug',
      metricsPort: 9191,
      healthPort: 8081,
      podName: 'hanasr-operator-0',
      podNamespace: 'hanasr-system',
      bindAddress: '0.0.0.0',
    });
  });

  it('names the field, its flag and its variable in errors, never the value', () => {
    const bad = () =>
      parseOperatorConfig(
        configFromArgs([], { HANASR_METRICS_PORT: 's3cret-99999', HANASR_LOG_LEVEL: 'loud' }),
      );
    expect(bad).toThrow(OperatorConfigError);
    try {
      bad();
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain('metricsPort (--metrics-port / HANASR_METRICS_PORT)');
      expect(message).toContain('logLevel (--log-level / HANASR_LOG_LEVEL)');
      expect(message).not.toContain('s3cret');
    }
    expect(() => parseOperatorConfig({ coordination: 'etcd' })).toThrow(
      'etcd.endpoints (--etcd-endpoints / HANASR_ETCD_ENDPOINTS): needs at least one etcd endpoint',
    );
    expect(() => configFromArgs(['--bogus', '1'], {})).toThrow('unknown option --bogus');
  });

  it("reads the other region's store (docs/dr.md) from flags and the environment; the name needs the endpoints", () => {
    const config = parseOperatorConfig(
      configFromArgs(['--coordination', 'memory', '--other-region', 'eu-west'], {
        HANASR_OTHER_REGION_ETCD_ENDPOINTS: 'https://etcd-west-0:2379,https://etcd-west-1:2379',
        HANASR_OTHER_REGION_ETCD_PREFIX: '/west',
        HANASR_OTHER_REGION_ETCD_CALL_TIMEOUT_MS: '700',
      }),
    );
    expect(config.otherRegion).toEqual({
      name: 'eu-west',
      etcd: {
        endpoints: ['https://etcd-west-0:2379', 'https://etcd-west-1:2379'],
        prefix: '/west',
        callTimeoutMs: 700,
      },
    });
    expect(parseOperatorConfig(configFromArgs(['--coordination', 'memory'], {})).otherRegion).toBeUndefined();
    expect(() =>
      parseOperatorConfig(configFromArgs(['--coordination', 'memory', '--other-region', 'eu-west'], {})),
    ).toThrow(
      "otherRegion.etcd.endpoints (--other-region-etcd-endpoints / HANASR_OTHER_REGION_ETCD_ENDPOINTS): needs the other region's etcd endpoints",
    );
    expect(() =>
      parseOperatorConfig(
        configFromArgs(['--coordination', 'memory', '--other-region-etcd-endpoints', 'https://e:2379'], {}),
      ),
    ).toThrow('otherRegion.name (--other-region / HANASR_OTHER_REGION)');
  });

  it('bounds the concurrent reconciles: 8 by default, set by its flag, at least 1', () => {
    const parse = (args: string[]) =>
      parseOperatorConfig(configFromArgs(['--coordination', 'memory', ...args], {}));
    expect(parse([]).maxConcurrentReconciles).toBe(8);
    expect(parse(['--max-concurrent-reconciles', '16']).maxConcurrentReconciles).toBe(16);
    expect(() => parse(['--max-concurrent-reconciles', '0'])).toThrow(
      'maxConcurrentReconciles (--max-concurrent-reconciles)',
    );
  });

  it('lists every flag and environment variable in the help', () => {
    for (const { flag } of Object.values(CONFIG_SOURCES)) expect(help).toContain(flag);
    for (const word of [
      'HANASR_ETCD_ENDPOINTS',
      'HANASR_ETCD_PREFIX',
      'HANASR_ETCD_CA_FILE',
      'HANASR_ETCD_CERT_FILE',
      'HANASR_ETCD_KEY_FILE',
      'HANASR_WATCH_NAMESPACE',
      'HANASR_LOG_LEVEL',
      'HANASR_METRICS_PORT',
      'HANASR_HEALTH_PORT',
      'POD_NAME',
      'POD_NAMESPACE',
      '--coordination',
      '--kubeconfig',
      '/healthz',
      '/readyz',
      '/metrics',
      'SIGTERM',
    ]) {
      expect(help).toContain(word);
    }
  });
});

describe('startOperator', () => {
  it('serves /healthz, /readyz and /metrics on loopback and stops cleanly', async () => {
    const server = await startFakeApiServer();
    const store = new MemoryCoordination(realClock);
    const op = await startOperator(
      { coordination: 'memory', bindAddress: '127.0.0.1', healthPort: 0, metricsPort: 0, podName: 'op-test' },
      { kubeConfig: server.kubeConfig(), coordination: store, log: () => undefined },
    );
    try {
      expect(op.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const get = (url: string) => fetch(url, { signal: AbortSignal.timeout(2000) });
      expect((await get(`${op.healthUrl}/healthz`)).status).toBe(200);
      const metrics = await (await get(op.metricsUrl)).text();
      expect(metrics).toContain('hanasr_build_info');
      expect(op.isLeader()).toBe(true);
      store.setAvailable(false);
      const unready = await get(`${op.healthUrl}/readyz`);
      expect(unready.status).toBe(503);
      expect(await unready.text()).toMatch(/informer not synced|coordination store unreachable/);
    } finally {
      await op.stop();
      await store.close();
      await server.close();
    }
    await expect(fetch(op.metricsUrl, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(op.isLeader()).toBe(false);
  });

  it('refuses to start with an invalid alert webhook configuration, naming the variable', async () => {
    const start = (env: NodeJS.ProcessEnv) =>
      startOperator(
        { coordination: 'memory', bindAddress: '127.0.0.1', healthPort: 0, metricsPort: 0 },
        { coordination: new MemoryCoordination(realClock), env, log: () => undefined },
      );
    await expect(start({ HANASR_ALERT_WEBHOOK_URL: 'ftp://alerts.example' })).rejects.toThrow(
      new WebhookConfigError('HANASR_ALERT_WEBHOOK_URL: must be an http or https URL'),
    );
    await expect(
      start({
        HANASR_ALERT_WEBHOOK_URL: 'https://alerts.example/hook',
        HANASR_ALERT_WEBHOOK_TIMEOUT_MS: 'soon',
      }),
    ).rejects.toThrow('HANASR_ALERT_WEBHOOK_TIMEOUT_MS: must be a positive integer');
  });

  it('logs winston JSON lines with constant messages to its log stream', async () => {
    const server = await startFakeApiServer();
    const store = new MemoryCoordination(realClock);
    const out = new LineCollector();
    const op = await startOperator(
      { coordination: 'memory', bindAddress: '127.0.0.1', healthPort: 0, metricsPort: 0, podName: 'op-log' },
      { kubeConfig: server.kubeConfig(), coordination: store, logStream: out },
    );
    await op.stop();
    await store.close();
    await server.close();
    const lines = out.objects();
    expect(lines.map((l) => l['message'])).toEqual(
      expect.arrayContaining(['leading: reconciling starts', 'operator started', 'operator stopped']),
    );
    for (const l of lines) {
      expect(l).toMatchObject({ component: 'operator', pod: 'op-log' });
      expect(typeof l['timestamp']).toBe('string');
    }
  });

  it('logs the addresses it really bound: 0.0.0.0 stays 0.0.0.0', async () => {
    const server = await startFakeApiServer();
    const store = new MemoryCoordination(realClock);
    const out = new LineCollector();
    const op = await startOperator(
      { coordination: 'memory', bindAddress: '0.0.0.0', healthPort: 0, metricsPort: 0, podName: 'op-bind' },
      { kubeConfig: server.kubeConfig(), coordination: store, logStream: out },
    );
    await op.stop();
    await store.close();
    await server.close();
    const started = out.objects().find((l) => l['message'] === 'operator started');
    expect(started?.['healthAddress']).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(started?.['metricsAddress']).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(op.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
