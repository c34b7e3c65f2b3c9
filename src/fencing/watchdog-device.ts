/**
 * The Linux watchdog device (`/dev/watchdog`, softdog or a hardware driver) as the Watchdog port.
 *
 * - Opening the device starts its countdown; any write restarts it; writing 'V' and then closing
 *   stops it (the "magic close"), unless the driver was built or loaded with nowayout. Closing
 *   without the 'V' (a crash, a kill) leaves it counting: the node resets. Feeds never contain 'V'.
 * - The timeout is read from sysfs (`/sys/class/watchdog/watchdogN/timeout`): Node cannot issue
 *   the WDIOC_SETTIMEOUT ioctl, so the timeout is set outside (`modprobe softdog soft_margin=N`,
 *   or the hardware's setting). /dev/watchdog is the legacy alias (misc 10:130) of watchdog0; a
 *   /dev/watchdogN node is matched to its sysfs entry by its major:minor (`dev`), else by name.
 * - The device is opened write-only, non-blocking and never created (O_CREAT would leave a plain
 *   file at /dev/watchdog that "feeds" nothing); a path that is not a character device is refused
 *   unless `allowStandIn` (tests: a FIFO or a file the test reads).
 * - Node's file I/O runs on libuv's thread pool and cannot be cancelled: a call that outlives its
 *   signal is reported as TIMEOUT and keeps the device busy (PENDING) until it really ends, and
 *   its effect (an open that completes late) is kept, never undone by a close without 'V'.
 */
