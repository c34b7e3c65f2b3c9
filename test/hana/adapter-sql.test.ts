/**
 * Issue 3, "through the real @sap/hana-client over TCP": the command adapter's probe with the
 * real HanaSqlProbe as its lag source, against the SQL wire-protocol server answering from the
 * same simulated site. The lag the probe reports is the live lag of the model, and it grows when
 * the replication link is slowed down. A lag source that hangs or is refused leaves the lag
 * unknown (null), never zero, and never leaks the password.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { realClock, VirtualClock } from '../../src/clock.js';
import type { ReplicationLink } from '../../src/domain/types.js';
import { HanaCommandAdapter } from '../../src/hana/commands/adapter.js';
import { SimCommandRunner } from '../../src/standins/hana-sim/commands.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import { HanaSqlProbe } from '../../src/hana/sql/probe.js';
import { startHanaWireServer, type HanaWireServer } from '../../src/standins/hana-wire/server.js';
import { MODEL_OPTIONS } from './commands/adapter-suite.js';
import { PASSWORD, USER } from './wire/helpers.js';

let landscape: SimLandscape | undefined;
let server: HanaWireServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  landscape?.dispose();
  landscape = undefined;
});

async function rig(
  options: {
    adapterClock?: 'model' | 'real';
    password?: string;
    commandTimeoutMs?: number;
    keepConnection?: boolean;
    /** Every HANA tool waits for this before it answers (a loaded host's slow tools). */
    toolsGate?: () => Promise<void>;
  } = {},
) {
  // Model time is virtual (lag grows only as the test advances it); SQL deadlines run on real time.
  const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
  landscape = new SimLandscape({ ...MODEL_OPTIONS, sites: [...MODEL_OPTIONS.sites], clock });
  const site = landscape.site('SiteA');
  server = await startHanaWireServer({
    port: 0,
    user: USER,
    password: PASSWORD,
    snapshot: () => site.snapshot(),
  });
  const sqlProbe = new HanaSqlProbe({
    host: '127.0.0.1',
    port: server.port,
    credentials: async () => ({ user: USER, password: options.password ?? PASSWORD }),
    timeoutMs: 5000,
    clock: realClock,
    ...(options.keepConnection ? { keepConnection: true } : {}),
  });
  const adapter = new HanaCommandAdapter({
    sid: 'HA1',
    instanceNumber: '00',
    siteName: 'SiteA',
    commandTimeoutMs: options.commandTimeoutMs ?? 5000,
    runner: options.toolsGate
      ? {
          run: async (argv, o) => {
            await options.toolsGate!();
            return new SimCommandRunner(site, clock).run(argv, o);
          },
        }
      : new SimCommandRunner(site, clock),
    clock: options.adapterClock === 'real' ? realClock : clock,
    lagSource: sqlProbe,
  });
  return { clock, landscape, adapter, sqlProbe, server };
}

const linkB = (links: readonly ReplicationLink[]) => {
  const l = links.find((x) => x.secondary === 'SiteB');
  expect(l).toBeDefined();
  return l!;
};

