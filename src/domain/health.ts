/** What a probe result means for the failure count. Pure. */
import type { HanaHealth } from './types.js';

/**
 * A primary whose indexserver is not GREEN serves no SQL, even while the daemon and the
 * landscape look alive (SAPHanaSR reacts to this with its susChkSrv hook; hanasr counts it as a
 * failed probe, so a lost indexserver leads to a takeover after failureThreshold probes).
 */
export function primaryIndexserverDown(h: HanaHealth): boolean {
  const indexserver = h.processes['hdbindexserver'];
  return h.srRole === 'primary' && indexserver !== undefined && indexserver !== 'GREEN';
}

/** Some HANA process of the instance runs or is coming up (not every one stopped). */
export function hasLiveProcess(h: HanaHealth): boolean {
  return h.running || Object.values(h.processes).some((c) => c !== 'GRAY');
}

/** A probe that failed, timed out, found the instance down, landscape 0-1, or the indexserver lost. */
export function probeFailed(h: HanaHealth): boolean {
  return (
    !h.probeOk ||
    !h.running ||
    (h.landscapeStatus !== null && h.landscapeStatus <= 1) ||
    primaryIndexserverDown(h)
  );
}
