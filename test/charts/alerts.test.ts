import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { METRIC_NAMES } from '../../src/observability/metrics.js';
import { renderChart } from '../support/helm.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const chartDir = join(root, 'charts/hanasr');
const rulesFile = join(chartDir, 'files/alerts.rules.yaml');
const promtoolDir = join(root, 'test/charts/promtool');
const runbook = readFileSync(join(root, 'docs/runbook.md'), 'utf8');

type Rule = {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};
const rules = (
  parse(readFileSync(rulesFile, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }
).groups.flatMap((g) => g.rules);

function promtool(args: string[], cwd = root): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (run.error) {
    throw new Error(
      `promtool is needed to test the alert rules: apt-get install prometheus (${run.error.message})`,
    );
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Metric names in a PromQL expression (histogram series map to their family). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bhanasr_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}

const dashboard = JSON.parse(readFileSync(join(chartDir, 'dashboards/hanasr.json'), 'utf8')) as unknown;
/** Every PromQL expression of the dashboard: panel targets, template queries, annotations. */
function dashboardExprs(): string[] {
  const out: string[] = [];
  const visit = (v: unknown, key = ''): void => {
    if (
      typeof v === 'string' &&
      (key === 'expr' || key === 'query' || key === 'definition') &&
      v.includes('hanasr_')
    )
      out.push(v);
    else if (Array.isArray(v)) v.forEach((x) => visit(x));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, k);
  };
  visit(dashboard);
  return out;
}

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const run = promtool(['check', 'rules', rulesFile]);
    expect(run.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(run.status).toBe(0);
  });

  it('pass promtool test rules: series cross the thresholds and come back', () => {
    const files = readdirSync(promtoolDir)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const file of files) {
      const run = promtool(['test', 'rules', file], promtoolDir);
      expect(run.output, file).toContain('SUCCESS');
      expect(run.status, `${file}\n${run.output}`).toBe(0);
    }
  });

  it('every alert of the catalogue is tested with promtool', () => {
    const tested = readdirSync(promtoolDir)
      .map((f) => readFileSync(join(promtoolDir, f), 'utf8'))
      .join('\n');
    for (const rule of rules) expect(tested, rule.alert).toContain(`alertname: ${rule.alert}`);
  });

  it('has the required alerts, each with severity, summary, description and a runbook section', () => {
    expect(rules.map((r) => r.alert)).toEqual([
      'HanaSRReplicationLagWarning',
      'HanaSRReplicationLagCritical',
      'HanaSRReplicationNotActive',
      'HanaSRSecondaryNotInSync',
      'HanaSRNoPrimary',
      'HanaSRTwoPrimaries',
      'HanaSRTakeoverHappened',
      'HanaSRAgentSilent',
      'HanaSRClockSkew',
      'HanaSRWatchdogUnusable',
      'HanaSRNodeFenceFailed',
      'HanaSRBackupTooOld',
      'HanaSRLogBackupStalled',
      'HanaSRBackupNotReadable',
      'HanaSRPrimaryRegionUnreachable',
      'HanaSRDRLinkDown',
    ]);
    for (const rule of rules) {
      expect(['warning', 'critical']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toBeTruthy();
      expect(rule.annotations?.description).toBeTruthy();
      const anchor = rule.alert!.toLowerCase();
      expect(rule.annotations?.runbook_url).toMatch(new RegExp(`/docs/runbook\\.md#${anchor}$`));
      expect(runbook, `docs/runbook.md needs a section "## ${rule.alert}"`).toMatch(
        new RegExp(`^## ${rule.alert}$`, 'm'),
      );
    }
  });

  it('use only metric names of the catalogue', () => {
    for (const rule of rules) {
      const names = metricNames(rule.expr);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(METRIC_NAMES, `${rule.alert}: ${name}`).toContain(name);
    }
  });

  it('are what the chart renders with default values (the PrometheusRule is built from the same rules)', () => {
    const rendered = renderChart(chartDir, { values: { prometheusRule: { enabled: true } } });
    const rule = rendered.documents.find((d) => d.object.kind === 'PrometheusRule');
    expect(rule).toBeDefined();
    const fileGroups = (parse(readFileSync(rulesFile, 'utf8')) as { groups: unknown }).groups;
    expect((rule!.object.spec as { groups: unknown }).groups).toEqual(fileGroups);
  });

  it('render with other thresholds into rules promtool accepts', () => {
    const rendered = renderChart(chartDir, {
      values: {
        prometheusRule: {
          enabled: true,
          alerts: {
            lagWarningSeconds: 10,
            lagCriticalSeconds: 1000000,
            lagFor: '30s',
            twoPrimariesFor: '15s',
          },
        },
      },
    });
    const rule = rendered.documents.find((d) => d.object.kind === 'PrometheusRule')!;
    const groups = (rule.object.spec as { groups: { rules: Rule[] }[] }).groups;
    const critical = groups[0]!.rules.find((r) => r.alert === 'HanaSRReplicationLagCritical')!;
    // Helm prints float64 values with Go's %v: 1000000 becomes 1e+06, which PromQL reads as the same number.
    expect(critical.expr).toContain('> 1e+06');
    expect(critical.for).toBe('30s');
    const dir = mkdtempSync(join(tmpdir(), 'hanasr-rules-'));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    const run = promtool(['check', 'rules', join(dir, 'rules.yaml')]);
    expect(run.output).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});

describe('Grafana dashboard', () => {
  it('covers topology, lag, takeovers and probe health', () => {
    const titles = JSON.stringify(dashboard);
    for (const title of [
      'Site roles',
      'Replication lag',
      'Takeovers',
      'Probe duration p99',
      'Probe failures',
    ]) {
      expect(titles).toContain(`"title":"${title}"`);
    }
  });

  it('queries only metric names of the catalogue', () => {
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThanOrEqual(20);
    const used = new Set<string>();
    for (const expr of exprs) {
      for (const name of metricNames(expr)) {
        expect(METRIC_NAMES, `${name} in ${expr}`).toContain(name);
        used.add(name);
      }
    }
    expect(used.size).toBeGreaterThanOrEqual(15);
  });

  it('has PromQL that Prometheus parses (checked by promtool as recording rules)', () => {
    const exprs = dashboardExprs().filter((e) => !e.startsWith('label_values('));
    const grafanaVars = (e: string) =>
      e
        .replaceAll('$__rate_interval', '5m')
        .replaceAll('$__range', '1h')
        .replaceAll('$namespace', '.*')
        .replaceAll('$cluster', '.*');
    const groups = [
      {
        name: 'dashboard',
        rules: exprs.map((e, i) => ({ record: `hanasr_dashboard:expr${i}`, expr: grafanaVars(e) })),
      },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'hanasr-dash-'));
    writeFileSync(join(dir, 'dash.yaml'), stringify({ groups }));
    const run = promtool(['check', 'rules', join(dir, 'dash.yaml')]);
    expect(run.output).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(run.status).toBe(0);
  });
});