import { constants } from 'node:fs';
import { access, open, readFile, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { WatchdogError, type Watchdog, type WatchdogInfo, type WatchdogState } from './port.js';

export interface DeviceWatchdogOptions {
  readonly device: string;
  /** Default /sys/class/watchdog. */
  readonly sysfsRoot?: string;
  /** Default /sys/module/softdog/parameters (soft_noboot=1 makes softdog useless). */
  readonly softdogParameters?: string;
  /** Accept a FIFO or a regular file in place of the device (tests: a stand-in the test reads). */
  readonly allowStandIn?: boolean;
}

/** The misc device number of the legacy /dev/watchdog (it belongs to watchdog0). */
const LEGACY_MAJOR = 10n;
const LEGACY_MINOR = 130n;
const FEED = Buffer.from('1');
const MAGIC = Buffer.from('V');

function major(dev: bigint): bigint {
  return ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
}
function minor(dev: bigint): bigint {
  return (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? '';
}

function watchdogError(err: unknown, device: string, what: string): WatchdogError {
  if (err instanceof WatchdogError) return err;
  switch (codeOf(err)) {
    case 'ENOENT':
    case 'ENODEV':
    case 'ENXIO':
      return new WatchdogError('ABSENT', `${what} ${device}: no such device`);
    case 'EBUSY':
      return new WatchdogError('BUSY', `${what} ${device}: in use by another process (only one may open it)`);
    case 'EACCES':
    case 'EPERM':
      return new WatchdogError('DENIED', `${what} ${device}: permission denied`);
    default:
      return new WatchdogError(
        'IO',
        `${what} ${device}: ${codeOf(err) || (err instanceof Error ? err.message : String(err))}`,
      );
  }
}

async function readTrimmed(file: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    return (await readFile(file, { encoding: 'utf8', signal })).trim();
  } catch {
    return undefined;
  }
}

export class DeviceWatchdog implements Watchdog {
  readonly device: string;
  private readonly sysfsRoot: string;
  private readonly softdogParameters: string;
  private handle: FileHandle | null = null;
  private current: WatchdogState = 'disarmed';
  private pending: Promise<unknown> | null = null;

  constructor(private readonly options: DeviceWatchdogOptions) {
    this.device = options.device;
    this.sysfsRoot = options.sysfsRoot ?? '/sys/class/watchdog';
    this.softdogParameters = options.softdogParameters ?? '/sys/module/softdog/parameters';
  }

  state(): WatchdogState {
    return this.current;
  }

  async probe(signal: AbortSignal): Promise<WatchdogInfo> {
    const device = this.device;
    const absent = (problem: string): WatchdogInfo => ({ device, present: false, problem });
    let info;
    try {
      info = await stat(device, { bigint: true });
    } catch (err) {
      return absent(watchdogError(err, device, 'watchdog').message);
    }
    const standIn = this.options.allowStandIn === true && (info.isFIFO() || info.isFile());
    if (!info.isCharacterDevice() && !standIn) return absent(`${device} is not a character device`);
    if (this.handle === null) {
      try {
        await access(device, constants.W_OK);
      } catch (err) {
        return absent(watchdogError(err, device, 'watchdog').message);
      }
    }
    const entry = await this.sysfsEntry(info.isCharacterDevice() ? info.rdev : null, signal);
    if (entry === undefined) {
      return { device, present: true, problem: `no sysfs entry under ${this.sysfsRoot} for ${device}` };
    }
    const dir = path.join(this.sysfsRoot, entry);
    const [timeout, identity, nowayout] = await Promise.all([
      readTrimmed(path.join(dir, 'timeout'), signal),
      readTrimmed(path.join(dir, 'identity'), signal),
      readTrimmed(path.join(dir, 'nowayout'), signal),
    ]);
    const seconds = timeout !== undefined && /^\d+$/.test(timeout) ? Number(timeout) : undefined;
    const out: WatchdogInfo = {
      device,
      present: true,
      ...(seconds !== undefined ? { timeoutSeconds: seconds } : {}),
      ...(identity ? { identity } : {}),
      ...(nowayout !== undefined ? { nowayout: nowayout === '1' } : {}),
    };
    if (identity === 'Software Watchdog') {
      const noboot = await readTrimmed(path.join(this.softdogParameters, 'soft_noboot'), signal);
      if (noboot === '1' || noboot === 'Y') {
        return {
          ...out,
          present: false,
          problem: 'softdog is loaded with soft_noboot=1: it never resets the node',
        };
      }
    }
    return out;
  }

  /** watchdogN for the device: by major:minor (10:130 is watchdog0), else by its name. */
  private async sysfsEntry(rdev: bigint | null, signal: AbortSignal): Promise<string | undefined> {
    let entries: string[];
    try {
      entries = (await readdir(this.sysfsRoot)).filter((e) => /^watchdog\d+$/.test(e)).sort();
    } catch {
      return undefined;
    }
    if (rdev !== null) {
      if (major(rdev) === LEGACY_MAJOR && minor(rdev) === LEGACY_MINOR) {
        return entries.includes('watchdog0') ? 'watchdog0' : undefined;
      }
      const want = `${major(rdev)}:${minor(rdev)}`;
      for (const e of entries) {
        if ((await readTrimmed(path.join(this.sysfsRoot, e, 'dev'), signal)) === want) return e;
      }
    }
    let base = path.basename(this.device);
    try {
      base = path.basename(await realpath(this.device));
    } catch {
      // keep the given name
    }
    const name = base === 'watchdog' ? 'watchdog0' : base;
    return entries.includes(name) ? name : undefined;
  }

  async arm(signal: AbortSignal): Promise<void> {
    if (this.handle !== null) return this.feed(signal);
    await this.run('arm', signal, async () => {
      let handle: FileHandle;
      try {
        handle = await open(
          this.device,
          constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK | constants.O_APPEND,
        );
      } catch (err) {
        throw watchdogError(err, this.device, 'cannot open watchdog');
      }
      // From here the countdown may run: the handle is ours and is never closed without 'V'.
      this.handle = handle;
      this.current = 'failed';
      const info = await handle.stat();
      if (
        !info.isCharacterDevice() &&
        !(this.options.allowStandIn === true && (info.isFIFO() || info.isFile()))
      ) {
        this.handle = null;
        this.current = 'disarmed';
        await handle.close();
        throw new WatchdogError('NOT_A_DEVICE', `${this.device} is not a character device`);
      }
      await this.write(handle, FEED, 'cannot feed watchdog');
      this.current = 'armed';
    });
  }

  async feed(signal: AbortSignal): Promise<void> {
    const handle = this.handle;
    if (handle === null) throw new WatchdogError('NOT_ARMED', `watchdog ${this.device} is not armed`);
    await this.run('feed', signal, async () => {
      await this.write(handle, FEED, 'cannot feed watchdog');
      this.current = 'armed';
    });
  }

  async disarm(signal: AbortSignal): Promise<void> {
    const handle = this.handle;
    if (handle === null) {
      this.current = 'disarmed';
      return;
    }
    await this.run('disarm', signal, async () => {
      await this.write(handle, MAGIC, 'cannot disarm watchdog');
      this.handle = null;
      try {
        await handle.close();
      } catch (err) {
        throw watchdogError(err, this.device, 'cannot close watchdog');
      } finally {
        // 'V' was written: the close either happened or the process exit will do it.
        this.current = 'disarmed';
      }
    });
  }

  private async write(handle: FileHandle, data: Buffer, what: string): Promise<void> {
    try {
      const { bytesWritten } = await handle.write(data);
      if (bytesWritten !== data.length) throw new Error('short write');
    } catch (err) {
      this.current = 'failed';
      throw watchdogError(err, this.device, what);
    }
  }

  /** One device call at a time, bounded by the signal (the call itself may outlive it). */
  private async run(what: string, signal: AbortSignal, op: () => Promise<void>): Promise<void> {
    if (this.pending !== null) {
      throw new WatchdogError(
        'PENDING',
        `watchdog ${what}: the previous call on ${this.device} has not finished`,
      );
    }
    if (signal.aborted) throw new WatchdogError('TIMEOUT', `watchdog ${what} on ${this.device}: aborted`);
    const work = op();
    const tracked = work.then(
      () => undefined,
      () => undefined,
    );
    this.pending = tracked;
    void tracked.then(() => {
      if (this.pending === tracked) this.pending = null;
    });
    let onAbort: () => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        if (this.handle !== null) this.current = 'failed';
        reject(new WatchdogError('TIMEOUT', `watchdog ${what} on ${this.device} did not finish in time`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([work, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
