/** SQL probes over @sap/hana-client and the credential loaders they use. */
export * from './credentials.js';
export * from './probe.js';
