export * from './types.js';
export * from './observation.js';
export * from './decision.js';
export * from './decide.js';
export * from './sync.js';
export * from './health.js';
export * from './sync-trust.js';
export * from './clock-skew.js';
