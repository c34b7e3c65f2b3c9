/** The invariants a run can be checked for (src/sim/invariants.ts), as scenario files name them. */
export const invariantNames = [
  'single-writer',
  'no-lost-commit',
  'in-sync-promotion',
  'no-blip-takeover',
  'nothing-in-maintenance',
] as const;
export type InvariantName = (typeof invariantNames)[number];
