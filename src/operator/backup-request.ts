/**
 * hanasr.io/backup-now (set by `hanasr backup NAME --now`): a 'backup' intent at the epoch of the
 * current primary, which only that primary's agent carries out (src/domain/backup.ts refuses a
 * request of another epoch). Refused without spec.backup, in maintenance, or with no primary.
 */
import { randomUUID } from 'node:crypto';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import { ANNOTATION_BACKUP_NOW } from '../api/resource.js';
import type { ClusterState, Coordination } from '../coordination/port.js';

export interface BackupRequestResult {
  readonly refused?: string;
  readonly event: { readonly type: 'Normal' | 'Warning'; readonly reason: string; readonly message: string };
}

/** Why a backup request cannot be made now, or null. Pure. */
export function refuseBackupRequest(spec: HanaSystemReplicationSpec, state: ClusterState): string | null {
  if (spec.backup === undefined) return 'spec.backup is not set: hanasr runs no backups';
  if (spec.maintenance) return 'spec.maintenance is true: hanasr takes no action';
  if (state.leader === null) return 'no site holds the leader key: there is no primary to back up';
  return null;
}

export async function requestBackup(
  spec: HanaSystemReplicationSpec,
  state: ClusterState,
  cluster: string,
  coordination: Coordination,
): Promise<BackupRequestResult> {
  const why = refuseBackupRequest(spec, state);
  if (why !== null)
    return {
      refused: why,
      event: {
        type: 'Warning',
        reason: 'IntentRefused',
        message: `${ANNOTATION_BACKUP_NOW} refused: ${why}`,
      },
    };
  const leader = state.leader!;
  // One pending request is enough: a second click does not queue a second backup.
  if (!state.intents.some((i) => i.kind === 'backup' && i.epoch === leader.epoch)) {
    await coordination.addIntent(cluster, {
      kind: 'backup',
      id: `backup-${leader.epoch}-${randomUUID().slice(0, 8)}`,
      epoch: leader.epoch,
    });
  }
  return {
    event: {
      type: 'Normal',
      reason: 'BackupRequested',
      message: `${ANNOTATION_BACKUP_NOW} accepted at epoch ${leader.epoch}: ${leader.site}'s agent runs a data backup now`,
    },
  };
}
