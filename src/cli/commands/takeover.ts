/** `hanasr takeover NAME --to SITE`: a planned takeover through the operator, checked first. */
import { createInterface } from 'node:readline';
import {
  ANNOTATION_DISASTER_CONFIRM,
  ANNOTATION_DISASTER_TAKEOVER,
  ANNOTATION_FORCE_TAKEOVER,
  ANNOTATION_PLANNED_TAKEOVER,
  ANNOTATION_REGION_SWITCHOVER,
  ANNOTATION_REGION_SWITCHOVER_EPOCH,
  ANNOTATION_REGION_SWITCHOVER_GENERATION,
  findCondition,
  KIND,
} from '../../api/resource.js';
import {
  boolFlag,
  CliError,
  EXIT,
  EXIT_CODES_HELP,
  expectPositionals,
  parseArgs,
  parseDuration,
  runCommand,
  stringFlag,
  UsageError,
} from '../args.js';
import { bytes, seconds } from '../format.js';
import {
  connect,
  getCluster,
  KUBE_FLAGS,
  KUBE_FLAGS_HELP,
  patchCluster,
  record,
  specSites,
  str,
  type Kube,
  type Obj,
} from '../kube.js';
import { statusOf } from './status.js';
import { optionsHelp, type OptionTable } from '../../config/options.js';

const OPTIONS: OptionTable = {
  to: { value: 'SITE', help: 'the site to promote (required)' },
  disaster: { type: 'boolean', help: 'promote a DR site although its primary region is lost' },
  confirm: { value: 'NAME', help: "with --disaster: the typed confirmation (the resource's name)" },
  force: { type: 'boolean', help: 'allow a target that is not in sync (committed data may be lost)' },
  'yes-i-know-data-may-be-lost': { type: 'boolean', help: 'with --force: skip the typed confirmation' },
  wait: {
    type: 'boolean',
    help: 'follow status until the takeover ends (default; --no-wait returns once the request is set)',
  },
  timeout: { value: 'DUR', help: 'how long --wait follows, e.g. 300s, 10m (default 300s)' },
};

export const help = `Usage: hanasr takeover NAME --to SITE [--force] [--no-wait] [--timeout 300s] [options]
       hanasr takeover NAME --to SITE --disaster [--confirm NAME] [options]

Asks the operator for a planned takeover (with handshake) to SITE by setting the annotation
${ANNOTATION_PLANNED_TAKEOVER}=SITE, then follows status until SITE is primary.

Refused (exit 3, nothing changed) when SITE is not a site of NAME, is already primary, there is
no current primary, maintenance is on, or SITE is not in sync according to status. --force
overrides the in-sync check only, after a typed confirmation: type the site name on stdin, or
pass --yes-i-know-data-may-be-lost in scripts; it then also sets ${ANNOTATION_FORCE_TAKEOVER}=true
(in the same patch), which tells the operator to skip its in-sync check too. The operator applies
its other safety checks and may still refuse (reported as IntentRefused, exit 3).

SITE in the other region than the primary (two regions, docs/dr.md; run against the active
region's resource): a planned region switchover, lossless or nothing. It sets
${ANNOTATION_REGION_SWITCHOVER}=SITE with ${ANNOTATION_REGION_SWITCHOVER_GENERATION} and
${ANNOTATION_REGION_SWITCHOVER_EPOCH} (the region generation and epoch status shows); the
active region's operator withdraws the -rw Service, the old primary's agent waits until its log
stands still and is shipped to SITE, stops and records its last log position, then the operator
hands over to SITE in its region's store; not drained by --region-switchover-timeout-seconds,
the old region is active again and SITE is not promoted. Refused (exit 3) without status.region,
with --force, or by the operator (stale generation or epoch, DR link not ACTIVE, the other
region's store unknown or unreachable: IntentRefused); with --wait it prints the Events and
what the draining switchover waits for (status.region.switchover.waitingFor) as it changes, and
exits 0 on the handover, 3 on a refusal or the abort, 1 when it is stuck.

--disaster (two regions, docs/dr.md; run against the DR region's resource): promotes SITE, a
site of the DR region, when the active region cannot be reached. It first prints the expected
data loss from status.region (the DR link's lag in seconds and bytes at the last report the DR
region saw, that report's age with the clock-skew bound), then needs the typed confirmation:
--confirm NAME, or the name typed on stdin. It sets ${ANNOTATION_DISASTER_TAKEOVER}=SITE and
${ANNOTATION_DISASTER_CONFIRM}=NAME in one patch; the operator refuses it while the active region
answers (use a planned switchover) and records the loss in an Event and the history.

Options:
${optionsHelp(OPTIONS)}

${KUBE_FLAGS_HELP}

${EXIT_CODES_HELP}
  (with --wait: 1 when the operator reports TakeoverFailed, 3 on IntentRefused, 5 on timeout)
`;

