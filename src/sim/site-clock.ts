/**
 * One clock per host in the simulator and the demo: an agent reads true time plus its site's
 * offset (skew-clock moves it), while its timers stay on the shared clock (a real setTimeout is
 * not moved by a wall-clock jump either). The lease's "last renewed" time, which the agent
 * compares with its own clock, is read on the same site clock.
 */
import type { Clock } from '../clock.js';
import type { Coordination, CoordinationSession } from '../coordination/port.js';

export function siteClock(base: Clock, offsetMs: () => number): Clock {
  return {
    now: () => base.now() + offsetMs(),
    sleep: (ms, signal) => base.sleep(ms, signal),
    setTimer: (ms, fn, options) => base.setTimer(ms, fn, options),
  };
}

/** The coordination as an agent on a skewed host sees it: renewal times on its clock. */
export function coordinationOnSiteClock(inner: Coordination, offsetMs: () => number): Coordination {
  const session = (s: CoordinationSession): CoordinationSession => ({
    site: s.site,
    start: () => s.start(),
    lastRenewedAt: () => {
      const at = s.lastRenewedAt();
      return at === null ? null : at + offsetMs();
    },
    renew: () => s.renew(),
    read: () => s.read(),
    publishReport: (r) => s.publishReport(r),
    acquireLeader: (e, n) => s.acquireLeader(e, n),
    releaseLeader: (e, h) => s.releaseLeader(e, h),
    writeSync: (e, r) => s.writeSync(e, r),
    stampPrimary: (e, a) => s.stampPrimary(e, a),
    completeIntent: (id) => s.completeIntent(id),
    close: () => s.close(),
    abandon: () => s.abandon(),
  });
  return {
    session: (cluster, site, ttl) => session(inner.session(cluster, site, ttl)),
    read: (c) => inner.read(c),
    addIntent: (c, i) => inner.addIntent(c, i),
    removeIntent: (c, id) => inner.removeIntent(c, id),
    publishSpec: (c, s) => inner.publishSpec(c, s),
    deleteCluster: (c) => inner.deleteCluster(c),
    ...(inner.writeBackup ? { writeBackup: inner.writeBackup.bind(inner) } : {}),
    close: () => inner.close(),
  };
}
