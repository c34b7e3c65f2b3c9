/**
 * `hanasr status` and `hanasr history` through the built CLI against the fake API server, the
 * kubeconfig sources, API failures (exit 5 within --request-timeout), --help, and the kubectl
 * plugin name (a symlink named kubectl-hanasr).
 */
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  createCluster,
  ensureBuilt,
  healthyStatus,
  MAIN,
  runCli,
  startLandscape,
  type Landscape,
} from './support.js';

let l: Landscape;

beforeAll(async () => {
  ensureBuilt();
  l = await startLandscape();
  await createCluster(l, 'ha1');
  await createCluster(l, 'ha2', null, { maintenance: true });
});

afterAll(async () => {
  await l.close();
});

describe('hanasr status NAME', () => {
  it('prints the cluster line, a row per site, the last takeover and the conditions', async () => {
    const r = await runCli(['status', 'ha1', ...l.kubeArgs]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(
      'HanaSystemReplication hana/ha1: primary A, epoch 3, maintenance off, Ready True (PrimaryAvailable)',
    );
    const header = lines.find((x) => x.startsWith('SITE'));
    expect(header?.split(/\s{2,}/)).toEqual([
      'SITE',
      'ROLE',
      'HANA',
      'LANDSCAPE',
      'MODE',
      'REPLICATION',
      'IN SYNC',
      'LAG',
      'LAG BYTES',
      'FENCED',
      'WATCHDOG',
      'LAST REPORT',
    ]);
    const row = (site: string) => lines.find((x) => x.startsWith(`${site} `))?.split(/\s{2,}/);
    expect(row('A')?.slice(0, 11)).toEqual([
      'A',
      'primary',
      'running',
      'OK',
      '-',
      'ACTIVE',
      '-',
      '-',
      '-',
      '-',
      'armed 5s',
    ]);
    expect(row('B')?.slice(0, 11)).toEqual([
      'B',
      'secondary',
      'running',
      'OK',
      'sync',
      'ACTIVE',
      'yes',
      '0.2s',
      '4KiB',
      '-',
      'unusable',
    ]);
    expect(row('B')?.[11]).toMatch(/ ago$/);
    expect(r.stdout).toContain(
      "B's watchdog is not usable: watchdog timeout 30 s exceeds the lease TTL 10 s minus the margin 3 s",
    );
    expect(r.stdout).toMatch(
      /^B's node was last fenced off by A \(term 2, .+ ago\): confirmed, fence_ipmilan: Success: Powered OFF$/m,
    );
    expect(r.stdout).toContain(
      'Last takeover: 2024-04-30T08:00:00Z B -> A (PlannedTakeover, took 15s, succeeded, epoch 3)',
    );
    const ready = lines.find((x) => x.startsWith('Ready '))?.split(/\s{2,}/);
    expect(ready?.[0]).toBe('Ready');
    expect(ready?.slice(1, 3)).toEqual(['True', 'PrimaryAvailable']);
    expect(ready?.[4]).toBe('A is primary and writable');
    expect(r.stdout).toMatch(/^ReplicationHealthy\s+True\s+AllSecondariesInSync\s/m);
  });

  it('-o json prints the resource with its status', async () => {
    const r = await runCli(['status', 'ha1', '-o', 'json', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    const obj = JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(obj['metadata']['name']).toBe('ha1');
    expect(obj['status']).toMatchObject({ currentPrimary: 'A', epoch: 3 });
    expect(obj['status']['sites'][1]).toMatchObject({ name: 'B', inSync: true, lagBytes: 4096 });
  });

  it('-o yaml prints the same resource as YAML', async () => {
    const r = await runCli(['status', 'ha1', '--output=yaml', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    expect(parse(r.stdout)).toMatchObject({ kind: 'HanaSystemReplication', status: { currentPrimary: 'A' } });
  });

  it('says so when nothing has been reported yet', async () => {
    const r = await runCli(['status', 'ha2', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(
      'HanaSystemReplication hana/ha2: primary (none), epoch -, maintenance on, Ready Unknown',
    );
    expect(r.stdout).toContain('Sites: no site has reported yet');
    expect(r.stdout).toContain('Last takeover: none');
  });

  it('exits 4 with one line when the cluster does not exist', async () => {
    const r = await runCli(['status', 'nope', ...l.kubeArgs]);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('hanasr: status: HanaSystemReplication "nope" not found in namespace "hana"\n');
  });
});

describe('hanasr status NAME: the region line', () => {
  const DR = 'dr';
  const spec = {
    sites: [
      { name: 'A', host: 'hana-a', region: 'eu-west' },
      { name: 'B', host: 'hana-b', region: 'eu-west' },
      { name: 'C', host: 'hana-c', region: 'eu-north' },
    ],
  };
  const args = ['--kubeconfig', '', '-n', DR];
  const since = '2024-05-01T10:00:00Z';
  const soon = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  beforeAll(async () => {
    args[1] = l.kubeconfig;
    await l.core.createNamespace({ body: { metadata: { name: DR } } });
    await createCluster(
      l,
      'draining',
      healthyStatus({
        region: {
          generation: 3,
          active: 'eu-north',
          by: 'switchover',
          since,
          thisRegion: 'eu-west',
          draining: true,
          switchover: {
            from: 'A',
            to: 'C',
            fromRegion: 'eu-west',
            toRegion: 'eu-north',
            deadline: soon,
            waitingFor: 'waiting for A to stop once its log stands still and is shipped to C',
          },
        },
      }),
      spec,
      DR,
    );
    await createCluster(
      l,
      'inactive',
      healthyStatus({
        region: { generation: 4, active: 'eu-north', by: 'adopted', since, thisRegion: 'eu-west' },
      }),
      spec,
      DR,
    );
    await createCluster(
      l,
      'disaster',
      healthyStatus({
        region: {
          generation: 3,
          active: 'eu-north',
          by: 'disaster',
          since,
          thisRegion: 'eu-north',
          lossMessage: 'C was 4 s (1 MB) behind at the last report',
        },
      }),
      spec,
      DR,
    );
    await createCluster(l, 'oneregion', healthyStatus(), {}, DR);
  });

  const regionLine = async (name: string) => {
    const r = await runCli(['status', name, ...args]);
    expect(r.code).toBe(0);
    return r.stdout.split('\n').filter((x) => x.startsWith('Region: '));
  };

  it('a draining switchover: from and to, -rw withdrawn, the deadline, what it waits for', async () => {
    const [line, ...more] = await regionLine('draining');
    expect(more).toEqual([]);
    expect(line).toMatch(
      new RegExp(
        `^Region: switchover A \\(eu-west\\) -> C \\(eu-north\\) draining at generation 3, the -rw Service selects no pod \\(since ${since}, .+ ago, aborted at ${soon} \\(in \\d[^)]*\\) unless handed over\\); waiting for A to stop once its log stands still and is shipped to C$`,
      ),
    );
  });

  it('a DR region after a handover, a disaster takeover with its loss, and none with one region', async () => {
    expect(await regionLine('inactive')).toEqual([
      expect.stringMatching(
        /^Region: eu-north active at generation 4 \(adopted from the other region, since 2024-05-01T10:00:00Z, .+ ago\); this region eu-west is a DR region \(its sites are secondaries, none takes over in it\)$/,
      ),
    ]);
    expect(await regionLine('disaster')).toEqual([
      expect.stringMatching(
        /^Region: eu-north active at generation 3 \(by a disaster takeover, since .+ ago\); this region leads; data loss expected when decided: C was 4 s \(1 MB\) behind at the last report$/,
      ),
    ]);
    expect(await regionLine('oneregion')).toEqual([]);
    // -o yaml keeps the whole record.
    const y = await runCli(['status', 'draining', '-o', 'yaml', ...args]);
    expect(parse(y.stdout).status.region.switchover).toMatchObject({ from: 'A', to: 'C', deadline: soon });
  });
});

describe('hanasr status (no NAME)', () => {
  it('prints one line per cluster in the namespace', async () => {
    const r = await runCli(['status', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]?.split(/\s{2,}/)).toEqual([
      'NAME',
      'PRIMARY',
      'EPOCH',
      'READY',
      'REPLICATION',
      'MAINTENANCE',
      'LAST TAKEOVER',
      'AGE',
    ]);
    expect(lines.slice(1).map((x) => x.split(/\s{2,}/).slice(0, 6))).toEqual([
      ['ha1', 'A', '3', 'True', 'AllSecondariesInSync', 'off'],
      ['ha2', '-', '-', 'Unknown', '-', 'on'],
    ]);
  });

  it('-o json prints the list', async () => {
    const r = await runCli(['status', '-o', 'json', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { metadata: { name: string } }[]).map((o) => o.metadata.name)).toEqual([
      'ha1',
      'ha2',
    ]);
  });

  it("uses the kubeconfig context's namespace without -n (default: empty)", async () => {
    const r = await runCli(['status', '--kubeconfig', l.kubeconfig]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('No HanaSystemReplication in namespace default.\n');
  });

  it('reads KUBECONFIG when --kubeconfig is not given', async () => {
    const r = await runCli(['status', '-n', 'hana'], { env: { KUBECONFIG: l.kubeconfig } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ha1\s+A\s+3\s+True/m);
  });
});

describe('hanasr history', () => {
  it('lists takeovers newest first', async () => {
    const r = await runCli(['history', 'ha1', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trimEnd()
      .split('\n')
      .map((x) => x.split(/\s{2,}/));
    expect(rows).toEqual([
      ['TIME', 'FROM', 'TO', 'REASON', 'DURATION', 'OUTCOME', 'EPOCH'],
      ['2024-04-30T08:00:00Z', 'B', 'A', 'PlannedTakeover', '15s', 'succeeded', '3'],
      ['2024-04-20T08:00:00Z', 'A', 'B', 'PrimaryFailed', '31s', 'succeeded', '2'],
    ]);
  });

  it('-o json prints the records newest first', async () => {
    const r = await runCli(['history', 'ha1', '-o', 'json', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    const records = JSON.parse(r.stdout) as { to: string; durationSeconds: number }[];
    expect(records).toEqual([
      expect.objectContaining({ to: 'A', durationSeconds: 14.5 }),
      expect.objectContaining({ to: 'B', durationSeconds: 31 }),
    ]);
    expect(healthyStatus()['takeoverHistory'][0].to).toBe('B'); // stored oldest first: the CLI sorted
  });

  it('says when there is none, and exits 4 for an unknown cluster', async () => {
    const none = await runCli(['history', 'ha2', ...l.kubeArgs]);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('No takeover recorded for hana/ha2.\n');
    const missing = await runCli(['history', 'nope', ...l.kubeArgs]);
    expect(missing.code).toBe(4);
  });
});

describe('usage and API failures', () => {
  // Each case spawns the CLI several times: a loaded machine needs more than the default 30 s.
  it('--help lists flags, environment variables and exit codes', { timeout: 120_000 }, async () => {
    const commands = ['status', 'takeover', 'maintenance', 'fence', 'register', 'history', 'validate'];
    const runs = await Promise.all(commands.map((command) => runCli([command, '--help'])));
    for (const [i, command] of commands.entries()) {
      const r = runs[i]!;
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toContain(`Usage: hanasr ${command}`);
      expect(r.stdout, command).toMatch(/Exit codes:\n\s+0 /);
      expect(r.stdout, command).toContain('--debug');
      if (command !== 'validate') {
        expect(r.stdout, command).toContain('--kubeconfig');
        expect(r.stdout, command).toContain('KUBECONFIG');
        expect(r.stdout, command).toMatch(/5\s+timeout, or the Kubernetes API cannot be reached/);
      }
    }
  });

  it('an unknown flag or a missing argument exits 2 with one error line', { timeout: 120_000 }, async () => {
    const flag = await runCli(['status', '--colour', ...l.kubeArgs]);
    expect(flag.code).toBe(2);
    expect(flag.stderr.split('\n')[0]).toBe('hanasr: status: unknown flag --colour');
    const output = await runCli(['status', '-o', 'wide', ...l.kubeArgs]);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('--output must be one of table, json, yaml');
    const missing = await runCli(['history', ...l.kubeArgs]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe('hanasr: history: missing NAME');
    const context = await runCli(['status', '--context', 'nope', ...l.kubeArgs]);
    expect(context.code).toBe(2);
  });

  it('exits 5 when the API refuses connections', async () => {
    const closed = await freePort();
    const config = join(l.dir, 'closed-kubeconfig');
    writeKubeconfigFor(config, `http://127.0.0.1:${closed}`);
    const r = await runCli(['status', 'ha1', '--kubeconfig', config, '--request-timeout', '2s']);
    expect(r.code).toBe(5);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^hanasr: status: get HanaSystemReplication default\/ha1: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+/,
    );
  });

  it('exits 5 when the API accepts but never answers, within --request-timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const config = join(l.dir, 'silent-kubeconfig');
    writeKubeconfigFor(config, `http://127.0.0.1:${port}`);
    try {
      const r = await runCli([
        'takeover',
        'ha1',
        '--to',
        'B',
        '--kubeconfig',
        config,
        '--request-timeout',
        '1s',
      ]);
      expect(r.code).toBe(5);
      expect(r.stderr).toBe(
        `hanasr: takeover: get HanaSystemReplication default/ha1: the Kubernetes API at http://127.0.0.1:${port} did not answer within 1s\n`,
      );
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('--debug adds the stack to an error', async () => {
    const r = await runCli(['status', 'nope', '--debug', ...l.kubeArgs]);
    expect(r.code).toBe(4);
    expect(r.stderr.split('\n')[0]).toBe(
      'hanasr: status: HanaSystemReplication "nope" not found in namespace "hana"',
    );
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('the kubectl plugin', () => {
  it('runs through a symlink named kubectl-hanasr with the same argv', async () => {
    const link = join(l.dir, 'kubectl-hanasr');
    symlinkSync(MAIN, link);
    const r = await runCli(['status', 'ha1', '-o', 'json', ...l.kubeArgs], { script: link });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: { currentPrimary: 'A' } });
    const help = await runCli(['--help'], { script: link });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^\s+takeover\s/m);
  });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function writeKubeconfigFor(path: string, server: string): void {
  // The fake server's kubeconfig, pointed at another address.
  l.server.writeKubeconfig(path);
  writeFileSync(path, readFileSync(path, 'utf8').replace(l.server.url, server));
}
