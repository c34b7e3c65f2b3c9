/** Spawns the real `hanasr hana-sim` command (via tsx) and connects with @sap/hana-client. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { caught, connectHanaClient, type Client } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const children: ChildProcess[] = [];
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
});

function freePortBlock(count: number): Promise<number> {
  // Ask the OS for a port, then hope the next ones are free too (checked by the command itself).
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? Math.min(addr.port, 65535 - count) : 0));
    });
  });
}

function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'hana-sim', ...args],
    {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: string[] = [];
  const rl = createInterface({ input: child.stdout! });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = (count: number) =>
    new Promise<string[]>((resolve, reject) => {
      rl.on('line', (line) => {
        lines.push(line);
        if (lines.length === count) resolve(lines);
      });
      void exited.then((code) => reject(new Error(`hana-sim exited with ${code}: ${stderr}`)));
    });
  return { child, ready, exited, stderr: () => stderr };
}

describe('hanasr hana-sim', () => {
  it('serves a primary and a secondary, one port each, and the primary shows live replication', async () => {
    const port = await freePortBlock(2);
    const sim = start(['--port', String(port), '--user', 'SYSTEM', '--sites', 'SITEA,SITEB'], {
      HANASR_SIM_PASSWORD: 'Cli-Secret-1',
    });
    const lines = await sim.ready(2);
    expect(lines).toEqual([`SITEA 127.0.0.1:${port} primary`, `SITEB 127.0.0.1:${port + 1} secondary`]);

    const primary = await connectHanaClient(port, { pwd: 'Cli-Secret-1' });
    clients.push(primary);
    expect(await primary.exec('SELECT * FROM DUMMY')).toEqual([{ DUMMY: 'X' }]);
    const rows = (await primary.exec(
      'SELECT SECONDARY_SITE_NAME, REPLICATION_MODE, REPLICATION_STATUS, LAST_LOG_POSITION FROM SYS.M_SERVICE_REPLICATION',
    )) as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]).toMatchObject({ SECONDARY_SITE_NAME: 'SITEB', REPLICATION_MODE: 'SYNC' });

    const secondary = await caught(() => connectHanaClient(port + 1, { pwd: 'Cli-Secret-1' }));
    expect(secondary.code).toBe(-10709);
  });

  it('refuses to start without a password and says why', async () => {
    const sim = start(['--port', '1', '--user', 'SYSTEM'], { HANASR_SIM_PASSWORD: '' });
    expect(await sim.exited).toBe(2);
    expect(sim.stderr()).toContain('a password is required');
  });
});
