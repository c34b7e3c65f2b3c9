import { fileURLToPath } from 'node:url';
import { realClock, VirtualClock } from '../../../src/clock.js';
import {
  SpawnCommandRunner,
  type CommandResult,
  type CommandRunner,
  type RunOptions,
} from '../../../src/hana/commands/runner.js';
import { startSimControlServer } from '../../../src/standins/hana-sim/control-server.js';
import { SimLandscape } from '../../../src/standins/hana-sim/model.js';
import type { SimSiteControl } from '../../../src/standins/hana-sim/snapshot.js';
import { adapterSuite, MODEL_OPTIONS, type Harness } from './adapter-suite.js';

const bin = fileURLToPath(new URL('../../../src/standins/hana-sim/bin/', import.meta.url));

/** The real spawning runner, pointed at one simulated site through the environment. */
class SiteEnvRunner implements CommandRunner {
  constructor(
    private readonly inner: CommandRunner,
    private readonly env: Record<string, string>,
  ) {}
  run(argv: readonly string[], options: RunOptions): Promise<CommandResult> {
    return this.inner.run(argv, { ...options, env: { ...options.env, ...this.env } });
  }
}

adapterSuite('fake executables through SpawnCommandRunner, real processes', async (): Promise<Harness> => {
  const modelClock = new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
  const landscape = new SimLandscape({
    ...MODEL_OPTIONS,
    sites: [...MODEL_OPTIONS.sites],
    clock: modelClock,
  });
  const controls = new Map<string, SimSiteControl>(
    MODEL_OPTIONS.sites.map((s) => [s.name, landscape.site(s.name)]),
  );
  const server = await startSimControlServer(controls);
  // Model time runs on (50x real time) while real processes ask it, so restarts complete.
  let queue: Promise<void> = Promise.resolve();
  const advance = (ms: number) => (queue = queue.then(() => modelClock.advanceBy(ms)));
  const ticker = setInterval(() => void advance(1000), 20);
  const spawnRunner = new SpawnCommandRunner({ killGraceMs: 500 });
  return {
    landscape,
    clock: realClock,
    commandTimeoutMs: 3000,
    runner: (site) => new SiteEnvRunner(spawnRunner, { HANASR_SIM_URL: server.url, HANASR_SIM_SITE: site }),
    paths: () => ({
      hdbnsutil: bin + 'hdbnsutil',
      sapcontrol: bin + 'sapcontrol',
      hdbSettings: bin + 'HDBSettings.sh',
      hdb: bin + 'HDB',
    }),
    advanceModel: (ms) => advance(ms),
    settle: (p) => p,
    close: async () => {
      clearInterval(ticker);
      await queue;
      await server.close();
      landscape.dispose();
    },
  };
});
