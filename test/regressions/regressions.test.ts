/**
 * Every scenario in test/regressions/ (schedules the fuzz runner found violating an invariant,
 * shrunk by it, each with the fix that made it pass) meets its expectations, both through the
 * command path `hanasr simulate` uses and through the direct port the fuzz runner uses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { directPortFactory, runScenario } from '../../src/sim/runner.js';
import { parseScenario } from '../../src/sim/scenario.js';

const dir = import.meta.dirname;
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('regression scenarios', () => {
  it('are there', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(file, async () => {
      const scenario = parseScenario(readFileSync(join(dir, file), 'utf8'), file);
      expect(scenario.expect.invariants?.length ?? 0).toBeGreaterThan(0);
      for (const options of [{}, { portFactory: await directPortFactory() }]) {
        const result = await runScenario(scenario, options);
        const failed = result.expectations.filter((e) => !e.ok);
        expect(failed, JSON.stringify(failed)).toEqual([]);
      }
    });
  }
});
