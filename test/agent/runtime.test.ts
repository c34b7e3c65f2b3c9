/**
 * The in-process agent runtime's outputs: winston JSON log lines (one per decision and action,
 * with its reason) in which no password ever appears, even when an error message carries one;
 * /metrics on the status port with the hanasr_ series of the site and of the links it feeds.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../src/agent/config.js';
import { startAgentRuntime, type AgentRuntime } from '../../src/agent/runtime.js';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { unknownHealth } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { SimDirectPort } from '../../src/standins/hana-sim/direct-port.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import { startHanaWireServer } from '../../src/standins/hana-wire/server.js';
import { REDACTED } from '../../src/observability/log.js';
import { PASSWORD, USER } from '../hana/wire/helpers.js';

const ETCD_PASSWORD = 'Etcd-Pa55word-77';
const PEER_TOKEN = 'Peer-Token-7d6c5b4a3f2e1d0c';
const statusOf = async (url: string): Promise<string> =>
  (
    await fetch(`${url}/status`, {
      signal: AbortSignal.timeout(5000),
      headers: { authorization: `Bearer ${PEER_TOKEN}` },
    })
  ).text();

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** Polls until `fn` returns a value (a deadline, not a timing assertion). */
async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + 20_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const SPEC = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b' },
  ],
  replication: { mode: 'async' },
  probes: { intervalSeconds: 0.2, timeoutSeconds: 1 },
  lease: { ttlSeconds: 2 },
};

/**
 * A runtime for site A of `ns.rt` on memory coordination, configured with an etcd password file
 * and SQL credentials in the environment; `leaky` makes A's probe fail with an error message that
 * echoes both passwords (as a careless driver might).
 */
async function rig(options: { peerSql?: boolean; leaky?: boolean; echo?: boolean; watches?: boolean } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanasr-agent-runtime-'));
  const specFile = path.join(dir, 'spec.json');
  writeFileSync(specFile, JSON.stringify(SPEC));
  const etcdPasswordFile = path.join(dir, 'etcd-password');
  writeFileSync(etcdPasswordFile, `${ETCD_PASSWORD}\n`, { mode: 0o600 });
  const peerTokenFile = path.join(dir, 'peer-token');
  writeFileSync(peerTokenFile, `${PEER_TOKEN}\n`, { mode: 0o600 });
  const landscape = new SimLandscape({
    sid: 'HA1',
    instanceNumber: '00',
    sites: SPEC.sites,
    initialPrimary: 'A',
    mode: 'async',
    operationMode: 'logreplay',
    logShippingTimeoutSeconds: 30,
    clock: realClock,
    seed: 3,
    writesPerSecond: 20,
  });
  closers.push(() => landscape.dispose());
  const sqlB = await startHanaWireServer({
    port: 0,
    user: USER,
    password: PASSWORD,
    snapshot: () => landscape.site('B').snapshot(),
  });
  closers.push(() => sqlB.close());
  const env = { HANASR_SQL_USER: USER, HANASR_SQL_PASSWORD: PASSWORD };
  const config = loadAgentConfig(
    [
      '--cluster',
      'ns.rt',
      '--site',
      'A',
      '--spec-file',
      specFile,
      '--spec-from-store',
      'false',
      '--etcd-endpoints',
      'http://127.0.0.1:1',
      '--status-host',
      '127.0.0.1',
      '--status-port',
      '0',
      ...(options.peerSql === false ? [] : ['--peer-sql', `B=127.0.0.1:${sqlB.port}`]),
      '--peer-token-file',
      peerTokenFile,
      '--log-level',
      'debug',
    ],
    { ...env, HANASR_ETCD_USERNAME: 'hanasr', HANASR_ETCD_PASSWORD_FILE: etcdPasswordFile },
  );
  const control = { leaky: options.leaky ?? false };
  const lines: string[] = [];
  const runtime: AgentRuntime = await startAgentRuntime(config, {
    // The store is injected; the etcd settings (and their password) are still the runtime's.
    coordination: new MemoryCoordination(realClock, { watches: options.watches ?? false }),
    env,
    hana: () => {
      const inner = new SimDirectPort(landscape.site('A'));
      const port: HanaPort = {
        probe: (signal) =>
          options.echo
            ? // A tool whose output echoes the credentials: the probe reads it as unknown, quoting it.
              Promise.resolve(
                unknownHealth(
                  `hdbnsutil printed: connect as ${USER}/${PASSWORD} (etcd hanasr:${ETCD_PASSWORD})`,
                ),
              )
            : control.leaky
              ? Promise.reject(
                  new Error(`connect as ${USER}/${PASSWORD} failed (etcd auth hanasr:${ETCD_PASSWORD})`),
                )
              : inner.probe(signal),
        takeover: (o, s) => inner.takeover(o, s),
        register: (o, s) => inner.register(o, s),
        start: (s) => inner.start(s),
        stop: (o, s) => inner.stop(o, s),
        kill: (s) => inner.kill(s),
      };
      return port;
    },
    write: (l) => lines.push(l),
  });
  closers.push(() => runtime.stop());
  return { runtime, lines, control, landscape };
}

