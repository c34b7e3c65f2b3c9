/**
 * Scenario files for `hanasr simulate`: a landscape, HA settings, a workload, a fault schedule
 * and what should hold at the end.
 */
import { z } from 'zod';
import type { Document, LineCounter } from 'yaml';
import { hanaSystemReplicationSpecSchema, SITE_NAME_PATTERN, zodIssues } from '../api/spec.js';
import { invariantNames } from './invariant-names.js';
import { escapeControl, quote } from '../quote.js';
import {
  documentToJs,
  errorLine,
  isEmptyDocument,
  parseYamlDocument,
  YamlInputError,
} from '../yaml-input.js';

export const faultActions = [
  'crash-instance',
  'restart-instance',
  'kill-indexserver',
  'crash-node',
  'restore-node',
  'block-replication',
  'unblock-replication',
  'isolate-site',
  'reconnect-site',
  'freeze-site',
  'thaw-site',
  'hang-instance',
  'unhang-instance',
  'fill-log-area',
  'free-log-area',
  'stop-agent',
  'start-agent',
  'coordination-outage',
  'coordination-restore',
  'planned-takeover',
  'slow-replication',
  'maintenance-on',
  'maintenance-off',
  'skew-clock',
  'break-sql-probe',
  'fix-sql-probe',
  'hang-probe-tools',
  'unhang-probe-tools',
  'manual-takeover',
  'manual-register',
  'fail-fencing',
  'restore-fencing',
  'remove-watchdog',
  'restore-watchdog',
  // Two regions (docs/dr.md, src/sim/regions.ts).
  'cut-region-link',
  'restore-region-link',
  'region-down',
  'region-up',
  'disaster-takeover',
  'region-switchover',
  'fail-backup',
  'restore-backup',
  'lose-backup-destination',
  'restore-backup-destination',
  'disable-log-backup',
  'enable-log-backup',
  'backup-now',
] as const;
export type FaultAction = (typeof faultActions)[number];

/** Actions that apply to the whole landscape and take no site. */
const globalActions = new Set<FaultAction>([
  'coordination-outage',
  'coordination-restore',
  'maintenance-on',
  'maintenance-off',
  'cut-region-link',
  'restore-region-link',
  'backup-now',
]);
/** Actions where the site is optional (all links when absent). */
const optionalSiteActions = new Set<FaultAction>(['block-replication', 'unblock-replication']);

/**
 * Role words a scenario may write instead of a site name: in a fault they are resolved when the
 * fault fires (src/sim/faults.ts, `resolveFault`), in `expect.primary` at the scenario's start.
 */
export const siteRoles = ['primary', 'secondary'] as const;
export type SiteRole = (typeof siteRoles)[number];
export function isSiteRole(name: string | null | undefined): name is SiteRole {
  return name === 'primary' || name === 'secondary';
}

export const faultSchema = z
  .object({
    atSeconds: z.number().min(0),
    action: z.enum(faultActions),
    /** A site name, or a role word (`primary`, `secondary`) resolved when the fault fires. */
    site: z.string().regex(SITE_NAME_PATTERN).optional(),
    /** slow-replication: how many times slower the link into `site` becomes (1 = normal). */
    factor: z.number().min(1).max(1_000_000).optional(),
    /** skew-clock: how far the site's host clock jumps, in seconds (either sign). */
    seconds: z.number().min(-86400).max(86400).optional(),
    /** manual-register: the primary to register `site` with (default: the current primary). */
    source: z.string().regex(SITE_NAME_PATTERN).optional(),
    /** fail-fencing: the site's fence device never answers (calls time out) instead of failing. */
    hang: z.boolean().optional(),
  })
  .strict();

export const replicationStatusValues = [
  'ACTIVE',
  'SYNCING',
  'INITIALIZING',
  'ERROR',
  'UNKNOWN',
  'NONE',
] as const;

