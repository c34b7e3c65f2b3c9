/**
 * What one simulated site sees of another directly (the simulator's stand-in for a SQL connect
 * to the peer plus its agent's status): unreachable across a cut network, a down node or a
 * stopped instance; a frozen peer or a hung instance never answers (the caller's timeout decides).
 */
import type { PeerProbe } from '../../agent/agent.js';
import type { PeerView } from '../../domain/observation.js';
import type { SimLandscape } from './model.js';

export function simPeerProbe(model: SimLandscape, self: string): PeerProbe {
  return {
    check: async (site, signal) => {
      const s = model.peerView(site);
      if (!model.canReach(self, site) || !s.nodeUp || !s.running)
        return { reachable: false, acceptsWrites: false };
      if (s.frozen || s.hung === true) {
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
        );
      }
      const role = s.srMode === 'primary' ? 'primary' : s.srMode === 'none' ? 'none' : 'secondary';
      // Key by key (every peer check of every cycle): the object a spread of the optional source made.
      const view: { -readonly [K in keyof PeerView]: PeerView[K] } = {
        reachable: true,
        acceptsWrites: model.acceptsWrites(site),
        role,
        running: s.running,
      };
      if (s.source !== undefined) view.source = s.source;
      // The peer host's clock, as its agent's /status would carry it.
      view.clock = s.now;
      return view;
    },
  };
}
