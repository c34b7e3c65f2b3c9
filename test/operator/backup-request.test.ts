/** hanasr.io/backup-now: a 'backup' intent at the primary's epoch, or a refusal saying why. */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { refuseBackupRequest, requestBackup } from '../../src/operator/backup-request.js';
import { healthy, spec } from './fixtures.js';

const withBackup = spec({ backup: { schedule: '0 0 * * *' } });

describe('backup-now requests', () => {
  it('are refused without spec.backup, in maintenance, and with no primary', () => {
    expect(refuseBackupRequest(spec(), healthy())).toMatch(/spec.backup is not set/);
    expect(refuseBackupRequest({ ...withBackup, maintenance: true }, healthy())).toMatch(/maintenance/);
    expect(refuseBackupRequest(withBackup, { ...healthy(), leader: null })).toMatch(
      /no site holds the leader key/,
    );
    expect(refuseBackupRequest(withBackup, healthy())).toBeNull();
  });

  it("become one intent at the leader's epoch (a second request adds none)", async () => {
    const store = new MemoryCoordination(new VirtualClock(0));
    const a = store.session('c', 'A', 10);
    await a.start();
    const leader = await a.acquireLeader(0, 0);
    const state = await store.read('c');
    const first = await requestBackup(withBackup, state, 'c', store);
    expect(first.event).toMatchObject({ type: 'Normal', reason: 'BackupRequested' });
    const intents = (await store.read('c')).intents;
    expect(intents).toEqual([expect.objectContaining({ kind: 'backup', epoch: leader!.epoch })]);
    await requestBackup(withBackup, await store.read('c'), 'c', store);
    expect((await store.read('c')).intents).toHaveLength(1);
    const refused = await requestBackup(spec(), await store.read('c'), 'c', store);
    expect(refused.event).toMatchObject({ type: 'Warning', reason: 'IntentRefused' });
  });
});
