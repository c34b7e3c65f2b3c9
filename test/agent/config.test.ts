/** `hanasr agent` configuration: flags over HANASR_* variables; every error names its field. */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { AgentConfigError, CONFIG_KEYS, configHelp, loadAgentConfig } from '../../src/agent/config.js';
import { help } from '../../src/cli/commands/agent.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hanasr-agent-config-'));
const SPEC = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b' },
  ],
};
const manifest = path.join(dir, 'hsr.yaml');
writeFileSync(
  manifest,
  `apiVersion: hanasr.io/v1alpha1\nkind: HanaSystemReplication\nmetadata: { name: ha1, namespace: hana }\nspec: ${JSON.stringify(SPEC)}\n`,
);

const tokenFile = path.join(dir, 'peer-token');
writeFileSync(tokenFile, 'peer-token-of-the-test-cluster-0001\n', { mode: 0o600 });

const BASE = {
  HANASR_NAMESPACE: 'hana',
  HANASR_CLUSTER: 'ha1',
  HANASR_SITE: 'A',
  HANASR_ETCD_ENDPOINTS: 'http://127.0.0.1:2379',
};

function problems(argv: string[], env: NodeJS.ProcessEnv): string[] {
  try {
    loadAgentConfig(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(AgentConfigError);
    return [...(err as AgentConfigError).problems];
  }
  throw new Error('expected the configuration to be rejected');
}

describe('agent configuration', () => {
  it('reads HANASR_* variables, with defaults', () => {
    const c = loadAgentConfig([], {
      ...BASE,
      HANASR_SQL_USER: 'MON',
      HANASR_SQL_PASSWORD: 'Secret-1',
      HANASR_PEER_SQL: 'B=hana-b:30013',
      HANASR_PEER_STATUS: 'B=http://hana-b:8082',
      HANASR_PEER_TOKEN_FILE: tokenFile,
    });
    expect(c.cluster).toBe('hana.ha1');
    expect(c.peerToken).toBe('peer-token-of-the-test-cluster-0001');
    expect(c.site).toBe('A');
    expect(c.specFromStore).toBe(true);
    expect(c.coordination).toMatchObject({
      kind: 'etcd',
      etcd: { endpoints: ['http://127.0.0.1:2379'], keyPrefix: '/hanasr' },
    });
    expect(c.sql).toEqual({
      host: 'localhost',
      credentials: { kind: 'env', userVar: 'HANASR_SQL_USER', passwordVar: 'HANASR_SQL_PASSWORD' },
    });
    expect(c.peers).toEqual({ B: { sql: { host: 'hana-b', port: 30013 }, statusUrl: 'http://hana-b:8082' } });
    expect(c.status).toEqual({ host: '0.0.0.0', port: 8082 });
    expect(c.hana.actionTimeoutMs).toBe(120_000);
    expect(c.hana.commandTimeoutMs).toBeUndefined();
    // The password is read at probe time, never kept in the configuration.
    expect(JSON.stringify(c)).not.toContain('Secret-1');
  });

  it('lets a flag win over its variable; repeated peer flags add up', () => {
    const c = loadAgentConfig(
      ['--site', 'B', '--peer-status', 'A=http://a:1', '--peer-status=C=http://c:2', '--status-port', '0'],
      { ...BASE, HANASR_SITE: 'A', HANASR_STATUS_PORT: '9000', HANASR_PEER_TOKEN_FILE: tokenFile },
    );
    expect(c.site).toBe('B');
    expect(c.peers).toEqual({ A: { statusUrl: 'http://a:1' }, C: { statusUrl: 'http://c:2' } });
    expect(c.status.port).toBe(0);
  });

  it('takes the cluster key from the manifest metadata and the spec from the file', () => {
    const c = loadAgentConfig(['--spec-file', manifest, '--site', 'B', '--coordination', 'memory'], {});
    expect(c.cluster).toBe('hana.ha1');
    expect(c.fileSpec?.sites.map((s) => s.name)).toEqual(['A', 'B']);
    expect(c.coordination).toEqual({ kind: 'memory' });
  });

  it('accepts the whole key <namespace>.<name>', () => {
    expect(loadAgentConfig(['--cluster', 'prod.ha1'], { ...BASE, HANASR_NAMESPACE: undefined }).cluster).toBe(
      'prod.ha1',
    );
  });

  it('names the field, its flag and its variable in every error', () => {
    expect(problems([], {})).toEqual(
      expect.arrayContaining([
        'cluster (--cluster / HANASR_CLUSTER): required',
        'site (--site / HANASR_SITE): required',
        'etcdEndpoints (--etcd-endpoints / HANASR_ETCD_ENDPOINTS): required with etcd coordination',
      ]),
    );
    expect(problems([], { ...BASE, HANASR_NAMESPACE: undefined })).toEqual([
      'namespace (--namespace / HANASR_NAMESPACE): required (or give cluster (--cluster / HANASR_CLUSTER) as <namespace>.<name>)',
    ]);
    expect(problems(['--instance-number', '7'], BASE)).toEqual([
      'instanceNumber (--instance-number / HANASR_INSTANCE_NUMBER): must be two digits (e.g. 00)',
    ]);
    expect(problems([], { ...BASE, HANASR_STATUS_PORT: '70000' })).toEqual([
      'statusPort (--status-port / HANASR_STATUS_PORT): must be at most 65535',
    ]);
    expect(problems([], { ...BASE, HANASR_PEER_SQL: 'B=hana-b' })).toEqual([
      'peerSql (--peer-sql / HANASR_PEER_SQL): B: must be HOST:PORT',
    ]);
    expect(problems([], { ...BASE, HANASR_ETCD_ENDPOINTS: 'etcd-0' })[0]).toMatch(
      /^etcdEndpoints \(--etcd-endpoints \/ HANASR_ETCD_ENDPOINTS\): must be a URL/,
    );
    expect(problems(['--spec-file', manifest, '--site', 'C'], { HANASR_COORDINATION: 'memory' })).toEqual([
      `site (--site / HANASR_SITE): C is not one of the sites in ${manifest}`,
    ]);
    expect(problems(['--bogus', 'x'], BASE)).toEqual([
      'unknown option --bogus',
      'unexpected argument at position 2',
    ]);
    expect(problems(['--spec-from-store', 'false'], BASE)).toEqual([
      'specFile (--spec-file / HANASR_SPEC_FILE): required when specFromStore (--spec-from-store / HANASR_SPEC_FROM_STORE) is false',
    ]);
  });

  it('names the file and the field of an invalid spec file', () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      `kind: HanaSystemReplication\nmetadata: { name: x }\nspec: { sid: ha1, instanceNumber: "00", sites: [] }\n`,
    );
    const [p] = problems(['--spec-file', bad, '--site', 'A'], {
      HANASR_COORDINATION: 'memory',
      HANASR_NAMESPACE: 'n',
    });
    expect(p).toContain(bad);
    expect(p).toContain('spec.sid');
    expect(p).toContain('spec.sites');
  });

  it('never takes a password from the command line, and never echoes it', () => {
    const secret = 'Pa55-on-the-command-line';
    for (const flag of ['--sql-password', '--password', '--etcd-password']) {
      const [p] = problems([flag, secret], BASE);
      expect(p).toContain(`${flag}: passwords are never taken from the command line`);
      expect(p).not.toContain(secret);
      expect(problems([`${flag}=${secret}`], BASE).join()).not.toContain(secret);
    }
    // A password typed into the wrong field is not printed either.
    expect(problems(['--sql-port', secret], BASE).join()).not.toContain(secret);
  });

  it('refuses passwords shorter than 8 characters (they are redacted at any length), without echoing them', () => {
    const [p] = problems([], { ...BASE, HANASR_SQL_USER: 'MON', HANASR_SQL_PASSWORD: 'abc12' });
    expect(p).toBe(
      'sqlPassword (HANASR_SQL_PASSWORD): must be at least 8 characters (shorter secrets are refused)',
    );
    const etcdPassword = path.join(dir, 'etcd-short');
    writeFileSync(etcdPassword, 'xy7\n', { mode: 0o600 });
    const [q] = problems([], { ...BASE, HANASR_ETCD_USERNAME: 'u', HANASR_ETCD_PASSWORD_FILE: etcdPassword });
    expect(q).toMatch(/^etcdPasswordFile .*shorter than 8 characters: refused$/);
    expect(`${p}${q}`).not.toMatch(/abc12|xy7/);
  });

  it('wants the shared peer token with peer status checks, 16 characters or more, never echoed', () => {
    expect(problems([], { ...BASE, HANASR_PEER_STATUS: 'B=http://hana-b:8082' })).toEqual([
      'peerTokenFile (--peer-token-file / HANASR_PEER_TOKEN_FILE): required with peerStatus (--peer-status / HANASR_PEER_STATUS) (peer checks are authenticated)',
    ]);
    const short = path.join(dir, 'short-token');
    writeFileSync(short, 'tok-1234567\n', { mode: 0o600 });
    const [p] = problems([], { ...BASE, HANASR_PEER_TOKEN_FILE: short });
    expect(p).toMatch(/^peerTokenFile .*shorter than 16 characters: refused$/);
    expect(p).not.toContain('tok-1234567');
    const open = path.join(dir, 'world-writable-token');
    writeFileSync(open, 'peer-token-of-the-test-cluster-0001\n', { mode: 0o666 });
    chmodSync(open, 0o666);
    expect(problems([], { ...BASE, HANASR_PEER_TOKEN_FILE: open })[0]).toMatch(/writable by group or others/);
  });

  it('wants exactly one SQL credential source, and a user with a password', () => {
    expect(
      problems([], { ...BASE, HANASR_SQL_PASSWORD: 'Long-enough-1', HANASR_SQL_SECRET_DIR: '/s' })[0],
    ).toMatch(
      /^SQL credentials: give one of sqlSecretDir .*, sqlPassword \(HANASR_SQL_PASSWORD\), not several$/,
    );
    expect(problems([], { ...BASE, HANASR_SQL_PASSWORD_FILE: '/p' })).toEqual([
      'sqlUser (--sql-user / HANASR_SQL_USER): required with a SQL password',
    ]);
    expect(problems([], { ...BASE, HANASR_PEER_SQL: 'B=hana-b:30013' })).toEqual([
      'peerSql (--peer-sql / HANASR_PEER_SQL): SQL checks of peers need SQL credentials',
    ]);
    const c = loadAgentConfig([], { ...BASE, HANASR_SQL_USER: 'MON', HANASR_SQL_PASSWORD_FILE: '/p' });
    expect(c.sql.credentials).toEqual({ kind: 'password-file', user: 'MON', path: '/p' });
  });

  it('--help lists every flag and every environment variable', () => {
    for (const key of CONFIG_KEYS) {
      expect(help).toContain(key.env);
      if (key.flag) expect(help).toContain(key.flag);
    }
    expect(help).toContain(configHelp());
  });
});

