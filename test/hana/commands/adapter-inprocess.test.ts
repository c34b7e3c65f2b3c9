import { VirtualClock } from '../../../src/clock.js';
import { SimCommandRunner } from '../../../src/standins/hana-sim/commands.js';
import { SimLandscape } from '../../../src/standins/hana-sim/model.js';
import { adapterSuite, MODEL_OPTIONS, type Harness } from './adapter-suite.js';

adapterSuite('in-process SimCommandRunner, virtual time', async (): Promise<Harness> => {
  const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
  const landscape = new SimLandscape({ ...MODEL_OPTIONS, sites: [...MODEL_OPTIONS.sites], clock });
  return {
    landscape,
    clock,
    commandTimeoutMs: 5000,
    runner: (site) => new SimCommandRunner(landscape.site(site), clock),
    paths: () => ({}),
    advanceModel: (ms) => clock.advanceBy(ms),
    settle: async <T>(p: Promise<T>): Promise<T> => {
      let done = false;
      const watched = p.finally(() => {
        done = true;
      });
      watched.catch(() => {});
      for (let i = 0; i < 2000 && !done; i++) await clock.advanceBy(250);
      return watched;
    },
    close: async () => landscape.dispose(),
  };
});