/** Every option of the command (parser, --help and docs/cli.md). */
export const options: OptionTable = { ...KUBE_FLAGS, ...OPTIONS };

const POLL_MS = 500;

/** Why a takeover of `obj` to `site` is unsafe, or null; `syncReason` is the in-sync part. */
export function refusal(
  obj: Obj,
  site: string,
): { reason: string; overridable: boolean; switchover?: true } | null {
  const sites = specSites(obj);
  if (!sites.includes(site)) {
    return { reason: `unknown site "${site}" (sites: ${sites.join(', ')})`, overridable: false };
  }
  const status = statusOf(obj);
  if (status.currentPrimary === site) return { reason: `${site} is already primary`, overridable: false };
  if (record(obj['spec'])['maintenance'] === true) {
    return {
      reason:
        'maintenance is on (spec.maintenance): hanasr takes no action; run `hanasr maintenance NAME off` first',
      overridable: false,
    };
  }
  if (status.currentPrimary === undefined) {
    return { reason: 'status names no current primary: nothing to hand over', overridable: false };
  }
  // Two regions (docs/dr.md): a planned takeover moves the primary inside a region; the other
  // region's agents use another store and would never carry it out.
  const regionOfSite = (name: string): string | undefined => {
    const sitesSpec = record(obj['spec'])['sites'];
    const found = (Array.isArray(sitesSpec) ? (sitesSpec as unknown[]) : [])
      .map((x) => record(x))
      .find((x) => x['name'] === name);
    const r = found?.['region'];
    return typeof r === 'string' ? r : undefined;
  };
  const targetRegion = regionOfSite(site);
  const primaryRegion = regionOfSite(status.currentPrimary);
  if (targetRegion !== undefined && primaryRegion !== undefined && targetRegion !== primaryRegion) {
    // Not a planned takeover: a planned region switchover (docs/dr.md), lossless or nothing.
    return {
      reason:
        `${site} is in region ${targetRegion} and the primary ${status.currentPrimary} in ${primaryRegion}: ` +
        'a planned region switchover (lossless or nothing: --force does not apply; for a lost region use --disaster)',
      overridable: false,
      switchover: true,
    };
  }
  const s = status.sites?.find((x) => x.name === site);
  if (s?.inSync !== true) {
    const details = [
      // The rule's own words, as the operator computed them (src/domain/sync-trust.ts).
      s?.notInSyncReason,
      s?.replicationStatus !== undefined ? `replication ${s.replicationStatus}` : undefined,
      s?.lagSeconds !== undefined ? `lag ${seconds(s.lagSeconds)}` : undefined,
      s?.lagBytes !== undefined ? `${bytes(s.lagBytes)} unshipped` : undefined,
    ].filter((d) => d !== undefined);
    return {
      reason:
        `${site} is not in sync with ${status.currentPrimary}` +
        (s === undefined
          ? ' (no status reported for it)'
          : details.length > 0
            ? ` (${details.join(', ')})`
            : '') +
        ': a takeover could lose committed data',
      overridable: true,
    };
  }
  return null;
}

/** The first line on stdin ('' at end of input). */
function readLine(): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, terminal: false });
    let done = false;
    const finish = (line: string) => {
      if (done) return;
      done = true;
      rl.close();
      process.stdin.pause();
      resolve(line);
    };
    rl.once('line', (line) => finish(line));
    rl.once('close', () => finish(''));
  });
}

