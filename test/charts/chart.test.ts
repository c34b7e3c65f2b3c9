/**
 * The chart as the real helm (v4.1) renders it: `helm lint --strict` and `helm template` with
 * several values, invalid values refused by values.schema.json, and checks on the parsed output.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { chartNotes, helm, lintChart, renderChart, type RenderedChart } from '../support/helm.js';

const chartDir = fileURLToPath(new URL('../../charts/hanasr', import.meta.url));
const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as object;

type Obj = Record<string, unknown>;
const get = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Obj)[k] : undefined), o);

const ALL_ON = {
  serviceMonitor: { enabled: true, labels: { release: 'prom' } },
  prometheusRule: { enabled: true },
  grafanaDashboard: { enabled: true },
  podLabels: { team: 'sap-basis' },
};
const variants: [string, Obj][] = [
  ['default values', {}],
  ['every toggle on', ALL_ON],
  [
    'one watched namespace, no TLS',
    { operator: { watchNamespace: 'hana' }, etcd: { tls: { enabled: false } } },
  ],
];

function kinds(r: RenderedChart): string[] {
  return r.documents.map((d) => d.object.kind as string).sort();
}

describe.each(variants)('chart rendered with %s', (_name, values) => {
  const rendered = renderChart(chartDir, { values, release: { name: 'hanasr', namespace: 'hanasr-system' } });
  const docs = rendered.documents.map((d) => d.object);
  const deployment = docs.find((d) => d.kind === 'Deployment')!;

  it('passes helm lint --strict (values.schema.json included) with these values', () => {
    const lint = lintChart(chartDir, values);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('renders each document from a template of the chart', () => {
    for (const d of rendered.documents) expect(d.source).toMatch(/^hanasr\/templates\/[a-z-]+\.yaml$/);
  });

  it('renders only Kubernetes objects with apiVersion, kind, metadata.name and labels', () => {
    expect(docs.length).toBeGreaterThanOrEqual(6);
    for (const doc of docs) {
      expect(typeof doc.apiVersion, JSON.stringify(doc)).toBe('string');
      expect(typeof doc.kind).toBe('string');
      expect(get(doc, 'metadata.name')).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(get(doc, 'metadata.labels.app.kubernetes.io/name')).toBeUndefined(); // labels are flat keys
      expect((get(doc, 'metadata.labels') as Obj)['app.kubernetes.io/instance']).toBe('hanasr');
      const ns = get(doc, 'metadata.namespace');
      if (!['ClusterRole', 'ClusterRoleBinding'].includes(doc.kind as string)) expect(ns).toBeTruthy();
    }
    const names = docs.map((d) => `${d.kind as string}/${get(d, 'metadata.name') as string}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('runs a 2-replica operator whose selector matches its pod labels', () => {
    expect(get(deployment, 'spec.replicas')).toBe(2);
    const selector = get(deployment, 'spec.selector.matchLabels') as Obj;
    const labels = get(deployment, 'spec.template.metadata.labels') as Obj;
    for (const [k, v] of Object.entries(selector)) expect(labels[k]).toBe(v);
    const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget')!;
    expect(get(pdb, 'spec.selector.matchLabels')).toEqual(selector);
    expect(get(pdb, 'spec.minAvailable')).toBe(1);
    const service = docs.find((d) => d.kind === 'Service')!;
    for (const [k, v] of Object.entries(get(service, 'spec.selector') as Obj)) expect(labels[k]).toBe(v);
  });

  it('names its ports, probes /healthz and /readyz, runs `operator`', () => {
    const [container] = get(deployment, 'spec.template.spec.containers') as Obj[];
    expect(container!.args).toEqual(['operator']);
    const ports = container!.ports as { name: string; containerPort: number }[];
    expect(ports.map((p) => [p.name, p.containerPort])).toEqual([
      ['metrics', 9090],
      ['health', 8081],
    ]);
    expect(get(container, 'livenessProbe.httpGet')).toEqual({ path: '/healthz', port: 'health' });
    expect(get(container, 'readinessProbe.httpGet')).toEqual({ path: '/readyz', port: 'health' });
    const service = docs.find((d) => d.kind === 'Service')!;
    expect(get(service, 'spec.ports')).toEqual([
      { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    const env = container!.env as { name: string; value?: string }[];
    expect(env.find((e) => e.name === 'HANASR_ETCD_ENDPOINTS')?.value).toMatch(
      /^https:\/\/[^,]+:2379(,https:\/\/[^,]+:2379)+$/,
    );
  });

  it('has secure pod defaults', () => {
    const pod = get(deployment, 'spec.template.spec') as Obj;
    expect(get(pod, 'securityContext.runAsNonRoot')).toBe(true);
    expect(get(pod, 'securityContext.seccompProfile.type')).toBe('RuntimeDefault');
    for (const c of pod.containers as Obj[]) {
      expect(get(c, 'securityContext.runAsNonRoot')).toBe(true);
      expect(get(c, 'securityContext.readOnlyRootFilesystem')).toBe(true);
      expect(get(c, 'securityContext.allowPrivilegeEscalation')).toBe(false);
      expect(get(c, 'securityContext.capabilities.drop')).toEqual(['ALL']);
      expect(get(c, 'resources.limits.memory')).toBeTruthy();
      // every mount names a volume of the pod
      const volumes = (pod.volumes as { name: string }[]).map((v) => v.name);
      for (const m of c.volumeMounts as { name: string }[]) expect(volumes).toContain(m.name);
    }
  });

  it('grants exactly the rules of files/operator-rbac.yaml (checked against the calls by test/e2e/operator-rbac.test.ts)', () => {
    const roles = docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role');
    expect(roles).toHaveLength(1);
    const fileRules = parse(readFileSync(join(chartDir, 'files/operator-rbac.yaml'), 'utf8')) as unknown;
    expect(roles[0]!.rules).toEqual(fileRules);
    for (const binding of docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding')) {
      const ref = binding.roleRef as { kind: string; name: string };
      expect(
        roles.some((r) => r.kind === ref.kind && get(r, 'metadata.name') === ref.name),
        ref.name,
      ).toBe(true);
      expect(get(binding, 'subjects')).toEqual([
        { kind: 'ServiceAccount', name: 'hanasr', namespace: 'hanasr-system' },
      ]);
    }
  });

  it('prints NOTES', () => {
    expect(chartNotes(chartDir, values)).toContain('kubectl get hsr');
  });
});

describe('chart toggles', () => {
  it('renders the optional objects only when asked', () => {
    const off = renderChart(chartDir);
    const on = renderChart(chartDir, { values: ALL_ON });
    expect(kinds(off)).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
    ]);
    expect(kinds(on)).toEqual([...kinds(off), 'ConfigMap', 'PrometheusRule', 'ServiceMonitor'].sort());
  });

  it('makes the ServiceMonitor select the metrics Service by its labels and port name', () => {
    const docs = renderChart(chartDir, { values: ALL_ON }).documents.map((d) => d.object);
    const monitor = docs.find((d) => d.kind === 'ServiceMonitor')!;
    const service = docs.find((d) => d.kind === 'Service')!;
    const serviceLabels = get(service, 'metadata.labels') as Obj;
    for (const [k, v] of Object.entries(get(monitor, 'spec.selector.matchLabels') as Obj))
      expect(serviceLabels[k]).toBe(v);
    expect(get(monitor, 'spec.endpoints')).toMatchObject([{ port: 'metrics', path: '/metrics' }]);
    expect((get(monitor, 'metadata.labels') as Obj).release).toBe('prom');
  });

  it('ships the dashboard JSON intact in its ConfigMap', () => {
    const docs = renderChart(chartDir, { values: ALL_ON }).documents.map((d) => d.object);
    const cm = docs.find((d) => d.kind === 'ConfigMap')!;
    const json = (cm.data as Obj)['hanasr.json'] as string;
    expect(JSON.parse(json)).toEqual(
      JSON.parse(readFileSync(join(chartDir, 'dashboards/hanasr.json'), 'utf8')),
    );
    expect((get(cm, 'metadata.labels') as Obj).grafana_dashboard).toBe('1');
  });

  it('limits RBAC to the watched namespace and drops the TLS volume without TLS', () => {
    const docs = renderChart(chartDir, {
      values: { operator: { watchNamespace: 'hana' }, etcd: { tls: { enabled: false } } },
    }).documents.map((d) => d.object);
    expect(docs.some((d) => d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding')).toBe(false);
    expect(
      docs
        .filter((d) => d.kind === 'Role' || d.kind === 'RoleBinding')
        .map((r) => get(r, 'metadata.namespace'))
        .sort(),
    ).toEqual(['hana', 'hana']);
    const deployment = docs.find((d) => d.kind === 'Deployment')!;
    expect(JSON.stringify(deployment)).not.toContain('etcd-tls');
  });

  it('mounts the etcd client certificate read-only with mode 0440', () => {
    const docs = renderChart(chartDir).documents.map((d) => d.object);
    const volumes = get(
      docs.find((d) => d.kind === 'Deployment'),
      'spec.template.spec.volumes',
    ) as Obj[];
    expect(volumes.find((v) => v.name === 'etcd-tls')).toEqual({
      name: 'etcd-tls',
      secret: { secretName: 'hanasr-etcd-tls', defaultMode: 0o440 },
    });
  });

  it('fails when a required value is missing', () => {
    expect(() => renderChart(chartDir, { values: { etcd: { endpoints: [] } } })).toThrow(
      "at '/etcd/endpoints': minItems: got 0, want 1",
    );
    expect(() => renderChart(chartDir, { values: { serviceAccount: { create: false } } })).toThrow(
      /execution error at \(hanasr\/templates\/rbac\.yaml:\d+:\d+\): serviceAccount.name is required/,
    );
  });

  it('installs the CRD from crds/ (helm install, helm template --include-crds), identical to the committed file', () => {
    const committed = parse(
      readFileSync(join(chartDir, 'crds/hanasr.io_hanasystemreplications.yaml'), 'utf8'),
    );
    const withCrds = renderChart(chartDir, { args: ['--include-crds'] }).documents;
    const crds = withCrds.filter((d) => d.object.kind === 'CustomResourceDefinition');
    expect(crds.map((d) => d.source)).toEqual(['hanasr/crds/hanasr.io_hanasystemreplications.yaml']);
    expect(crds[0]!.object).toEqual(committed);
    const shown = helm(['show', 'crds', chartDir]);
    expect(shown.status, shown.stderr).toBe(0);
    expect(parse(shown.stdout.replace(/^---\n/, ''))).toEqual(committed);
    // Without --include-crds helm template leaves them out: helm install applies crds/ itself.
    expect(renderChart(chartDir).documents.some((d) => d.object.kind === 'CustomResourceDefinition')).toBe(
      false,
    );
  });

  it('names objects after a release that is not the chart name', () => {
    const docs = renderChart(chartDir, { release: { name: 'prod', namespace: 'ops' } }).documents.map(
      (d) => d.object,
    );
    expect(
      get(
        docs.find((d) => d.kind === 'Deployment'),
        'metadata.name',
      ),
    ).toBe('prod-hanasr');
    expect(
      get(
        docs.find((d) => d.kind === 'Service'),
        'metadata.name',
      ),
    ).toBe('prod-hanasr-metrics');
  });
});

describe('values.yaml and values.schema.json', () => {
  it('values.schema.json is a valid draft-07 schema (ajv, strict: no unknown keywords) that values.yaml passes', () => {
    const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
    const check = ajv.compile(schema);
    const values = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as unknown;
    expect(check(values), JSON.stringify(check.errors)).toBe(true);
    expect(check({ ...(values as Obj), replicas: 3 })).toBe(false);
  });

  it.each<[string, Obj, string]>([
    ['a misspelt key', { replicas: 3 }, "at '': additional properties 'replicas' not allowed"],
    ['a string for an integer', { replicaCount: '2' }, "at '/replicaCount': got string, want integer"],
    ['too many replicas', { replicaCount: 9 }, "at '/replicaCount': maximum: got 9, want 5"],
    [
      'a duration that is not one',
      { prometheusRule: { alerts: { lagFor: 'one minute' } } },
      "at '/prometheusRule/alerts/lagFor': 'one minute' does not match pattern",
    ],
    [
      'an unknown pull policy',
      { image: { pullPolicy: 'Sometimes' } },
      "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'",
    ],
    [
      'an etcd endpoint without a scheme',
      { etcd: { endpoints: ['etcd-0:2379'] } },
      "at '/etcd/endpoints/0': 'etcd-0:2379' does not match pattern",
    ],
    [
      'a port out of range',
      { metrics: { port: 70000 } },
      "at '/metrics/port': maximum: got 70,000, want 65,535",
    ],
    [
      'a watched namespace that is no DNS label',
      { operator: { watchNamespace: 'Hana_Prod' } },
      "at '/operator/watchNamespace': 'Hana_Prod' does not match pattern",
    ],
  ])('helm template and helm lint refuse %s', (_name, values, message) => {
    expect(() => renderChart(chartDir, { values })).toThrow(message);
    const lint = lintChart(chartDir, values);
    expect(lint.status).not.toBe(0);
    expect(lint.stdout + lint.stderr).toContain(message);
  });

  it('documents every key with a comment (itself or a documented parent)', () => {
    const lines = readFileSync(join(chartDir, 'values.yaml'), 'utf8').split('\n');
    const documented: { indent: number; yes: boolean }[] = [];
    lines.forEach((line, i) => {
      const m = /^(\s*)([A-Za-z][A-Za-z0-9]*):(.*)$/.exec(line);
      if (!m) return;
      const indent = m[1]!.length;
      while (documented.length > 0 && documented.at(-1)!.indent >= indent) documented.pop();
      const own = /^\s*#/.test(lines[i - 1] ?? '');
      const parentDocumented = documented.some((d) => d.yes);
      const isParent = m[3]!.trim() === '';
      documented.push({ indent, yes: own });
      expect(own || parentDocumented || isParent, `values.yaml line ${i + 1}: ${line}`).toBe(true);
    });
  });
});