function objects(lines: readonly string[]): Record<string, unknown>[] {
  return lines
    .join('')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('agent runtime', () => {
  it("watches the leader key through the store's watch (the runtime's store wrapper passes it on)", async () => {
    const { runtime } = await rig({ watches: true });
    await runtime.started;
    // Before: the wrapper that records store reachability dropped watchLeader, so the real agent
    // never had a watch and a secondary learnt of a released key only on its next interval.
    expect(runtime.agent()!.leaderWatch.state).not.toBe('unsupported');
    await until('the watch open', () => (runtime.agent()!.leaderWatch.state === 'open' ? true : undefined));
    await runtime.stop();
  });
});

describe('agent runtime logs', () => {
  it('writes winston JSON lines: one per decision with its reason, constant messages', async () => {
    const { runtime, lines } = await rig();
    await runtime.started;
    await until('the leader decision', () =>
      objects(lines).find((o) => o['message'] === 'agent action done' && o['decision'] === 'acquire-leader'),
    );
    await runtime.stop();
    const all = objects(lines);
    for (const o of all) {
      expect(o).toMatchObject({ component: 'agent' });
      expect(typeof o['level']).toBe('string');
      expect(typeof o['timestamp']).toBe('string');
    }
    const decisions = all.filter((o) => o['message'] === 'agent decision');
    expect(decisions.length).toBeGreaterThan(0);
    for (const d of decisions) {
      expect(d).toMatchObject({ cluster: 'ns.rt', site: 'A', event: 'decision' });
      expect(typeof d['decision']).toBe('string');
      expect(typeof d['reason']).toBe('string');
    }
    // A decision is logged once, not every cycle: consecutive decision lines differ.
    const keys = decisions.map((d) => `${String(d['decision'])}|${String(d['reason'])}`);
    for (let i = 1; i < keys.length; i++) expect(keys[i]).not.toBe(keys[i - 1]);
    expect(all.map((o) => o['message'])).toContain('agent stopped');
  });

  it('never writes the SQL or the etcd password, even when an error message carries them', async () => {
    const { runtime, lines, control } = await rig();
    await runtime.started;
    await until('A to lead', () =>
      objects(lines).find((o) => o['message'] === 'agent decision' && o['reason'] === 'leader_healthy'),
    );
    control.leaky = true;
    const leaked = await until('a decision quoting the failed probe', () =>
      objects(lines).find(
        (o) => o['message'] === 'agent decision' && String(o['detail']).includes(`connect as ${USER}/`),
      ),
    );

    expect(String(leaked['detail'])).toContain(REDACTED);
    const status = await statusOf(runtime.statusUrl);
    expect(status).toContain(`connect as ${USER}/`);
    await runtime.stop();
    const out = lines.join('');
    expect(out).toContain(REDACTED);
    for (const secret of [PASSWORD, ETCD_PASSWORD]) {
      expect(out).not.toContain(secret);
      expect(status).not.toContain(secret);
    }
  });
});

describe('agent runtime secrets', () => {
  it('registers the SQL password at start-up: a tool output echoing it before any SQL call is redacted everywhere', async () => {
    // No peer SQL check and a probe failing from the first cycle: the SQL credentials are never
    // used, so only a registration at start-up can keep the password out of /status and the logs.
    const { runtime, lines } = await rig({ peerSql: false, echo: true });
    await runtime.started;
    const status = await until('/status quoting the tool output', async () => {
      const text = await statusOf(runtime.statusUrl);
      return text.includes(`connect as ${USER}/`) ? text : undefined;
    });
    const metrics = await (
      await fetch(`${runtime.statusUrl}/metrics`, { signal: AbortSignal.timeout(5000) })
    ).text();
    await runtime.stop();
    const out = lines.join('');
    for (const secret of [PASSWORD, ETCD_PASSWORD, PEER_TOKEN]) {
      expect(out).not.toContain(secret);
      expect(status).not.toContain(secret);
      expect(metrics).not.toContain(secret);
    }
  });
});

describe('agent runtime metrics', () => {
  it('serves /metrics on the status port: probe duration and the real lag of the secondary', async () => {
    const { runtime } = await rig();
    await runtime.started;
    const scrape = async () => {
      const res = await fetch(`${runtime.statusUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
      return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
    };
    const lag = /^hanasr_replication_lag_seconds\{namespace="ns",cluster="rt",site="B"\} (\S+)$/m;
    const epoch = /^hanasr_leader_epoch\{namespace="ns",cluster="rt"\} 1$/m;
    const { status, type, text } = await until('the lag of B on /metrics', async () => {
      const r = await scrape();
      // The report after the one that took the key carries epoch 1.
      return lag.test(r.text) && epoch.test(r.text) ? r : undefined;
    });
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    expect(Number(lag.exec(text)?.[1])).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(
      /^hanasr_probe_duration_seconds_count\{namespace="ns",cluster="rt",site="A"\} [1-9]\d*$/m,
    );
    expect(text).toContain('hanasr_site_role{namespace="ns",cluster="rt",site="A",role="primary"} 1');
    expect(text).toContain('hanasr_build_info{');
    for (const secret of [PASSWORD, ETCD_PASSWORD]) expect(text).not.toContain(secret);
  });
});
