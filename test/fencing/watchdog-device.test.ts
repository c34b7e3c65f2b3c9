import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeviceWatchdog } from '../../src/fencing/watchdog-device.js';
import { WatchdogError } from '../../src/fencing/port.js';

let dir: string;
let sysfs: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hanasr-wd-'));
  sysfs = path.join(dir, 'sys');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A sysfs watchdog entry as the kernel lays it out. */
async function sysEntry(name: string, files: Record<string, string>): Promise<void> {
  await mkdir(path.join(sysfs, name), { recursive: true });
  for (const [f, v] of Object.entries(files)) await writeFile(path.join(sysfs, name, f), `${v}\n`);
}

const signal = () => AbortSignal.timeout(2000);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(WatchdogError);
    return (err as WatchdogError).code;
  }
  return 'resolved';
}

describe('DeviceWatchdog on a stand-in file', () => {
  it('probes without opening, then arms, feeds and magic-closes: the file shows every byte', async () => {
    const device = path.join(dir, 'watchdog');
    await writeFile(device, '');
    await sysEntry('watchdog0', {
      timeout: '7',
      identity: 'Software Watchdog',
      nowayout: '0',
      dev: '10:130',
    });
    const wd = new DeviceWatchdog({
      device,
      sysfsRoot: sysfs,
      softdogParameters: path.join(dir, 'nomod'),
      allowStandIn: true,
    });

    expect(await wd.probe(signal())).toEqual({
      device,
      present: true,
      timeoutSeconds: 7,
      identity: 'Software Watchdog',
      nowayout: false,
    });
    expect(await readFile(device, 'utf8')).toBe(''); // a probe never opens (opening arms)
    expect(wd.state()).toBe('disarmed');
    expect(await codeOf(wd.feed(signal()))).toBe('NOT_ARMED');

    await wd.arm(signal());
    expect(wd.state()).toBe('armed');
    await wd.feed(signal());
    await wd.feed(signal());
    expect(await readFile(device, 'utf8')).toBe('111');
    await wd.disarm(signal());
    expect(wd.state()).toBe('disarmed');
    expect(await readFile(device, 'utf8')).toBe('111V');
    expect(await codeOf(wd.feed(signal()))).toBe('NOT_ARMED');
    await wd.disarm(signal()); // a no-op when disarmed
    expect(await readFile(device, 'utf8')).toBe('111V');
  });

  it('refuses a plain file unless it is a test stand-in, and never creates the device', async () => {
    const device = path.join(dir, 'watchdog');
    await writeFile(device, '');
    const wd = new DeviceWatchdog({ device, sysfsRoot: sysfs });
    expect(await wd.probe(signal())).toMatchObject({
      present: false,
      problem: `${device} is not a character device`,
    });
    expect(await codeOf(wd.arm(signal()))).toBe('NOT_A_DEVICE');
    expect(wd.state()).toBe('disarmed');
    expect(await readFile(device, 'utf8')).toBe('');

    const missing = path.join(dir, 'nothing');
    const gone = new DeviceWatchdog({ device: missing, sysfsRoot: sysfs, allowStandIn: true });
    expect(await gone.probe(signal())).toMatchObject({
      present: false,
      problem: expect.stringMatching(/no such device/),
    });
    expect(await codeOf(gone.arm(signal()))).toBe('ABSENT');
    await expect(readFile(missing)).rejects.toThrow(/ENOENT/); // O_CREAT would have made a file here
  });

  it('reports nowayout, softdog with soft_noboot and a missing sysfs entry', async () => {
    const device = path.join(dir, 'watchdog1');
    await writeFile(device, '');
    const params = path.join(dir, 'softdog');
    await mkdir(params);
    await writeFile(path.join(params, 'soft_noboot'), '1\n');
    await sysEntry('watchdog1', { timeout: '5', identity: 'Software Watchdog', nowayout: '1' });
    const wd = new DeviceWatchdog({
      device,
      sysfsRoot: sysfs,
      softdogParameters: params,
      allowStandIn: true,
    });
    expect(await wd.probe(signal())).toMatchObject({
      present: false,
      timeoutSeconds: 5,
      nowayout: true,
      problem: 'softdog is loaded with soft_noboot=1: it never resets the node',
    });
    await writeFile(path.join(params, 'soft_noboot'), '0\n');
    expect(await wd.probe(signal())).toMatchObject({ present: true, timeoutSeconds: 5, nowayout: true });

    const other = new DeviceWatchdog({ device, sysfsRoot: path.join(dir, 'empty'), allowStandIn: true });
    expect(await other.probe(signal())).toMatchObject({
      present: true,
      problem: expect.stringMatching(/no sysfs entry/),
    });
  });
});

