/** A fuzz case as a scenario file: valid `hanasr simulate` input, ready for test/regressions/. */
import { stringify } from 'yaml';
import type { ScenarioInput } from './generate.js';

export function scenarioYaml(input: ScenarioInput, comment?: string): string {
  const head = comment
    ? comment
        .split('\n')
        .map((l) => `# ${l}`.trimEnd())
        .join('\n') + '\n'
    : '';
  return head + stringify(input, { lineWidth: 0, flowCollectionPadding: true });
}
