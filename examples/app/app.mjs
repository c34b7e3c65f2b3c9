#!/usr/bin/env node
/**
 * A small order service that keeps writing through a HANA takeover (docs/apps.md).
 *
 * Environment:
 *   HANA_SERVER_NODE    host:port of the -rw Service (Kubernetes), or a host list host1:port,host2:port (VMs)
 *   HANA_USER           database user
 *   HANA_PASSWORD_FILE  file holding the password (or HANA_PASSWORD)
 *   APP_RATE            orders per second (default 10)
 *   APP_RUN_ID          prefix of the order ids (default: random)
 *   APP_OUTCOMES        file to append one JSON line per order outcome and per error (default: none)
 *
 * Runs until SIGTERM or SIGINT, finishes the order in flight, prints a summary line and exits 0.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createOrderWriter } from './orders.mjs';

const env = process.env;
const serverNode = env.HANA_SERVER_NODE;
const user = env.HANA_USER;
const password = env.HANA_PASSWORD_FILE
  ? readFileSync(env.HANA_PASSWORD_FILE, 'utf8').split(/\r?\n/)[0]
  : env.HANA_PASSWORD;
if (!serverNode || !user || !password) {
  process.stderr.write('app: set HANA_SERVER_NODE, HANA_USER and HANA_PASSWORD_FILE (or HANA_PASSWORD)\n');
  process.exit(2);
}
const rate = Number(env.APP_RATE ?? 10);
const runId = env.APP_RUN_ID ?? randomBytes(4).toString('hex');
const record = (line) => {
  if (env.APP_OUTCOMES) appendFileSync(env.APP_OUTCOMES, JSON.stringify(line) + '\n');
};

// Credentials are never logged: events carry codes and the driver's messages only.
const writer = createOrderWriter({ serverNode, user, password, onEvent: (e) => record(e) });

let stopping = false;
const stop = () => {
  stopping = true;
  // The order in flight gets 15 s to finish (it may be waiting for a new primary).
  setTimeout(() => writer.close(), 15_000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

await writer.init();

const counts = { acknowledged: 0, confirmed: 0, uncertain: 0, retried: 0 };
let seq = 0;
while (!stopping) {
  const started = Date.now();
  const id = `${runId}-${++seq}`;
  const amount = 1 + Math.floor(Math.random() * 1000);
  let result;
  try {
    result = await writer.write(id, amount);
  } catch {
    record({ at: Date.now(), event: 'order', id, started, outcome: 'abandoned' });
    break; // closed while stopping: this order was never acknowledged
  }
  counts[result.outcome]++;
  counts.uncertain += result.uncertain;
  counts.retried += result.attempts - 1;
  record({ at: Date.now(), event: 'order', id, started, ...result });
  const wait = started + 1000 / rate - Date.now();
  if (wait > 0 && !stopping) await new Promise((r) => setTimeout(r, wait));
}
writer.close();
process.stdout.write(
  `app: ${seq} orders: ${counts.acknowledged} acknowledged, ${counts.confirmed} confirmed after a lost answer, ` +
    `${counts.uncertain} uncertain commits resolved, ${counts.retried} retries\n`,
);
