/** `hanasr backup`, and backups in `hanasr status` and `hanasr history`, through the built CLI. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION_BACKUP_NOW } from '../../src/api/resource.js';
import {
  createCluster,
  ensureBuilt,
  getCluster,
  healthyStatus,
  runCli,
  startLandscape,
  type Landscape,
} from './support.js';

let l: Landscape;

const backup = {
  healthy: false,
  reason: 'BackupNotReadable',
  tooOld: false,
  notReadable: true,
  logBackupStalled: false,
  observedTime: '2024-05-01T09:59:50Z',
  observedSite: 'B',
  databases: [
    {
      name: 'SYSTEMDB',
      lastSuccessfulTime: '2024-05-01T00:00:05Z',
      ageSeconds: 35995,
      backupId: '1714521605000',
      sizeBytes: 1073741824,
      readable: 'False',
      lastLogBackupTime: '2024-05-01T09:50:00Z',
    },
  ],
  runs: [
    {
      id: 's-1714521600000',
      kind: 'scheduled',
      attempt: 2,
      site: 'B',
      epoch: 3,
      state: 'succeeded',
      startTime: '2024-05-01T00:00:05Z',
      endTime: '2024-05-01T00:02:00Z',
      message: 'backed up SYSTEMDB',
    },
    {
      id: 's-1714521600000',
      kind: 'scheduled',
      attempt: 1,
      site: 'A',
      epoch: 2,
      state: 'interrupted',
      startTime: '2024-04-30T23:59:00Z',
      endTime: '2024-05-01T00:00:04Z',
      message: 'interrupted: A lost the leader key at epoch 2 while the backup ran',
    },
  ],
};

beforeAll(async () => {
  ensureBuilt();
  l = await startLandscape();
  await createCluster(l, 'ha1');
  await createCluster(l, 'bk', healthyStatus({ backup }), { backup: { schedule: '0 0 * * *' } });
});

afterAll(async () => {
  await l.close();
});

describe('hanasr backup', () => {
  it('--help says what it shows and what --now does', async () => {
    const r = await runCli(['backup', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: hanasr backup NAME [--now]');
    expect(r.stdout).toContain(ANNOTATION_BACKUP_NOW);
    expect(r.stdout).toMatch(/Exit codes:\n\s+0 /);
  });

  it('shows the health, each database and the runs', async () => {
    const r = await runCli(['backup', 'bk', ...l.kubeArgs]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^BackupHealthy: Unknown; catalog of B read .* ago$/);
    const db = lines.find((x) => x.startsWith('SYSTEMDB'))?.split(/\s{2,}/);
    expect(db?.slice(0, 6)).toEqual([
      'SYSTEMDB',
      '2024-05-01T00:00:05Z',
      '9h59m',
      '1GiB',
      '1714521605000',
      'False',
    ]);
    const runs = lines.filter((x) => x.startsWith('2024-')).map((x) => x.split(/\s{2,}/).slice(0, 7));
    expect(runs).toEqual([
      ['2024-05-01T00:00:05Z', 's-1714521600000', 'scheduled', '2', 'B', '3', 'succeeded'],
      ['2024-04-30T23:59:00Z', 's-1714521600000', 'scheduled', '1', 'A', '2', 'interrupted'],
    ]);
  });

  it('--now sets the backup-now annotation; refused (exit 3) without spec.backup', async () => {
    const r = await runCli(['backup', 'bk', '--now', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/backup requested/);
    const annotations = ((await getCluster(l, 'bk'))['metadata'] as { annotations?: Record<string, string> })
      .annotations;
    expect(annotations?.[ANNOTATION_BACKUP_NOW]).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const refused = await runCli(['backup', 'ha1', '--now', ...l.kubeArgs]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/no spec.backup/);
  });

  it('hanasr status has a line on backups; hanasr history lists the runs below the takeovers', async () => {
    const status = await runCli(['status', 'bk', ...l.kubeArgs]);
    expect(status.stdout).toMatch(
      /^Backups: not healthy \(BackupNotReadable\), oldest newest backup 9h59m old, last run s-1714521600000 succeeded on B/m,
    );
    const history = await runCli(['history', 'bk', ...l.kubeArgs]);
    expect(history.code).toBe(0);
    const lines = history.stdout.split('\n');
    expect(lines[0]?.split(/\s{2,}/)[0]).toBe('TIME');
    const at = lines.indexOf('Backup runs:');
    expect(at).toBeGreaterThan(2);
    expect(lines[at + 2]).toMatch(
      /^2024-05-01T00:00:05Z\s+s-1714521600000\s+scheduled\s+2\s+B\s+3\s+succeeded/,
    );
    // A cluster without backups prints what it printed before.
    expect((await runCli(['history', 'ha1', ...l.kubeArgs])).stdout).not.toMatch(/Backup runs/);
  });
});
