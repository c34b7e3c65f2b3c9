/** The HanaSystemReplication resource in the embedded Kubernetes API, for the rigs of tests and benches. */
import { readFileSync } from 'node:fs';
import {
  ApiextensionsV1Api,
  loadYaml,
  type CustomObjectsApi,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parse } from 'yaml';

export const HSR_CRD_PATH = new URL(
  '../charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml',
  import.meta.url,
);

/**
 * client-node's typed models rename wire fields (`default` is `_default`,
 * `x-kubernetes-preserve-unknown-fields` is `xKubernetesPreserveUnknownFields`): a plain wire-form
 * CRD passed to createCustomResourceDefinition silently loses them. Deserialize it first
 * (loadYaml runs the model deserializer; JSON is YAML).
 */
export function crdModel(wire: unknown): V1CustomResourceDefinition {
  return loadYaml<V1CustomResourceDefinition>(JSON.stringify(wire));
}

/** Installs the chart's HanaSystemReplication CRD. */
export async function installHsrCrd(kc: KubeConfig): Promise<void> {
  await kc
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crdModel(parse(readFileSync(HSR_CRD_PATH, 'utf8'))) });
}

/** Creates a HanaSystemReplication `name` in `namespace` with `spec`. */
export async function createHsr(
  custom: CustomObjectsApi,
  namespace: string,
  name: string,
  spec: unknown,
): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: 'hanasr.io',
    version: 'v1alpha1',
    plural: 'hanasystemreplications',
    namespace,
    body: {
      apiVersion: 'hanasr.io/v1alpha1',
      kind: 'HanaSystemReplication',
      metadata: { name, namespace },
      spec,
    },
  });
}