export const expectSchema = z
  .object({
    /** A site name, null (no primary), or a role word: the site that had that role at the start. */
    primary: z.string().regex(SITE_NAME_PATTERN).nullable().optional(),
    takeovers: z.number().int().min(0).optional(),
    lostCommittedWrites: z.number().int().min(0).optional(),
    maxConcurrentPrimaries: z.number().int().min(0).optional(),
    replicationStatus: z.enum(replicationStatusValues).optional(),
    maxWriteUnavailableSeconds: z.number().min(0).optional(),
    /** Invariants checked during the whole run (src/sim/invariants.ts); none may be violated. */
    invariants: z.array(z.enum(invariantNames)).optional(),
    /** Backup runs as the store recorded them at the end (needs cluster.backup). */
    backups: z
      .object({
        succeeded: z.number().int().min(0).optional(),
        failed: z.number().int().min(0).optional(),
        interrupted: z.number().int().min(0).optional(),
        /** Most successful attempts of one run id (a slot run twice would be 2). */
        maxSucceededPerRun: z.number().int().min(0).optional(),
        /** BACKUP DATA statements sent to a site that was not primary (refused by HANA). */
        onSecondary: z.number().int().min(0).optional(),
        /** The BackupHealthy reason at the end (BackupsOk, BackupNotReadable, LogBackupDisabled...). */
        health: z
          .string()
          .regex(/^[A-Za-z]{1,64}$/)
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Most writes one scenario may make (durationSeconds x workload.writesPerSecond). The simulator
 * keeps every write until the end to count lost commits exactly: about 200 bytes each with two
 * sites, so the bound keeps a run under about half a gigabyte. The schema's separate maxima (7
 * days, 10,000 writes a second) would allow six billion.
 */
export const MAX_SIMULATED_WRITES = 2_000_000;

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    seed: z.number().int().default(1),
    durationSeconds: z
      .number()
      .positive()
      .max(7 * 86400),
    initialPrimary: z.string().regex(SITE_NAME_PATTERN),
    cluster: hanaSystemReplicationSpecSchema,
    workload: z
      .object({ writesPerSecond: z.number().min(0).max(10_000).default(20) })
      .strict()
      .prefault({}),
    faults: z.array(faultSchema).default([]),
    /**
     * The agents watch the leader key, as `hanasr agent` does on etcd: a release or expiry wakes
     * them at once, and a cycle whose local probe is in flight is superseded. Default false: the
     * agents run on their probe interval alone (a store without watches, or the watch down).
     */
    watches: z.boolean().optional(),
    /**
     * Virtual seconds every agent's local HANA probe takes before it answers (default 0: at once,
     * unless the site or its tools hang). Real probes take a while (hdbnsutil, SQL): a leader-key
     * change while one is in flight supersedes that cycle (with `watches`).
     */
    probeSeconds: z.number().min(0).max(600).optional(),
    /** The simulated hosts' watchdogs and fence devices (src/standins/hana-sim/devices.ts). */
    nodes: z
      .object({
        /** Every node's watchdog timeout; default lease.ttlSeconds - fencing.watchdog.safetyMarginSeconds. */
        watchdogTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
        /** Time a node takes to boot after a watchdog reset or a fence "on" (default 60). */
        bootSeconds: z.number().min(0).max(3600).optional(),
        /** Per site: its own watchdog timeout, or `watchdog: false` (no device from the start). */
        sites: z
          .record(
            z.string().regex(SITE_NAME_PATTERN),
            z
              .object({
                watchdogTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
                watchdog: z.boolean().optional(),
              })
              .strict(),
          )
          .optional(),
      })
      .strict()
      .optional(),
    /** Simulated backups (needs cluster.backup): where the files land and how fast backups run. */
    backups: z
      .object({
        /** site: each site's own storage (gone with the site); shared: one every site reads. */
        destination: z.enum(['site', 'shared']).default('site'),
        throughputMBps: z.number().min(1).max(100_000).default(100),
        /** Data size of SYSTEMDB and the tenant (GB); default 1 and 10. */
        systemDbGB: z.number().min(0.001).max(100_000).default(1),
        tenantGB: z.number().min(0.001).max(100_000).default(10),
        /** HANA's log_backup_timeout_s. */
        logBackupIntervalSeconds: z.number().int().min(10).max(86400).default(900),
      })
      .strict()
      .optional(),
    expect: expectSchema.prefault({}),
  })
  .strict()
  .superRefine((s, ctx) => {
    if ((s.backups !== undefined || s.expect.backups !== undefined) && s.cluster.backup === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [s.backups !== undefined ? 'backups' : 'expect'],
        message: 'simulated backups need cluster.backup (the schedule and destination the agents follow)',
      });
    }
    const sites = new Set(s.cluster.sites.map((x) => x.name));
    const writes = s.durationSeconds * s.workload.writesPerSecond;
    if (writes > MAX_SIMULATED_WRITES) {
      ctx.addIssue({
        code: 'custom',
        path: ['workload', 'writesPerSecond'],
        message: `durationSeconds x writesPerSecond is ${Math.round(writes)} writes, more than the ${MAX_SIMULATED_WRITES} the simulator keeps in memory (about 200 bytes each): shorten the scenario or lower the rate`,
      });
    }
    s.cluster.sites.forEach((site, i) => {
      if (isSiteRole(site.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['cluster', 'sites', i, 'name'],
          message: `"${site.name}" is a role word in scenarios (faults and expect may name a role); rename the site`,
        });
      }
    });
    if (s.probeSeconds !== undefined && s.probeSeconds >= s.cluster.probes.timeoutSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['probeSeconds'],
        message: 'must be shorter than cluster.probes.timeoutSeconds (every probe would time out)',
      });
    }
    if (!sites.has(s.initialPrimary)) {
      ctx.addIssue({
        code: 'custom',
        path: ['initialPrimary'],
        message: `unknown site ${quote(s.initialPrimary)}`,
      });
    }
    s.faults.forEach((f, i) => {
      if (f.atSeconds > s.durationSeconds) {
        ctx.addIssue({
          code: 'custom',
          path: ['faults', i, 'atSeconds'],
          message: 'is after durationSeconds',
        });
      }
      if (globalActions.has(f.action)) {
        if (f.site !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['faults', i, 'site'], message: `${f.action} takes no site` });
        }
      } else if (f.site === undefined) {
        if (!optionalSiteActions.has(f.action)) {
          ctx.addIssue({ code: 'custom', path: ['faults', i, 'site'], message: `${f.action} needs a site` });
        }
      } else if (!sites.has(f.site) && !isSiteRole(f.site)) {
        ctx.addIssue({
          code: 'custom',
          path: ['faults', i, 'site'],
          message: `unknown site ${quote(f.site)} (a site name, primary or secondary)`,
        });
      }
      if (f.hang !== undefined && f.action !== 'fail-fencing') {
        ctx.addIssue({
          code: 'custom',
          path: ['faults', i, 'hang'],
          message: 'only fail-fencing takes hang',
        });
      }
      if (f.action === 'skew-clock' && f.seconds === undefined) {
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'seconds'], message: 'skew-clock needs seconds' });
      }
      if (f.source !== undefined) {
        if (f.action !== 'manual-register') {
          ctx.addIssue({
            code: 'custom',
            path: ['faults', i, 'source'],
            message: `${f.action} takes no source`,
          });
        } else if (!sites.has(f.source) || f.source === f.site) {
          ctx.addIssue({
            code: 'custom',
            path: ['faults', i, 'source'],
            message: f.source === f.site ? 'must be another site' : `unknown site "${f.source}"`,
          });
        }
      }
      if (f.action === 'slow-replication' && f.factor === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['faults', i, 'factor'],
          message: 'slow-replication needs a factor',
        });
      }
    });
    for (const site of Object.keys(s.nodes?.sites ?? {})) {
      if (!sites.has(site)) {
        ctx.addIssue({ code: 'custom', path: ['nodes', 'sites', site], message: `unknown site "${site}"` });
      }
    }
    const expected = s.expect.primary;
    if (expected !== undefined && expected !== null && !sites.has(expected) && !isSiteRole(expected)) {
      ctx.addIssue({
        code: 'custom',
        path: ['expect', 'primary'],
        message: `unknown site ${quote(expected)} (a site name, null, primary or secondary)`,
      });
    }
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type Fault = z.output<typeof faultSchema>;

