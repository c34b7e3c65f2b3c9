/** Shared fixtures for the fake API server tests: a small hand-written CRD and helpers. */
import { ApiException } from '@kubernetes/client-node';

export const GROUP = 'example.hanasr.io';
export const VERSION = 'v1';
export const PLURAL = 'widgets';

export const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${PLURAL}.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: PLURAL, singular: 'widget', kind: 'Widget', shortNames: ['wdg'] },
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size'],
                properties: {
                  size: { type: 'integer', minimum: 1, maximum: 10 },
                  color: { type: 'string', enum: ['red', 'green'], default: 'red' },
                  parts: {
                    type: 'array',
                    maxItems: 3,
                    items: {
                      type: 'object',
                      required: ['name'],
                      properties: { name: { type: 'string', pattern: '^[a-z]+$', maxLength: 8 } },
                    },
                  },
                  extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  note: { type: 'string', nullable: true },
                },
              },
              status: {
                type: 'object',
                properties: { phase: { type: 'string' }, observedGeneration: { type: 'integer' } },
              },
            },
          },
        },
      },
    ],
  },
};

export function widget(
  name: string,
  spec: Record<string, unknown> = { size: 1 },
  extra: Record<string, unknown> = {},
) {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'Widget', metadata: { name, ...extra }, spec };
}

/** The HTTP code and Status body of a failed client-node call. */
export async function failure(
  promise: Promise<unknown>,
): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) {
      const raw: unknown = err.body;
      const body =
        typeof raw === 'string'
          ? (JSON.parse(raw) as Record<string, unknown>)
          : (raw as Record<string, unknown>);
      return { code: err.code, body };
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

/** Polls `check` until it returns true or `ms` pass (a deadline, not a timing assertion). */
export async function eventually(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A wire-form CRD as client-node's model (rigs/kube.ts says why). */
export { crdModel } from '../../../rigs/kube.js';