describe('the agent examples stay true', () => {
  const read = (p: string) => readFileSync(new URL(`../../examples/${p}`, import.meta.url), 'utf8');

  it('examples/agent.env uses only agent keys, and the agent accepts it', () => {
    const env: Record<string, string> = {};
    for (const line of read('agent.env').split('\n')) {
      if (line.trim() === '' || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      env[line.slice(0, eq)] = line.slice(eq + 1);
    }
    const known = new Set(CONFIG_KEYS.map((k) => k.env));
    expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
    expect(env).toMatchObject({
      HANASR_PEER_TOKEN_FILE: '/etc/hanasr/peer-token/token',
      HANASR_STATUS_HOST: '0.0.0.0',
    });
    // The token file is the sidecar's Secret mount; here a local file stands in for it.
    const c = loadAgentConfig([], { ...env, HANASR_PEER_TOKEN_FILE: tokenFile });
    expect(c).toMatchObject({
      cluster: 'hana.ha1',
      site: 'A',
      coordination: { kind: 'etcd', etcd: { tls: { caFile: '/etc/hanasr/etcd-tls/ca.crt' } } },
      sql: { credentials: { kind: 'password-file', path: '/etc/hanasr/sql/password' } },
      peers: { B: { statusUrl: 'http://hana-b.example.com:8082' } },
    });
  });

  it('the sidecar mounts the SQL password where agent.env says and probes the status port', () => {
    const sts = parseYaml(read('agent-sidecar.yaml'), { version: '1.1' });
    const pod = sts.spec.template.spec;
    const agent = pod.containers.find((c: { name: string }) => c.name === 'hanasr-agent');
    expect(agent.env ?? []).toEqual([]);
    expect(agent.ports).toEqual([{ name: 'status', containerPort: 8082 }]);
    expect(agent.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'status' });
    expect(agent.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'status' });
    const mount = agent.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/etc/hanasr/sql');
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    expect(volume.secret.items).toEqual([{ key: 'password', path: 'password' }]);
    const tokenMount = agent.volumeMounts.find(
      (m: { mountPath: string }) => m.mountPath === '/etc/hanasr/peer-token',
    );
    const tokenVolume = pod.volumes.find((v: { name: string }) => v.name === tokenMount.name);
    expect(tokenMount.readOnly).toBe(true);
    expect(tokenVolume.secret.items).toEqual([{ key: 'token', path: 'token' }]);
  });
});

