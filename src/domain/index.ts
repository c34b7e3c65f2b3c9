export * from './types.js';
export * from './observation.js';
export * from './decision.js';
export * from './decide.js';
export * from './sync.js';
export * from './health.js';
export * from './local-state.js';
export * from './promotion.js';
