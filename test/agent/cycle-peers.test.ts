/**
 * A cycle checks its peers while it probes its own HANA, not after: a lost peer's silent port
 * costs its whole timeout once, not on top of a slow local probe (the node-loss takeover figure in
 * bench/README.md). Virtual time; the local probe and the peer check each take 2 s.
 */
import { describe, expect, it } from 'vitest';
import type { PeerProbe } from '../../src/agent/agent.js';
import type { HanaHealth } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { agentRig } from '../support/agents.js';
import { secondaryHealth } from '../support/observations.js';

describe('a cycle', () => {
  it('checks the peers while it probes its own HANA', async () => {
    const rig = agentRig();
    const { clock } = rig;
    const marks: string[] = [];
    const hana: HanaPort = {
      probe: async (): Promise<HanaHealth> => {
        marks.push(`probe start ${clock.now()}`);
        await clock.sleep(2000);
        marks.push(`probe end ${clock.now()}`);
        return secondaryHealth('A');
      },
      takeover: async () => undefined,
      register: async () => undefined,
      start: async () => undefined,
      stop: async () => undefined,
      kill: async () => undefined,
    };
    const peers: PeerProbe = {
      check: async () => {
        marks.push(`peer start ${clock.now()}`);
        await clock.sleep(2000);
        marks.push(`peer end ${clock.now()}`);
        return { reachable: false, acceptsWrites: false };
      },
    };
    const agent = rig.agent('B', hana, { peers });
    await agent.start();
    await clock.advanceBy(2500);
    expect(agent.lastDecision).not.toBeNull();
    // Both start at 0 and end at 2000 (in sequence: the peer check would start at 2000, end at 4000).
    // The peer does not answer, so its rechecks (src/domain/peer-silence.ts) start more checks
    // from 1000 on: only the cycle's own are compared.
    const own = marks.filter((m) => !/^peer start [1-9]/.test(m) && !/^peer end (?!2000$)/.test(m));
    expect(own.slice(0, 4).sort()).toEqual([
      'peer end 2000',
      'peer start 0',
      'probe end 2000',
      'probe start 0',
    ]);
    agent.kill();
  });
});