describe('HanaCommandAdapter with the real HanaSqlProbe as lag source (wire protocol over TCP)', () => {
  it('reports the live lag of the views, and it grows while the link is slowed down', async () => {
    const { clock, landscape, adapter, sqlProbe } = await rig();
    await clock.advanceBy(60_000);
    const healthy = await adapter.probe();
    expect(healthy).toMatchObject({ probeOk: true, srRole: 'primary', acceptsWrites: true });
    const before = linkB(healthy.replication);
    expect(before.lagSeconds).not.toBeNull();
    expect(before.lagBytes).not.toBeNull();
    // The adapter passes on exactly what the SQL views say.
    const direct = (await sqlProbe.replicationLag()).get('SiteB')!;
    expect(before).toMatchObject({ lagSeconds: direct.lagSeconds, lagBytes: direct.lagBytes });

    landscape.setLinkSlowdown('SiteB', 100_000);
    await clock.advanceBy(60_000);
    const slow1 = linkB((await adapter.probe()).replication);
    await clock.advanceBy(60_000);
    const slow2 = linkB((await adapter.probe()).replication);
    expect(slow1.lagBytes!).toBeGreaterThan(before.lagBytes!);
    expect(slow2.lagBytes!).toBeGreaterThan(slow1.lagBytes!);
    expect(slow2.lagSeconds!).toBeGreaterThan(slow1.lagSeconds!);
    expect(slow2.lagSeconds!).toBeGreaterThan(before.lagSeconds!);

    // Back to normal: the secondary catches up and the lag shrinks again.
    landscape.setLinkSlowdown('SiteB', 1);
    await clock.advanceBy(120_000);
    const after = linkB((await adapter.probe()).replication);
    expect(after.lagBytes!).toBeLessThan(slow2.lagBytes!);
  });

  it('a SQL port that never answers: the probe still completes, lag unknown (null), not zero', async () => {
    const { clock, adapter, server } = await rig({ adapterClock: 'real', commandTimeoutMs: 500 });
    await clock.advanceBy(60_000);
    server.setFault({ hang: 'queries' });
    const health = await adapter.probe();
    expect(health.probeOk).toBe(true);
    expect(health.running).toBe(true);
    const b = linkB(health.replication);
    expect(b.lagSeconds).toBeNull();
    expect(b.lagBytes).toBeNull();
  });

  it('a wrong password: lag unknown, and the password is nowhere in the health', async () => {
    const wrong = 'Not-The-Sql-Password-5';
    const { clock, adapter } = await rig({ password: wrong });
    await clock.advanceBy(60_000);
    const health = await adapter.probe();
    expect(linkB(health.replication).lagBytes).toBeNull();
    expect(JSON.stringify(health)).not.toContain(wrong);
    expect(JSON.stringify(health)).not.toContain(PASSWORD);
  });

  it('with the kept connection (as the agent runs it): one login for many probes, each reading the live lag', async () => {
    const { clock, landscape, adapter, sqlProbe, server } = await rig({ keepConnection: true });
    await clock.advanceBy(60_000);
    const before = linkB((await adapter.probe()).replication);
    landscape.setLinkSlowdown('SiteB', 100_000);
    await clock.advanceBy(60_000);
    const slow = linkB((await adapter.probe()).replication);
    expect(slow.lagBytes!).toBeGreaterThan(before.lagBytes!);
    await adapter.probe();
    expect(server.connectionsAccepted()).toBe(1);
    await sqlProbe.close();
  });

  it('a primary reads its lag while its tools run, not after them (the SQL round trip does not add to the tools)', async () => {
    let release: () => void = () => undefined;
    let gate: Promise<void> = Promise.resolve();
    const { clock, adapter, sqlProbe } = await rig({ keepConnection: true, toolsGate: () => gate });
    await clock.advanceBy(60_000);
    // The first probe learns that the site is a primary.
    expect(linkB((await adapter.probe()).replication).lagBytes).not.toBeNull();
    let lagReads = 0;
    const read = sqlProbe.replicationLag.bind(sqlProbe);
    sqlProbe.replicationLag = (signal) => {
      lagReads++;
      return read(signal);
    };
    gate = new Promise<void>((r) => (release = r));
    const pending = adapter.probe();
    // The tools are held; the lag read has started all the same.
    for (let i = 0; i < 200 && lagReads === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lagReads).toBe(1);
    release();
    const health = await pending;
    expect(health).toMatchObject({ probeOk: true, srRole: 'primary' });
    expect(linkB(health.replication).lagBytes).not.toBeNull();
    expect(lagReads).toBe(1);
    await sqlProbe.close();
  });

  it('a site whose last probe found no primary reads no lag before its tools say primary', async () => {
    const { clock, landscape, adapter, sqlProbe, server } = await rig({ keepConnection: true });
    await clock.advanceBy(60_000);
    const b = new HanaCommandAdapter({
      sid: 'HA1',
      instanceNumber: '00',
      siteName: 'SiteB',
      commandTimeoutMs: 5000,
      runner: new SimCommandRunner(landscape.site('SiteB'), clock),
      clock,
      lagSource: sqlProbe,
    });
    expect(await b.probe()).toMatchObject({ srRole: 'secondary' });
    expect(await b.probe()).toMatchObject({ srRole: 'secondary' });
    expect(server.connectionsAccepted()).toBe(0);
    void adapter;
    await sqlProbe.close();
  });
});