describe('DeviceWatchdog on a real character device', () => {
  it('maps the device to its sysfs entry by major:minor and writes to it (/dev/null, 1:3)', async () => {
    await sysEntry('watchdog0', { timeout: '60', dev: '250:0' });
    await sysEntry('watchdog3', { timeout: '9', identity: 'iTCO_wdt', dev: '1:3' });
    const wd = new DeviceWatchdog({ device: '/dev/null', sysfsRoot: sysfs });
    expect(await wd.probe(signal())).toEqual({
      device: '/dev/null',
      present: true,
      timeoutSeconds: 9,
      identity: 'iTCO_wdt',
    });
    await wd.arm(signal());
    await wd.feed(signal());
    await wd.disarm(signal());
    expect(wd.state()).toBe('disarmed');
  });
});

describe('DeviceWatchdog on a FIFO the test reads', () => {
  it('the reader sees the feeds, then the V and the close', async () => {
    const fifo = path.join(dir, 'wdfifo');
    execFileSync('mkfifo', [fifo]);
    await sysEntry('watchdog0', { timeout: '7' });
    const reader = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const wd = new DeviceWatchdog({ device: fifo, sysfsRoot: sysfs, allowStandIn: true });
    // The basename does not say watchdogN and a FIFO has no device number: no sysfs entry.
    expect(await wd.probe(signal())).toMatchObject({
      present: true,
      problem: expect.stringMatching(/no sysfs/),
    });
    await wd.arm(signal());
    await wd.feed(signal());
    await wd.disarm(signal());
    const buf = Buffer.alloc(16);
    const { bytesRead } = await reader.read(buf, 0, 16, null);
    expect(buf.subarray(0, bytesRead).toString()).toBe('11V');
    // The writer closed: the next read is the end of the stream.
    expect((await reader.read(buf, 0, 16, null)).bytesRead).toBe(0);
    await reader.close();
  });

  it('a FIFO nobody reads is absent (non-blocking open), not a hang', async () => {
    const fifo = path.join(dir, 'lonely');
    execFileSync('mkfifo', [fifo]);
    const wd = new DeviceWatchdog({ device: fifo, sysfsRoot: sysfs, allowStandIn: true });
    expect(await codeOf(wd.arm(signal()))).toBe('ABSENT');
    expect(wd.state()).toBe('disarmed');
  });

  it('a feed stuck behind a blocked thread pool times out, keeps the device busy, and lands later', async () => {
    const device = path.join(dir, 'watchdog');
    await writeFile(device, '');
    const wd = new DeviceWatchdog({ device, sysfsRoot: sysfs, allowStandIn: true });
    await wd.arm(signal());
    // Occupy every libuv thread with an open that blocks until a writer shows up.
    const size = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const blockers: string[] = [];
    for (let i = 0; i < size; i++) {
      const f = path.join(dir, `block${i}`);
      execFileSync('mkfifo', [f]);
      blockers.push(f);
    }
    const blocked: Promise<FileHandle>[] = blockers.map((f) => open(f, 'r'));
    const started = Date.now();
    expect(await codeOf(wd.feed(AbortSignal.timeout(200)))).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(wd.state()).toBe('failed');
    expect(await codeOf(wd.feed(signal()))).toBe('PENDING');
    // Release the pool: writers on every FIFO (opened from a child, not from this process's pool).
    for (const f of blockers) execFileSync('sh', ['-c', 'exec 3>"$1"; exec 3>&-', 'sh', f]);
    for (const h of await Promise.all(blocked)) await h.close();
    // The stuck write lands: the device was fed late, and it is armed again.
    for (let i = 0; i < 50 && wd.state() !== 'armed'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(wd.state()).toBe('armed');
    expect(await readFile(device, 'utf8')).toBe('11');
    await wd.disarm(signal());
    expect(await readFile(device, 'utf8')).toBe('11V');
  });
});