describe('hanasr agent on the command line', () => {
  it('exits 2 with one line per problem on an invalid configuration, naming the fields', async () => {
    const { run } = await import('../../src/cli/commands/agent.js');
    const chunks: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((c: string | Uint8Array) => (
      chunks.push(String(c)),
      true
    )) as typeof process.stderr.write;
    let code: number;
    try {
      code = await run(['--site', 'A', '--sql-password', 'Hidden-Pass-1'], {});
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(2);
    const out = chunks.join('');
    expect(out).toContain('--sql-password: passwords are never taken from the command line');
    expect(out).not.toContain('Hidden-Pass-1');
    expect(out).toContain('hanasr agent --help');
  });
});

describe('hanasr agent failing to start', () => {
  it('exits 1 naming the missing etcd CA file', async () => {
    const { run } = await import('../../src/cli/commands/agent.js');
    const chunks: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((c: string | Uint8Array) => (
      chunks.push(String(c)),
      true
    )) as typeof process.stderr.write;
    let code: number;
    try {
      code = await run(
        [
          '--cluster',
          'hana.ha1',
          '--site',
          'A',
          '--spec-file',
          manifest,
          '--etcd-endpoints',
          'https://127.0.0.1:2379',
          '--etcd-ca-file',
          '/nonexistent/hanasr/ca.crt',
          '--status-host',
          '127.0.0.1',
          '--status-port',
          '0',
        ],
        {},
      );
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(1);
    expect(chunks.join('')).toContain('/nonexistent/hanasr/ca.crt');
  });
});
