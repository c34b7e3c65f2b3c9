/** Every shipped example scenario runs through `hanasr simulate`'s engine and meets its expectations. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/sim/scenario.js';
import { runScenario } from '../../src/sim/runner.js';

const dir = join(import.meta.dirname, '../../examples/scenarios');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('example scenarios', () => {
  it('ships at least six scenarios', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  for (const file of files) {
    it(file, async () => {
      const scenario = parseScenario(readFileSync(join(dir, file), 'utf8'), file);
      expect(Object.keys(scenario.expect).length).toBeGreaterThan(0);
      const result = await runScenario(scenario);
      const failed = result.expectations.filter((e) => !e.ok);
      expect(failed, JSON.stringify(failed)).toEqual([]);
      expect(result.passed).toBe(true);
      // Only a scenario that shows a documented limit may expect two writers.
      expect(result.metrics.maxConcurrentPrimaries).toBeLessThanOrEqual(
        scenario.expect.maxConcurrentPrimaries ?? 1,
      );
    });
  }

  it('is deterministic: the same seed gives the same timeline', async () => {
    const text = readFileSync(join(dir, 'kill-primary-instance.yaml'), 'utf8');
    const a = await runScenario(parseScenario(text));
    const b = await runScenario(parseScenario(text));
    expect(a.timeline).toEqual(b.timeline);
    expect(a.metrics.acknowledgedWrites).toBe(b.metrics.acknowledgedWrites);
  });
});

describe('what a takeover looks like', () => {
  it('kill-primary-instance: failure threshold, step-down, takeover, registration, in that order', async () => {
    const text = readFileSync(join(dir, 'kill-primary-instance.yaml'), 'utf8');
    const r = await runScenario(parseScenario(text));
    const order = ['action:step-down', 'action:takeover', 'action:register'].map((ev) =>
      r.timeline.findIndex((e) => e.event === ev),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    const crash = r.timeline.find((e) => e.event === 'fault:crash-instance')!;
    const takeover = r.timeline.find((e) => e.event === 'action:takeover')!;
    // failureThreshold 3 at a 2 s interval: not before the third failed probe.
    expect(takeover.t - crash.t).toBeGreaterThanOrEqual(4);
    expect(r.timeline.some((e) => e.reason === 'primary_probe_failed_below_threshold')).toBe(true);
  });
});
