/**
 * The chaos suite's faults (the nemesis), each with its cure, on the rig's real processes:
 * - sigkill / sigstop: SIGKILL (started again at the cure) or SIGSTOP (SIGCONT at the cure) of
 *   an agent or an operator replica;
 * - etcd-member-loss / etcd-member-pause: one etcd member SIGKILLed (restarted) or SIGSTOPped;
 * - etcd-quorum-loss: two of the three members SIGKILLed;
 * - partition: every link of one agent or operator to etcd silently swallows its bytes (or is
 *   cut: connections reset, new ones refused);
 * - slow-link: the same links forward 0.2 to 2 s late;
 * - clock-jump: a site's host clock (its agent's and its HANA's) jumps 5 to 60 s either way, and
 *   back at the cure;
 * - crash-primary-node: the primary's node goes down, its agent process with it (SIGKILL); the
 *   node and the agent come back at the cure, HANA stays stopped until the agent acts;
 * - crash-primary-instance: HANA on the primary dies (the agent is left to act);
 * - block-replication: the replication network of the secondary is cut (HANA's own link).
 * Faults that overlap never share a target.
 */
import { Prng } from '../../src/standins/hana-sim/prng.js';
import type { ChaosProcess, ChaosRig, Site } from './rig.js';

export const FAULT_KINDS = [
  'sigkill',
  'sigstop',
  'etcd-member-loss',
  'etcd-member-pause',
  'etcd-quorum-loss',
  'partition',
  'slow-link',
  'clock-jump',
  'crash-primary-node',
  'crash-primary-instance',
  'block-replication',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * How long a crashed node stays down at least: longer than the secondary needs to decide on a
 * takeover (failureThreshold probes, the lease TTL, a few probe timeouts under load).
 */
export const NODE_DOWN_MS = 30_000;

export interface Fault {
  readonly kind: FaultKind;
  /** e.g. "sigkill agent-A", "partition operator-2 (blackhole)". */
  readonly name: string;
  /** What it holds while active (no other active fault may take it). */
  readonly targets: readonly string[];
  /** It lasts at least this long (ms): a node crash outlasts detection, so a takeover happens. */
  readonly minMs?: number;
  heal(): Promise<void>;
}

function processes(rig: ChaosRig): ChaosProcess[] {
  return [...rig.agents.values(), ...rig.operators];
}

function primaryOf(rig: ChaosRig): Site | null {
  const w = rig.model.writableSites();
  return w.length === 1 ? (w[0] as Site) : null;
}

/**
 * Starts a fault of `kind` on a target drawn with `rng` among those not `busy`; returns null when
 * no target is free (or, for primary faults, there is no single primary now).
 */
export async function injectFault(
  rig: ChaosRig,
  kind: FaultKind,
  rng: Prng,
  busy: ReadonlySet<string>,
): Promise<Fault | null> {
  const pick = <T>(xs: readonly T[]): T | null => (xs.length === 0 ? null : xs[rng.int(0, xs.length - 1)]!);
  const freeProcess = () => pick(processes(rig).filter((p) => !busy.has(p.name) && p.running));
  const members = [0, 1, 2].filter((i) => !busy.has(`etcd-${i}`) && rig.etcd.member(i).running);
  switch (kind) {
    case 'sigkill': {
      const p = freeProcess();
      if (!p) return null;
      await p.stop('SIGKILL');
      return { kind, name: `sigkill ${p.name}`, targets: [p.name], heal: async () => p.start() };
    }
    case 'sigstop': {
      const p = freeProcess();
      if (!p) return null;
      p.pause();
      return { kind, name: `sigstop ${p.name}`, targets: [p.name], heal: async () => p.resume() };
    }
    case 'etcd-member-loss': {
      const i = pick(members);
      if (i === null) return null;
      await rig.etcd.member(i).kill();
      return {
        kind,
        name: `sigkill etcd member ${i}`,
        targets: [`etcd-${i}`],
        heal: async () => rig.etcd.member(i).start(),
      };
    }
    case 'etcd-member-pause': {
      const i = pick(members);
      if (i === null) return null;
      rig.etcd.member(i).pause();
      return {
        kind,
        name: `sigstop etcd member ${i}`,
        targets: [`etcd-${i}`],
        heal: async () => rig.etcd.member(i).resume(),
      };
    }
    case 'etcd-quorum-loss': {
      if (members.length < 3) return null;
      const spared = rng.int(0, 2);
      const lost = members.filter((i) => i !== spared);
      await Promise.all(lost.map((i) => rig.etcd.member(i).kill()));
      return {
        kind,
        name: `quorum loss: etcd members ${lost.join(' and ')} killed`,
        targets: [0, 1, 2].map((i) => `etcd-${i}`),
        heal: async () => {
          for (const i of lost) rig.etcd.member(i).start();
        },
      };
    }
    case 'partition':
    case 'slow-link': {
      const p = freeProcess();
      if (!p) return null;
      const proxies = rig.proxies.get(p.name) ?? [];
      let how: string;
      if (kind === 'slow-link') {
        const delay = rng.int(200, 2000);
        for (const x of proxies) x.slow(delay);
        how = `${delay} ms each way`;
      } else if (rng.next() < 0.5) {
        for (const x of proxies) x.blackhole();
        how = 'blackhole';
      } else {
        await Promise.all(proxies.map((x) => x.cut()));
        how = 'connections cut';
      }
      return {
        kind,
        name: `${kind} ${p.name} from etcd (${how})`,
        targets: [`${p.name}-links`],
        heal: async () => {
          await Promise.all(proxies.map((x) => x.heal()));
        },
      };
    }
    case 'clock-jump': {
      const site = pick((['A', 'B'] as const).filter((s) => !busy.has(`clock-${s}`)));
      if (!site) return null;
      const ms = (rng.next() < 0.5 ? -1 : 1) * rng.int(5, 60) * 1000;
      rig.setClockOffset(site, ms);
      return {
        kind,
        name: `clock of ${site} jumps ${ms > 0 ? '+' : ''}${ms / 1000} s`,
        targets: [`clock-${site}`],
        heal: async () => rig.setClockOffset(site, 0),
      };
    }
    case 'crash-primary-node': {
      const site = primaryOf(rig);
      const agent = site ? rig.agents.get(site) : undefined;
      if (!site || !agent || busy.has(agent.name) || busy.has(`node-${site}`)) return null;
      await agent.stop('SIGKILL');
      rig.model.crashNode(site);
      return {
        kind,
        name: `node of primary ${site} crashes (HANA and agent)`,
        targets: [agent.name, `node-${site}`],
        minMs: NODE_DOWN_MS,
        heal: async () => {
          rig.model.restoreNode(site);
          agent.start();
        },
      };
    }
    case 'crash-primary-instance': {
      const site = primaryOf(rig);
      if (!site || busy.has(`node-${site}`)) return null;
      rig.model.crashInstance(site);
      return {
        kind,
        name: `HANA instance of primary ${site} crashes`,
        targets: [`node-${site}`],
        heal: async () => {},
      };
    }
    case 'block-replication': {
      const primary = primaryOf(rig);
      const site = primary === 'A' ? 'B' : primary === 'B' ? 'A' : null;
      if (!site || busy.has(`node-${site}`) || busy.has('replication')) return null;
      rig.model.blockReplication(site);
      return {
        kind,
        name: `replication network of secondary ${site} cut`,
        targets: ['replication', `node-${site}`],
        heal: async () => rig.model.unblockReplication(site),
      };
    }
  }
}
