/**
 * core/v1 Event and events.k8s.io/v1 Event are two views of one stored object, as in
 * kube-apiserver. Storage holds the core shape; these map field by field between the two.
 */

type Obj = Record<string, unknown>;

const PAIRS: ReadonlyArray<readonly [core: string, events: string]> = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['reportingComponent', 'reportingController'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
];

const SHARED = [
  'metadata',
  'reason',
  'type',
  'eventTime',
  'series',
  'action',
  'related',
  'reportingInstance',
];

function copy(from: Obj, to: Obj, keys: Iterable<readonly [string, string]>): void {
  for (const [a, b] of keys) if (from[a] !== undefined) to[b] = from[a];
}

/** events.k8s.io/v1 body -> stored core/v1 shape. */
export function eventsV1ToCore(obj: Obj): Obj {
  const out: Obj = { apiVersion: 'v1', kind: 'Event' };
  copy(
    obj,
    out,
    SHARED.map((k) => [k, k] as const),
  );
  copy(
    obj,
    out,
    PAIRS.map(([core, ev]) => [ev, core] as const),
  );
  return out;
}

/** stored core/v1 shape -> events.k8s.io/v1 view. */
export function coreToEventsV1(obj: Obj): Obj {
  const out: Obj = { apiVersion: 'events.k8s.io/v1', kind: 'Event' };
  copy(
    obj,
    out,
    SHARED.map((k) => [k, k] as const),
  );
  copy(obj, out, PAIRS);
  return out;
}