export class ScenarioError extends Error {
  readonly code = 'INVALID_SCENARIO' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

/** For a dotted field path (`faults[2].site`), the line of the nearest node of the document. */
function lineOfPath(doc: Document, lineCounter: LineCounter): (path: string) => number | undefined {
  return (path) => {
    if (!path) return undefined;
    const keys: (string | number)[] = [];
    for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g))
      keys.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
    for (let n = keys.length; n > 0; n--) {
      const node = doc.getIn(keys.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && Array.isArray(node.range))
        return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

/**
 * A YAML document with a way back from a dotted field path to its line. Throws YamlInputError on a
 * text too large or nested too deep (yaml-input.ts).
 */
export function parseYamlWithLines(text: string): {
  doc: Document;
  lineOf: (path: string) => number | undefined;
} {
  const { doc, lines } = parseYamlDocument(text);
  return { doc, lineOf: lineOfPath(doc, lines) };
}

/**
 * Parses scenario YAML; errors name the source, the field and, where known, the line (YAML syntax
 * errors too), with the input's control characters escaped.
 */
export function parseScenario(text: string, source = 'scenario'): Scenario {
  const at = (line: number | undefined) => `${escapeControl(source)}${line ? `:${line}` : ''}`;
  let parsed: ReturnType<typeof parseYamlDocument>;
  try {
    parsed = parseYamlDocument(text);
  } catch (err) {
    if (err instanceof YamlInputError) throw new ScenarioError(`${at(err.line)}: ${err.message}`);
    throw err;
  }
  const { doc, lines } = parsed;
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new ScenarioError(
      `${at(errorLine(e, lines))}: invalid YAML: ${escapeControl(e.message.split('\n')[0] ?? '')}`,
    );
  }
  let value: unknown;
  try {
    value = documentToJs(doc);
  } catch (err) {
    if (err instanceof YamlInputError) throw new ScenarioError(`${at(undefined)}: ${err.message}`);
    throw err;
  }
  if (isEmptyDocument(value))
    throw new ScenarioError(
      `${at(undefined)}: no scenario: the file holds no YAML document (it is empty, or only comments, --- or null)`,
    );
  const result = scenarioSchema.safeParse(value);
  if (!result.success) {
    const lineOf = lineOfPath(doc, lines);
    const issues = zodIssues(result.error).map(
      (i) => `${at(lineOf(i.path))}: ${i.path || '(root)'}: ${i.message}`,
    );
    throw new ScenarioError(issues.join('\n'));
  }
  return result.data;
}
