/**
 * Child process for bench/coordination-failover.ts: an agent stand-in that holds the leader key
 * of a cluster through an etcd session until it is killed.
 * Usage: coordination-holder-child.ts <endpoints,comma,separated> <cluster> <ttl> <prefix>
 */
import { EtcdCoordination } from '../src/coordination/etcd.js';

const [endpoints = '', cluster = 'bench', ttl = '1', prefix = '/hanasr-bench'] = process.argv.slice(2);
const etcd = new EtcdCoordination({
  endpoints: endpoints.split(','),
  leaseTtlSeconds: Number(ttl),
  callTimeoutMs: 400,
  keyPrefix: prefix,
});
const session = etcd.session(cluster, 'siteA');
await session.start();
const state = await session.read();
const held = await session.acquireLeader(state.lastEpoch, Date.now());
process.stdout.write(`${JSON.stringify({ held: held?.epoch ?? null })}\n`);
// Stay alive; the keepalive loop runs until SIGKILL.
setInterval(() => undefined, 1 << 30);
