/**
 * The other region's store on `hanasr agent`'s command line (docs/dr.md): --other-region and
 * --other-region-etcd-* are parsed and checked (name and endpoints together, the name must be the
 * spec's other region, the password file never echoed), and the runtime reads that store each
 * cycle: with a real etcd holding the two regions' stores under two prefixes, the DR site's agent
 * adopts the active region's record into its own store and reports the store reachable.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentConfigError, loadAgentConfig } from '../../src/agent/config.js';
import { startAgentRuntime } from '../../src/agent/runtime.js';
import { realClock } from '../../src/clock.js';
import { EtcdCoordination } from '../../src/coordination/etcd.js';
import { SimDirectPort } from '../../src/standins/hana-sim/direct-port.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import { EtcdCluster } from '../../rigs/etcd.js';

const SPEC = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a', region: 'eu-west' },
    { name: 'B', host: 'hana-b', region: 'eu-west' },
    { name: 'C', host: 'hana-c', region: 'eu-north' },
  ],
  probes: { intervalSeconds: 0.2, timeoutSeconds: 1 },
  lease: { ttlSeconds: 2 },
};
const OTHER_PASSWORD = 'Other-Region-Secret-93';

const dir = mkdtempSync(path.join(tmpdir(), 'hanasr-other-region-'));
const specFile = path.join(dir, 'spec.json');
writeFileSync(specFile, JSON.stringify(SPEC));
const passwordFile = path.join(dir, 'other-etcd-password');
writeFileSync(passwordFile, `${OTHER_PASSWORD}\n`, { mode: 0o600 });

const base = ['--cluster', 'hana.ha1', '--site', 'C', '--spec-file', specFile, '--spec-from-store', 'false'];
const problemsOf = (argv: string[], env: NodeJS.ProcessEnv = {}): string[] => {
  try {
    loadAgentConfig(argv, env);
    return [];
  } catch (err) {
    if (err instanceof AgentConfigError) return [...err.problems];
    throw err;
  }
};

describe('hanasr agent --other-region', () => {
  it('parses the other region and its etcd from flags and the environment', () => {
    const config = loadAgentConfig(
      [
        ...base,
        '--etcd-endpoints',
        'http://etcd-north:2379',
        '--other-region',
        'eu-west',
        '--other-region-etcd-endpoints',
        'https://etcd-west-0:2379,https://etcd-west-1:2379',
        '--other-region-etcd-ca-file',
        '/etc/hanasr/west-ca.pem',
      ],
      {
        HANASR_OTHER_REGION_ETCD_USERNAME: 'reader',
        HANASR_OTHER_REGION_ETCD_PASSWORD_FILE: passwordFile,
        HANASR_OTHER_REGION_ETCD_PREFIX: '/hanasr-west',
        HANASR_OTHER_REGION_ETCD_CALL_TIMEOUT_MS: '800',
      },
    );
    expect(config.otherRegion?.name).toBe('eu-west');
    expect(config.otherRegion?.etcd).toMatchObject({
      endpoints: ['https://etcd-west-0:2379', 'https://etcd-west-1:2379'],
      keyPrefix: '/hanasr-west',
      callTimeoutMs: 800,
      tls: { caFile: '/etc/hanasr/west-ca.pem' },
      auth: { username: 'reader', password: OTHER_PASSWORD },
    });
    // The own store stays as it was.
    expect(config.coordination).toMatchObject({
      kind: 'etcd',
      etcd: { endpoints: ['http://etcd-north:2379'] },
    });
  });

  it('refuses a name without endpoints, endpoints without a name, and a region that is not the other one', () => {
    const etcd = ['--etcd-endpoints', 'http://etcd:2379'];
    expect(problemsOf([...base, ...etcd, '--other-region', 'eu-west']).join('\n')).toMatch(
      /otherRegion \(--other-region \/ HANASR_OTHER_REGION\) and otherRegionEtcdEndpoints .* go together/,
    );
    expect(
      problemsOf([...base, ...etcd, '--other-region-etcd-endpoints', 'http://etcd-west:2379']).join('\n'),
    ).toMatch(/go together/);
    for (const wrong of ['eu-north', 'us-east'])
      expect(
        problemsOf([
          ...base,
          ...etcd,
          '--other-region',
          wrong,
          '--other-region-etcd-endpoints',
          'http://etcd-west:2379',
        ]).join('\n'),
      ).toMatch(new RegExp(`otherRegion .*: ${wrong} is not the other region of site C`));
    // A bad endpoint names the other region's flag, and no password is echoed anywhere.
    const bad = problemsOf(
      [...base, ...etcd, '--other-region', 'eu-west', '--other-region-etcd-endpoints', 'etcd-west'],
      { HANASR_OTHER_REGION_ETCD_USERNAME: 'reader', HANASR_OTHER_REGION_ETCD_PASSWORD_FILE: passwordFile },
    ).join('\n');
    expect(bad).toMatch(/otherRegionEtcdEndpoints \(--other-region-etcd-endpoints/);
    expect(bad).not.toContain(OTHER_PASSWORD);
  });
});

describe('the agent runtime reads the other region through those flags (real etcd)', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await EtcdCluster.start({ members: 1 });
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
  });

  it('the DR site adopts the active region record from the other store and reports it reachable', async () => {
    const endpoints = etcd.endpoints.join(',');
    const west = new EtcdCoordination({ endpoints: etcd.endpoints, keyPrefix: '/west', callTimeoutMs: 1000 });
    const north = new EtcdCoordination({
      endpoints: etcd.endpoints,
      keyPrefix: '/north',
      callTimeoutMs: 1000,
    });
    const landscape = new SimLandscape({
      sid: 'HA1',
      instanceNumber: '00',
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b' },
        { name: 'C', host: 'hana-c', mode: 'async' },
      ],
      initialPrimary: 'A',
      mode: 'sync',
      operationMode: 'logreplay',
      logShippingTimeoutSeconds: 30,
      clock: realClock,
      seed: 5,
      writesPerSecond: 5,
    });
    try {
      // eu-west bootstrapped as the active region (what its primary's agent writes first).
      expect(
        await west.writeRegion(
          'hana.ha1',
          { generation: 1, active: 'eu-west', since: Date.now(), by: 'bootstrap' },
          null,
        ),
      ).toBe(true);
      const config = loadAgentConfig([
        ...base,
        '--etcd-endpoints',
        endpoints,
        '--etcd-prefix',
        '/north',
        '--other-region',
        'eu-west',
        '--other-region-etcd-endpoints',
        endpoints,
        '--other-region-etcd-prefix',
        '/west',
        '--status-host',
        '127.0.0.1',
        '--status-port',
        '0',
      ]);
      const runtime = await startAgentRuntime(config, {
        hana: () => new SimDirectPort(landscape.site('C')),
        write: () => {},
      });
      try {
        const end = Date.now() + 15_000;
        let record = (await north.read('hana.ha1')).region;
        while (record === undefined && Date.now() < end) {
          await new Promise((r) => setTimeout(r, 100));
          record = (await north.read('hana.ha1')).region;
        }
        expect(record).toMatchObject({ generation: 1, active: 'eu-west', by: 'adopted' });
        const metrics = await (await fetch(`${runtime.statusUrl}/metrics`)).text();
        expect(metrics).toMatch(
          /hanasr_region_active_store_reachable\{namespace="hana",cluster="ha1",site="C",region="eu-north"\} 1/,
        );
      } finally {
        await runtime.stop();
      }
    } finally {
      landscape.dispose();
      await west.close();
      await north.close();
    }
  }, 60_000);
});