async function confirm(site: string, reason: string): Promise<void> {
  process.stderr.write(`WARNING: ${reason}.\nType the site name (${site}) to take over anyway: `);
  const answer = (await readLine()).trim();
  if (answer !== site) {
    throw new CliError(
      EXIT.refused,
      `confirmation "${answer}" does not match "${site}": refused, nothing changed`,
    );
  }
}

interface EventView {
  readonly key: string;
  readonly type: string;
  readonly reason: string;
  readonly message: string;
}

async function events(kube: Kube, name: string): Promise<EventView[] | null> {
  try {
    // Filtered here rather than with fieldSelector=involvedObject.name, which not every
    // Kubernetes-compatible API server supports.
    const list = await kube.client.listEvents(kube.namespace);
    return list
      .filter((e) => record(e['involvedObject'])['name'] === name)
      .map((e) => {
        const meta = record(e['metadata']);
        return {
          key: str(meta['uid']) ?? str(meta['name']) ?? JSON.stringify(e),
          type: str(e['type']) ?? '',
          reason: str(e['reason']) ?? '',
          message: str(e['message']) ?? '',
        };
      });
  } catch {
    // Events are a bonus (a DBA's role may not list them): status alone still tells the outcome.
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Follows status and Events until `site` is primary, the operator reports failure, or the deadline. */
async function follow(
  kube: Kube,
  name: string,
  site: string,
  seen: Set<string>,
  startedAt: number,
  timeoutMs: number,
): Promise<number> {
  const out = (line: string) => process.stdout.write(line + '\n');
  const deadline = Date.now() + timeoutMs;
  let lastTarget: string | undefined;
  let lastProgress = '';
  for (;;) {
    const obj = await getCluster(kube, name);
    const status = statusOf(obj);
    for (const e of (await events(kube, name)) ?? []) {
      if (seen.has(e.key)) continue;
      seen.add(e.key);
      out(`  ${e.type} ${e.reason}: ${e.message}`);
      if (e.reason === 'IntentRefused' && e.message.includes(ANNOTATION_PLANNED_TAKEOVER)) {
        throw new CliError(EXIT.refused, `the operator refused the takeover: ${e.message}`);
      }
      if (e.reason === 'TakeoverFailed') {
        throw new CliError(EXIT.failed, `takeover to ${site} failed: ${e.message}`);
      }
    }
    for (const c of status.conditions ?? []) {
      if (c.reason !== 'TakeoverFailed' && c.reason !== 'IntentRefused') continue;
      if (Date.parse(c.lastTransitionTime) < startedAt - 1000) continue;
      throw new CliError(
        c.reason === 'TakeoverFailed' ? EXIT.failed : EXIT.refused,
        `${c.type} ${c.reason}: ${c.message}`,
      );
    }
    if (status.targetPrimary !== undefined && status.targetPrimary !== lastTarget) {
      lastTarget = status.targetPrimary;
      out(`  target primary: ${status.targetPrimary}`);
    }
    const inProgress = findCondition(status, 'TakeoverInProgress');
    const progress = inProgress ? `${inProgress.status} (${inProgress.reason}): ${inProgress.message}` : '';
    if (progress !== '' && progress !== lastProgress) {
      lastProgress = progress;
      out(`  TakeoverInProgress ${progress}`);
    }
    if (status.currentPrimary === site) {
      out(`${site} is primary${status.epoch !== undefined ? ` (epoch ${status.epoch})` : ''}.`);
      return EXIT.ok;
    }
    if (Date.now() >= deadline) {
      throw new CliError(
        EXIT.unavailable,
        `timed out after ${timeoutMs / 1000}s waiting for ${site} to become primary ` +
          `(current primary ${status.currentPrimary ?? '(none)'}); the request stays with the operator: ` +
          `see \`hanasr status ${name}\``,
      );
    }
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('takeover', argv, async () => {
    const args = parseArgs(argv, options);
    const [name] = expectPositionals(args, ['NAME']) as [string];
    const site = stringFlag(args, 'to');
    if (site === undefined) throw new UsageError('missing --to SITE');
    const force = boolFlag(args, 'force');
    const iKnow = boolFlag(args, 'yes-i-know-data-may-be-lost');
    if (iKnow && !force) throw new UsageError('--yes-i-know-data-may-be-lost only makes sense with --force');
    const wait = boolFlag(args, 'wait', true);
    const timeoutText = stringFlag(args, 'timeout');
    const timeoutMs = timeoutText === undefined ? 300_000 : parseDuration(timeoutText, '--timeout');
    const disaster = boolFlag(args, 'disaster');
    const confirmed = stringFlag(args, 'confirm');
    if (confirmed !== undefined && !disaster)
      throw new UsageError('--confirm only makes sense with --disaster');
    if (disaster && force) throw new UsageError('--disaster and --force do not go together');
    const kube = connect(args);

    const obj = await getCluster(kube, name);
    if (disaster) return disasterTakeover(kube, obj, name, site, confirmed);
    const refused = refusal(obj, site);
    if (refused?.switchover === true) {
      if (force) throw new CliError(EXIT.refused, `refused: ${refused.reason}`);
      return regionSwitchover(kube, obj, name, site, wait, timeoutMs);
    }
    let forced = false;
    if (refused !== null) {
      if (!refused.overridable) throw new CliError(EXIT.refused, `refused: ${refused.reason}`);
      if (!force) {
        throw new CliError(
          EXIT.refused,
          `refused: ${refused.reason} (--force overrides, after a typed confirmation)`,
        );
      }
      if (!iKnow) await confirm(site, refused.reason);
      process.stderr.write(`hanasr: takeover: forced: ${refused.reason}\n`);
      forced = true;
    }

    const seen = new Set(((await events(kube, name)) ?? []).map((e) => e.key));
    const startedAt = Date.now();
    // One merge patch: the operator never sees the request without its force.
    await patchCluster(kube, name, {
      metadata: {
        annotations: {
          [ANNOTATION_PLANNED_TAKEOVER]: site,
          ...(forced ? { [ANNOTATION_FORCE_TAKEOVER]: 'true' } : {}),
        },
      },
    });
    process.stdout.write(
      `${ANNOTATION_PLANNED_TAKEOVER}=${site}${forced ? ` and ${ANNOTATION_FORCE_TAKEOVER}=true` : ''} set on ${KIND} ${kube.namespace}/${name}: the operator runs the takeover\n`,
    );
    if (!wait) return EXIT.ok;
    return follow(kube, name, site, seen, startedAt, timeoutMs);
  });
}

/**
 * A planned region switchover to `site` (docs/dr.md): the annotation with the region generation
 * and the epoch status shows (the operator refuses when its stores moved on), then, with --wait,
 * the operator's Events until the handover (exit 0), a refusal or the abort (exit 3), or a stuck
 * switchover (exit 1).
 */
async function regionSwitchover(
  kube: Kube,
  obj: Obj,
  name: string,
  site: string,
  wait: boolean,
  timeoutMs: number,
): Promise<number> {
  const status = statusOf(obj);
  const region = record(record(obj['status'])['region']);
  const generation = region['generation'];
  if (typeof generation !== 'number')
    throw new CliError(
      EXIT.refused,
      "refused: status.region is empty: this resource's operator has not read a region record, so the generation to supersede (and the target region's store) is unknown; nothing changed",
    );
  if (status.epoch === undefined)
    throw new CliError(
      EXIT.refused,
      'refused: status shows no epoch: read the status again later; nothing changed',
    );
  const seen = new Set(((await events(kube, name)) ?? []).map((e) => e.key));
  await patchCluster(kube, name, {
    metadata: {
      annotations: {
        [ANNOTATION_REGION_SWITCHOVER]: site,
        [ANNOTATION_REGION_SWITCHOVER_GENERATION]: String(generation),
        [ANNOTATION_REGION_SWITCHOVER_EPOCH]: String(status.epoch),
      },
    },
  });
  const out = (line: string) => process.stdout.write(line + '\n');
  out(
    `${ANNOTATION_REGION_SWITCHOVER}=${site} set on ${KIND} ${kube.namespace}/${name} (region generation ${generation}, epoch ${status.epoch}): the operator drains the primary, then hands over to ${site} or aborts`,
  );
  if (!wait) return EXIT.ok;
  const deadline = Date.now() + timeoutMs;
  let lastWaiting = '';
  for (;;) {
    // What the draining switchover waits for (status.region.switchover), each time it changes.
    const now = await getCluster(kube, name).catch(() => null);
    const waiting = now === null ? undefined : statusOf(now).region?.switchover?.waitingFor;
    if (waiting !== undefined && waiting !== lastWaiting) out(`  draining: ${waiting}`);
    if (waiting !== undefined) lastWaiting = waiting;
    for (const e of (await events(kube, name)) ?? []) {
      if (seen.has(e.key)) continue;
      seen.add(e.key);
      out(`  ${e.type} ${e.reason}: ${e.message}`);
      if (e.reason === 'IntentRefused' && e.message.includes(ANNOTATION_REGION_SWITCHOVER))
        throw new CliError(EXIT.refused, `the operator refused the switchover: ${e.message}`);
      if (e.reason === 'RegionSwitchoverAborted')
        throw new CliError(EXIT.refused, `the switchover was aborted: ${e.message}`);
      if (e.reason === 'RegionSwitchoverStuck')
        throw new CliError(EXIT.failed, `the switchover is stuck: ${e.message}`);
      if (e.reason === 'RegionSwitchoverHandover') {
        out(`${site} takes over in its region (see that region's resource for its status).`);
        return EXIT.ok;
      }
    }
    if (Date.now() >= deadline)
      throw new CliError(
        EXIT.unavailable,
        `timed out after ${timeoutMs / 1000}s waiting for the switchover to ${site}; it stays with the operator: see \`hanasr status ${name}\` and its Events`,
      );
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
}

/** What status.region says a disaster takeover to `site` would lose, or why it cannot be asked. */
export function disasterPreview(obj: Obj, site: string): { loss: string } | { refused: string } {
  const sites = specSites(obj);
  if (!sites.includes(site)) return { refused: `unknown site "${site}" (sites: ${sites.join(', ')})` };
  const region = record(record(obj['status'])['region']);
  if (Object.keys(region).length === 0) {
    return {
      refused:
        'status.region is empty: this resource has one region, or its operator has not read the region record yet',
    };
  }
  const active = str(region['active']);
  const siteRegion = str(
    (Array.isArray(record(obj['spec'])['sites']) ? (record(obj['spec'])['sites'] as unknown[]) : [])
      .map((x) => record(x))
      .find((x) => x['name'] === site)?.['region'],
  );
  if (siteRegion !== undefined && siteRegion === active) {
    return { refused: `${site} is in the active region ${active}: use a takeover without --disaster` };
  }
  const losses = Array.isArray(region['expectedLoss']) ? (region['expectedLoss'] as unknown[]) : [];
  const mine = losses.map((x) => record(x)).find((x) => x['site'] === site);
  return {
    loss: str(mine?.['message']) ?? `no report of ${site}'s replication in status: the data loss is unknown`,
  };
}

async function disasterTakeover(
  kube: Kube,
  obj: Obj,
  name: string,
  site: string,
  confirmed: string | undefined,
): Promise<number> {
  const preview = disasterPreview(obj, site);
  if ('refused' in preview) throw new CliError(EXIT.refused, `refused: ${preview.refused}`);
  process.stderr.write(`WARNING: disaster takeover to ${site}: expected data loss: ${preview.loss}.\n`);
  let answer = confirmed;
  if (answer === undefined) {
    process.stderr.write(`Type the resource name (${name}) to promote ${site}: `);
    answer = (await readLine()).trim();
  }
  if (answer !== name) {
    throw new CliError(
      EXIT.refused,
      `confirmation "${answer}" does not match "${name}": refused, nothing changed`,
    );
  }
  await patchCluster(kube, name, {
    metadata: { annotations: { [ANNOTATION_DISASTER_TAKEOVER]: site, [ANNOTATION_DISASTER_CONFIRM]: name } },
  });
  process.stdout.write(
    `${ANNOTATION_DISASTER_TAKEOVER}=${site} set on ${KIND} ${kube.namespace}/${name}: the operator checks that the active region is unreachable, records the loss and promotes ${site} (see \`hanasr status ${name}\` and its Events)\n`,
  );
  return EXIT.ok;
}
