#!/usr/bin/env node
/**
 * Measures the example app (app.mjs) through a takeover in the running demo (`npm start`):
 * starts the app against the demo's SQL endpoint, lets it write, takes over (unplanned: the
 * primary instance crashes; planned: `hanasr takeover` to the secondary), lets it write on the
 * new primary, stops it, then checks on the final primary that no order the app was told is
 * committed is missing. Prints what the app saw: errors, uncertain commits, time to its first
 * successful write.
 *
 * Usage: node examples/app/measure.mjs [--fault unplanned|planned] [--via rw|hosts]
 *                                      [--state-dir DIR] [--rate N] [--json]
 *   --via rw     through the read-write endpoint that follows the -rw Service (Kubernetes)
 *   --via hosts  through the list of both sites' SQL ports (VMs)
 * Exit 0 when nothing is missing and the app wrote again after the takeover, 1 otherwise, 2 usage.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOrderWriter } from './orders.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const fault = flag('--fault', 'unplanned');
const via = flag('--via', 'rw');
const stateDir = flag('--state-dir', join(tmpdir(), 'hanasr-demo'));
const rate = Number(flag('--rate', '10'));
const json = args.includes('--json');
if (!['unplanned', 'planned'].includes(fault) || !['rw', 'hosts'].includes(via) || !(rate > 0)) {
  process.stderr.write('usage: measure.mjs [--fault unplanned|planned] [--via rw|hosts] [--state-dir DIR]\n');
  process.exit(2);
}

const demoFile = join(stateDir, 'demo.json');
if (!existsSync(demoFile)) {
  process.stderr.write(`measure: no running demo in ${stateDir} (start one with npm start)\n`);
  process.exit(2);
}
const demo = JSON.parse(readFileSync(demoFile, 'utf8'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function control(method, path, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${demo.controlUrl}${path}`,
      {
        method,
        timeout: 10_000,
        headers: {
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...(demo.token ? { authorization: `Bearer ${demo.token}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          const parsed = JSON.parse(text || '{}');
          if (res.statusCode >= 400) reject(new Error(parsed.error ?? `HTTP ${res.statusCode}`));
          else resolve(parsed);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('the demo control endpoint did not answer')));
    req.on('error', reject);
    req.end(payload);
  });
}

async function until(what, ms, check) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(250);
  }
}

const work = mkdtempSync(join(tmpdir(), 'hanasr-app-'));
const outcomesFile = join(work, 'outcomes.jsonl');
const lines = () =>
  existsSync(outcomesFile)
    ? readFileSync(outcomesFile, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l))
    : [];

const before = await until('the landscape settles', 180_000, async () => {
  const s = await control('GET', '/state');
  return s.settled ? s : null;
});
const serverNode = via === 'rw' ? demo.sql.rw : Object.values(demo.sql.sites).join(',');
const runId = `m${Date.now().toString(36)}`;
const app = spawn(process.execPath, [fileURLToPath(new URL('./app.mjs', import.meta.url))], {
  env: {
    ...process.env,
    HANA_SERVER_NODE: serverNode,
    HANA_USER: demo.sql.user,
    HANA_PASSWORD_FILE: demo.sql.passwordFile,
    APP_RATE: String(rate),
    APP_RUN_ID: runId,
    APP_OUTCOMES: outcomesFile,
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let appOut = '';
app.stdout.on('data', (d) => (appOut += d));
const appExited = new Promise((resolve) => app.on('exit', resolve));

let result;
try {
  await until('the app writes', 60_000, () => lines().filter((l) => l.event === 'order').length >= 20);
  const faultAt = Date.now();
  const applied =
    fault === 'unplanned'
      ? await control('POST', '/fault', { atSeconds: 0, action: 'crash-instance', site: 'primary' })
      : await control('POST', '/fault', { atSeconds: 0, action: 'planned-takeover', site: 'secondary' });
  // The takeover is done when the leader key names another site (polled; the old primary takes
  // no writes from then on: crashed, or suspended before it hands the key over).
  const switchedAt = await until('the takeover', 180_000, async () => {
    const s = await control('GET', '/state').catch(() => null);
    return s && s.leader !== null && s.leader !== before.leader ? Date.now() : null;
  });
  const firstOnNew = await until('the app writes on the new primary', 180_000, () =>
    lines().find((l) => l.event === 'order' && l.at >= switchedAt && l.outcome !== 'abandoned'),
  );
  await sleep(10_000); // steady writes on the new primary
  app.kill('SIGTERM');
  await appExited;

  const state = await control('GET', '/state');
  const primary = state.leader;
  const all = lines();
  const orders = all.filter((l) => l.event === 'order');
  const told = orders.filter((o) => o.outcome === 'acknowledged' || o.outcome === 'confirmed');
  // The checker reads the final primary directly, not through the endpoint the app used.
  const password = readFileSync(demo.sql.passwordFile, 'utf8').split(/\r?\n/)[0];
  const checker = createOrderWriter({ serverNode: demo.sql.sites[primary], user: demo.sql.user, password });
  const held = await checker.ids(`${runId}-`);
  checker.close();
  const missing = told.filter((o) => !held.has(o.id)).map((o) => o.id);
  // The longest time without a successful write, from the last one before the fault to the
  // first one on the new primary.
  const acks = orders
    .filter((o) => o.outcome !== 'abandoned' && o.at <= firstOnNew.at)
    .map((o) => o.at)
    .sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < acks.length; i++) if (acks[i] >= faultAt) gap = Math.max(gap, acks[i] - acks[i - 1]);
  const firstError = all.find((l) => l.event === 'error' && l.at >= faultAt);
  const errors = {};
  for (const e of all.filter((l) => l.event === 'error' && l.at >= faultAt)) {
    const key = `${e.code} (${e.phase})`;
    errors[key] = (errors[key] ?? 0) + 1;
  }
  result = {
    fault:
      fault === 'unplanned'
        ? `crash-instance on the primary ${applied.site}`
        : `planned takeover to ${applied.site}`,
    via:
      via === 'rw'
        ? `the read-write endpoint (${demo.name}-rw Service) ${serverNode}`
        : `the host list ${serverNode}`,
    primaryBefore: before.leader,
    primaryAfter: primary,
    orders: orders.length,
    acknowledged: orders.filter((o) => o.outcome === 'acknowledged').length,
    confirmedAfterLostAnswer: orders.filter((o) => o.outcome === 'confirmed').length,
    abandoned: orders.filter((o) => o.outcome === 'abandoned').length,
    uncertainCommits: orders.reduce((n, o) => n + (o.uncertain ?? 0), 0),
    retries: orders.reduce((n, o) => n + Math.max(0, (o.attempts ?? 1) - 1), 0),
    errorsAfterFault: errors,
    noticedAfterMs: firstError ? firstError.at - faultAt : null,
    takeoverAfterMs: switchedAt - faultAt,
    firstWriteAfterFaultMs: firstOnNew.at - faultAt,
    longestWithoutWriteMs: gap,
    missingOnFinalPrimary: missing.length,
    missingIds: missing.slice(0, 10),
    lostCommittedWritesOfTheWorkload: state.lostCommittedWrites,
    app: appOut.trim(),
  };
} finally {
  if (app.exitCode === null) app.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}

const s = (ms) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
else {
  const errors = Object.entries(result.errorsAfterFault)
    .map(([k, n]) => `${k} x${n}`)
    .join(', ');
  process.stdout.write(
    [
      `measure: ${fault} takeover (${result.fault}) via ${result.via}`,
      `  primary               ${result.primaryBefore} -> ${result.primaryAfter}`,
      `  orders                ${result.orders}: ${result.acknowledged} acknowledged, ${result.confirmedAfterLostAnswer} confirmed after a lost answer, ${result.abandoned} abandoned`,
      `  errors the app saw    ${errors || 'none'}`,
      `  uncertain commits     ${result.uncertainCommits}; retries ${result.retries}`,
      `  first error           ${result.noticedAfterMs === null ? 'none' : `${s(result.noticedAfterMs)} after the fault`}`,
      `  leader key moved      ${s(result.takeoverAfterMs)} after the fault`,
      `  first write on new    ${s(result.firstWriteAfterFaultMs)} after the fault; longest time without a successful write ${s(result.longestWithoutWriteMs)}`,
      `  missing               ${result.missingOnFinalPrimary} of the orders the app was told are committed, on the final primary ${result.primaryAfter}`,
      '',
    ].join('\n'),
  );
}
process.exit(result.missingOnFinalPrimary === 0 && result.primaryAfter !== result.primaryBefore ? 0 : 1);
