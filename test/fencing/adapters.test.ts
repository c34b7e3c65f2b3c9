/** The host's fencing adapters follow the spec: its watchdog device and its fence agent. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseSpec, type HanaSystemReplicationSpec } from '../../src/api/spec.js';
import { createFencingAdapters } from '../../src/fencing/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hanasr-fencing-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'a' },
    { name: 'B', host: 'b' },
  ],
};

describe('createFencingAdapters', () => {
  it('builds the watchdog of the spec’s device and runs the spec’s fence agent', async () => {
    const statusFile = path.join(dir, 'B.status');
    let spec: HanaSystemReplicationSpec | undefined;
    const f = createFencingAdapters({ spec: () => spec, agentDir: '/usr/sbin' });
    expect(f.watchdog()).toBeUndefined();
    expect(await f.fenceAgent.call('B', 'status', { timeoutMs: 5000 })).toMatchObject({
      ok: false,
      code: 'NOT_CONFIGURED',
    });
    spec = parseSpec({
      ...base,
      fencing: {
        watchdog: { device: '/dev/watchdog1' },
        agent: { command: 'fence_dummy', sites: { B: { status_file: statusFile } } },
      },
    });
    const wd = f.watchdog()!;
    expect(wd.device).toBe('/dev/watchdog1');
    expect(f.watchdog()).toBe(wd);
    expect(await f.fenceAgent.call('B', 'on', { timeoutMs: 10_000 })).toMatchObject({ ok: true });
    expect(await readFile(statusFile, 'utf8')).toBe('on');
    spec = parseSpec({ ...base, fencing: { watchdog: { device: '/dev/watchdog0' } } });
    expect(f.watchdog()!.device).toBe('/dev/watchdog0');
    expect(await f.fenceAgent.call('B', 'off', { timeoutMs: 5000 })).toMatchObject({
      code: 'NOT_CONFIGURED',
    });
  });
});
