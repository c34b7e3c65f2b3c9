/**
 * Precise times: the simulator's timeline keeps milliseconds (a fault at 60.25 s is at 60.25, not
 * rounded to the tenth), `hanasr simulate` prints them as `60.250s`, and every demo line carries
 * its UTC time to the millisecond.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatResult } from '../../src/cli/commands/simulate.js';
import { timelineLine } from '../../src/demo/view.js';
import { runScenario } from '../../src/sim/runner.js';
import { parseScenario } from '../../src/sim/scenario.js';

const file = join(import.meta.dirname, '../../examples/scenarios/kill-primary-instance.yaml');

describe('times to the millisecond', () => {
  it('the timeline keeps the milliseconds of a fault and of what follows it', async () => {
    const text = readFileSync(file, 'utf8').replace(
      'atSeconds: 60, action: crash-instance',
      'atSeconds: 60.25, action: crash-instance',
    );
    const r = await runScenario(parseScenario(text, 'kill-primary-instance.yaml'));
    const crash = r.timeline.find((e) => e.event === 'fault:crash-instance');
    expect(crash?.t).toBe(60.25);
    // Everything the agents did after it follows the crash on the same millisecond grid.
    const takeover = r.timeline.find((e) => e.event === 'action:takeover');
    expect(takeover).toBeDefined();
    expect(Math.round(takeover!.t * 1000) % 10).toBe(Math.round(crash!.t * 1000) % 10);
    for (const e of r.timeline) expect(Math.round(e.t * 1000) / 1000).toBe(e.t);
    const lines = formatResult(r, { timeline: true }).split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^\s+60\.250s {2}A\s+fault:crash-instance/));
    expect(lines.filter((l) => /^\s+\d+\.\d+s {2}/.test(l)).every((l) => /^\s+\d+\.\d{3}s {2}/.test(l))).toBe(
      true,
    );
  });

  it('a demo line carries its UTC time with milliseconds', () => {
    const at = Date.UTC(2026, 11, 6, 9, 41, 7, 218);
    expect(timelineLine({ seq: 1, at, source: 'agent', site: 'B', text: 'took over' })).toBe(
      '09:41:07.218  B    took over',
    );
  });
});
