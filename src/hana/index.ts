/**
 * The public `hanasr/hana` entry: output parsers, command runners and the command-based HANA
 * adapter, and the SQL probes.
 */
export * from './parsers/index.js';
export {
  SpawnCommandRunner,
  CommandOutputLimitError,
  spawnArgv,
  USER_NAME_PATTERN,
  type CommandRunner,
  type CommandResult,
  type RunOptions,
  type SpawnCommandRunnerOptions,
} from './commands/runner.js';
export {
  HanaCommandAdapter,
  defaultPaths,
  INSTANCE_NUMBER_PATTERN,
  type HanaCommandAdapterConfig,
  type HanaCommandPaths,
} from './commands/adapter.js';
export {
  healthFromSignals,
  type LagSource,
  type LagSample,
  type ProbeSignals,
  type Signal,
} from './commands/health.js';
export * from './sql/index.js';
