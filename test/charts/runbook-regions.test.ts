/**
 * docs/runbook.md covers what the region code tells a DBA (docs/dr.md): every Event reason the
 * planned region switchover and the disaster takeover record has a section, and every reason a
 * RegionSwitchoverStuck Event or a refused switchover request can carry is named there. Read from
 * the sources, so a new reason without a runbook entry fails here. (The alerts are checked in
 * alerts.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const runbook = read('docs/runbook.md');
const regionStart = runbook.indexOf('\n## Region Events\n');
const regionPart = regionStart < 0 ? '' : runbook.slice(regionStart);

const matches = (text: string, re: RegExp) => [...text.matchAll(re)].map((m) => m[1]!);

describe('the runbook covers the region Events', () => {
  it('has a section for every Event reason of the region switchover and the disaster takeover', () => {
    const sources = ['controller.ts', 'region-switchover.ts', 'disaster.ts', 'status.ts'].map((f) =>
      read(`src/operator/${f}`),
    );
    // An Event object: its type, then its reason.
    const reasons = new Set(
      sources.flatMap((s) => matches(s, /type:[^,\n]*,\s*reason: '((?:Region|Disaster)[A-Za-z]+)'/g)),
    );
    expect([...reasons].sort()).toEqual([
      'DisasterTakeoverRequested',
      'DisasterTakeoverSucceeded',
      'RegionSwitchoverAborted',
      'RegionSwitchoverDraining',
      'RegionSwitchoverHandover',
      'RegionSwitchoverStuck',
    ]);
    expect(regionStart, 'docs/runbook.md needs a section "## Region Events"').toBeGreaterThan(0);
    for (const reason of reasons)
      expect(regionPart, `docs/runbook.md needs "### ${reason}"`).toMatch(new RegExp(`^### ${reason}$`, 'm'));
    expect(regionPart).toMatch(/^### IntentRefused \(region switchover, disaster takeover\)$/m);
  });

  it('names every reason a RegionSwitchoverStuck Event or a refused switchover can carry', () => {
    const step = read('src/operator/region-switchover.ts');
    const stuck = matches(step, /kind: 'stuck',\s*reason: '([a-z_]+)'/g);
    expect(stuck.length).toBeGreaterThanOrEqual(3);
    const domain = read('src/domain/region.ts');
    const plan = domain.slice(domain.indexOf('export function planRegionSwitchover'));
    const refused = [
      ...matches(plan.slice(0, plan.indexOf('\n}\n')), /refuse\(\s*'([a-z_]+)'/g),
      ...matches(step, /ok: false,\s*reason: '([a-z_]+)'/g),
      ...matches(step, /refuse\(\s*'([a-z_]+)'/g),
    ];
    expect(refused.length).toBeGreaterThanOrEqual(10);
    const stuckSection = regionPart.slice(regionPart.indexOf('### RegionSwitchoverStuck'));
    for (const reason of stuck) expect(stuckSection, reason).toContain(`\`${reason}\``);
    const refusedSection = regionPart.slice(regionPart.indexOf('### IntentRefused'));
    for (const reason of new Set(refused)) expect(refusedSection, reason).toContain(`\`${reason}\``);
  });
});
