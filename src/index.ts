/**
 * The `hanasr` package entry: the spec schema, the pure decision core, and the building blocks
 * to run an agent or an operator in-process. The HANA parsers and probes are under `hanasr/hana`.
 */
export * from './api/spec.js';
export * from './api/resource.js';
export * from './domain/index.js';
export { Agent, type AgentOptions, type AgentEvent, type PeerProbe } from './agent/agent.js';
export { startOperator, type OperatorConfigInput, type OperatorHandle } from './operator/run.js';
export { parseScenario } from './sim/scenario.js';
export { runScenario, type SimulationResult } from './sim/runner.js';
