export { HanaParseError } from './errors.js';
export {
  parseSrState,
  sourceSiteOf,
  type SrState,
  type SrStateSite,
  type SrMode,
  type SrOperationMode,
} from './sr-state.js';
export {
  parseSystemReplicationStatus,
  linksFromRows,
  srStatusExitCodes,
  type SystemReplicationStatus,
  type SrServiceRow,
  type SrLinkStatus,
  type SrLocalState,
} from './sr-status.js';
export {
  parseLandscapeHostConfiguration,
  type LandscapeHostConfiguration,
  type LandscapeHost,
} from './landscape.js';
export {
  parseProcessList,
  parseSystemInstanceList,
  type ProcessList,
  type SapProcess,
  type SapInstance,
} from './sapcontrol.js';
