/**
 * What a landscape on this machine puts into the embedded Kubernetes API before the operator
 * starts, and how it finds the site behind the `<name>-rw` Service (what kube-proxy does):
 * shared by `hanasr demo` and the chaos suite (test/chaos).
 */
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  loadYaml,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { GROUP, PLURAL, VERSION } from '../api/resource.js';
import { rwServiceName } from '../operator/controller.js';

const CRD_FILE = new URL('../../charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml', import.meta.url);

/** A clean, stable name for the manifest's site pods. */
export function podName(name: string, site: string): string {
  return `${name}-${site.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`;
}

/**
 * The CRD from the chart, the namespace, one pod per site (labelled with the cluster and the
 * site, as the chart's StatefulSets label theirs) and the manifest, applied as with kubectl.
 */
export async function applyLandscapeObjects(
  kc: KubeConfig,
  options: {
    readonly manifest: Record<string, unknown> & { metadata?: object };
    readonly name: string;
    readonly namespace: string;
    readonly sites: readonly { readonly name: string }[];
    readonly fieldManager: string;
  },
): Promise<void> {
  const { name, namespace } = options;
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({
    body: loadYaml<V1CustomResourceDefinition>(JSON.stringify(parse(readFileSync(CRD_FILE, 'utf8')))),
  });
  if (namespace !== 'default') await core.createNamespace({ body: { metadata: { name: namespace } } });
  for (const site of options.sites) {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name: podName(name, site.name),
          labels: { 'hanasr.io/cluster': name, 'hanasr.io/site': site.name },
        },
        spec: { containers: [{ name: 'hana', image: 'hanasr/hana-simulator' }] },
      },
    });
  }
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body: { ...options.manifest, metadata: { ...options.manifest.metadata, name, namespace } },
    fieldManager: options.fieldManager,
  });
}

/**
 * The site whose pod the `<name>-rw` Service selects now (the first, as kube-proxy would pick
 * one endpoint), or null: no Service, no selected pod, or the API did not answer.
 */
export async function rwServiceSite(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<string | null> {
  try {
    const svc = await core.readNamespacedService({ namespace, name: rwServiceName(name) });
    const selector = svc.spec?.selector ?? {};
    const labelSelector = Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = labelSelector ? (await core.listNamespacedPod({ namespace, labelSelector })).items : [];
    return pods[0]?.metadata?.labels?.['hanasr.io/site'] ?? null;
  } catch {
    return null; // no Service yet (or the API failed): no endpoint
  }
}
