/**
 * Operator election on real etcd: one leader among two or three candidates, read by creation
 * revision; a killed leader (a real child process, SIGKILL) is replaced by a standby after its
 * lease runs out; SIGTERM resigns at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OperatorElection } from '../../src/coordination/election.js';
import type { EtcdCoordination } from '../../src/coordination/etcd.js';
import { EtcdCluster } from '../../rigs/etcd.js';
import { coordination, until } from './helpers.js';

let etcd: EtcdCluster;
const opened: EtcdCoordination[] = [];
const elections: OperatorElection[] = [];
const children = new Set<ChildProcess>();

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 1 });
}, 30_000);

afterEach(async () => {
  await Promise.allSettled(elections.splice(0).map((e) => e.resign()));
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(
    [...children].map(
      (c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r))),
    ),
  );
  children.clear();
});

afterAll(async () => {
  await Promise.allSettled(opened.map((c) => c.close()));
  await etcd.stop();
}, 30_000);

let electionSeq = 0;
function nextName(): string {
  electionSeq += 1;
  return `op-${process.pid}-${electionSeq}`;
}

function candidate(name: string, id: string, ttl = 1): { election: OperatorElection; changes: boolean[] } {
  const c = coordination(etcd.endpoints, { leaseTtlSeconds: ttl, callTimeoutMs: 300 });
  opened.push(c);
  const changes: boolean[] = [];
  const election = new OperatorElection(c, { candidate: id, name, onChange: (l) => changes.push(l) });
  elections.push(election);
  return { election, changes };
}

interface ChildLine {
  readonly event: string;
  readonly t: number;
}

const fixture = fileURLToPath(new URL('./fixtures/election-child.ts', import.meta.url));

function startChild(name: string, id: string, ttl = 1): { child: ChildProcess; lines: ChildLine[] } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fixture, etcd.endpoints.join(','), id, String(ttl), `/hanasr-test-${name}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  const lines: ChildLine[] = [];
  let buf = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as ChildLine);
      } catch {
        // not ours
      }
    }
  });
  child.stderr?.resume();
  return { child, lines };
}

function childCandidate(
  name: string,
  id: string,
  ttl = 1,
): { election: OperatorElection; changes: boolean[] } {
  // Same prefix as the child uses, so they compete in one election.
  const c = coordination(etcd.endpoints, {
    leaseTtlSeconds: ttl,
    callTimeoutMs: 300,
    keyPrefix: `/hanasr-test-${name}`,
  });
  opened.push(c);
  const changes: boolean[] = [];
  const election = new OperatorElection(c, { candidate: id, onChange: (l) => changes.push(l) });
  elections.push(election);
  return { election, changes };
}

describe('operator election', () => {
  it('two candidates: the first to campaign leads, the other waits; resign hands over', async () => {
    const name = nextName();
    const a = candidate(name, 'op-a');
    const b = candidate(name, 'op-b');
    await a.election.campaign();
    await b.election.campaign();
    await a.election.waitForLeadership();
    expect((await b.election.leader())?.candidate).toBe('op-a');
    // b stays standby over two TTLs while a renews.
    await new Promise((r) => setTimeout(r, 2000));
    expect(a.election.isLeader()).toBe(true);
    expect(b.election.isLeader()).toBe(false);
    expect(b.changes).toEqual([]);

    await a.election.resign();
    expect(a.election.isLeader()).toBe(false);
    expect(a.changes).toEqual([true, false]);
    await b.election.waitForLeadership();
    expect((await b.election.leader())?.candidate).toBe('op-b');
  }, 15_000);

  it('three candidates arriving together: exactly one leads, and it is the lowest creation revision', async () => {
    const name = nextName();
    const cs = [candidate(name, 'op-1'), candidate(name, 'op-2'), candidate(name, 'op-3')];
    await Promise.all(cs.map((c) => c.election.campaign()));
    const leader = await until('a leader', async () => {
      const l = cs.filter((c) => c.election.isLeader());
      return l.length > 0 ? l : undefined;
    });
    // Give every candidate two polls: never two leaders.
    await new Promise((r) => setTimeout(r, 800));
    const leading = cs.filter((c) => c.election.isLeader());
    expect(leading).toHaveLength(1);
    expect(leading[0]).toBe(leader[0]);
    const read = await cs[0]!.election.leader();
    expect(cs.map((c) => c.election).indexOf(leading[0]!.election)).toBe(
      ['op-1', 'op-2', 'op-3'].indexOf(read!.candidate),
    );

    // Resign the leader: exactly one of the other two takes over.
    await leading[0]!.election.resign();
    const rest = cs.filter((c) => c !== leading[0]);
    await until('a new leader', async () => (rest.some((c) => c.election.isLeader()) ? true : undefined));
    await new Promise((r) => setTimeout(r, 800));
    expect(rest.filter((c) => c.election.isLeader())).toHaveLength(1);
  }, 15_000);

  it('a SIGKILLed leader process is replaced by the standby after its lease runs out', async () => {
    const name = nextName();
    const TTL = 1;
    const { child, lines } = startChild(name, 'op-child', TTL);
    await until(
      'the child to lead',
      async () => (lines.some((l) => l.event === 'leading') ? true : undefined),
      15_000,
    );
    const standby = childCandidate(name, 'op-standby', TTL);
    await standby.election.campaign();
    await new Promise((r) => setTimeout(r, 500));
    expect(standby.election.isLeader()).toBe(false);

    const killedAt = Date.now();
    child.kill('SIGKILL');
    await standby.election.waitForLeadership(AbortSignal.timeout(10_000));
    const tookOver = Date.now() - killedAt;
    // The dead leader's lease had to run out first (its last renewal was at most TTL/3 before).
    expect(tookOver).toBeGreaterThanOrEqual((TTL * 1000 * 2) / 3 - 100);
    // Generous bound: TTL + expiry slack (0.5 s) + one poll + scheduling.
    expect(tookOver).toBeLessThan(TTL * 1000 + 2500);
  }, 30_000);

  it('SIGTERM makes the leader resign at once', async () => {
    const name = nextName();
    const TTL = 5;
    const { child, lines } = startChild(name, 'op-child', TTL);
    await until(
      'the child to lead',
      async () => (lines.some((l) => l.event === 'leading') ? true : undefined),
      15_000,
    );
    const standby = childCandidate(name, 'op-standby', TTL);
    await standby.election.campaign();

    const termAt = Date.now();
    child.kill('SIGTERM');
    await until('the child to exit', async () => (child.exitCode !== null ? true : undefined));
    expect(child.exitCode).toBe(0);
    expect(lines.map((l) => l.event)).toContain('resigned');
    await standby.election.waitForLeadership(AbortSignal.timeout(10_000));
    // Far sooner than the 5 s TTL: the lease was revoked, not left to expire.
    expect(Date.now() - termAt).toBeLessThan(TTL * 1000);
  }, 30_000);
});
