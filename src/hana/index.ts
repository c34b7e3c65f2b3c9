/**
 * The public `hanasr/hana` entry: output parsers, command runners and the command-based HANA
 * adapter. (The SQL probes append their exports below.)
 */
export * from './parsers/index.js';
