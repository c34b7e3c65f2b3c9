import { describe, it, expect, afterEach } from 'vitest';
import { VirtualClock } from '../../../src/clock.js';
import { HanaCommandAdapter } from '../../../src/hana/commands/adapter.js';
import type { LagSample, LagSource } from '../../../src/hana/commands/health.js';
import { SimCommandRunner } from '../../../src/standins/hana-sim/commands.js';
import { SimLandscape } from '../../../src/standins/hana-sim/model.js';
import { MODEL_OPTIONS } from './adapter-suite.js';

const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
let landscape: SimLandscape | undefined;
afterEach(() => landscape?.dispose());

function primaryAdapter(lagSource: LagSource): HanaCommandAdapter {
  landscape = new SimLandscape({ ...MODEL_OPTIONS, sites: [...MODEL_OPTIONS.sites], clock });
  return new HanaCommandAdapter({
    sid: 'HA1',
    instanceNumber: '00',
    siteName: 'SiteA',
    commandTimeoutMs: 5000,
    runner: new SimCommandRunner(landscape.site('SiteA'), clock),
    clock,
    lagSource,
  });
}

describe('HanaCommandAdapter lag source', () => {
  it('puts lag seconds and bytes on the link of each secondary', async () => {
    const adapter = primaryAdapter({
      replicationLag: async () =>
        new Map<string, LagSample>([['SiteB', { lagSeconds: 2.5, lagBytes: 6400 }]]),
    });
    await clock.advanceBy(60_000);
    const health = await adapter.probe();
    expect(health.replication).toMatchObject([{ secondary: 'SiteB', lagSeconds: 2.5, lagBytes: 6400 }]);
  });

  it('a lag source that never answers is cut at the command deadline: lag unknown (null), never zero', async () => {
    let aborted = false;
    const adapter = primaryAdapter({
      replicationLag: (signal) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(signal.reason);
          }),
        ),
    });
    await clock.advanceBy(60_000);
    const pending = adapter.probe();
    await clock.advanceBy(5001);
    const health = await pending;
    expect(aborted).toBe(true);
    expect(health.probeOk).toBe(true);
    expect(health.replication).toMatchObject([
      { secondary: 'SiteB', inSync: true, lagSeconds: null, lagBytes: null },
    ]);
  });
});
