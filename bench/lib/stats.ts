/** Small helpers of the benches: percentiles, the machine, a process's CPU time and memory. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Stat {
  readonly n: number;
  readonly median: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** Median and p99 (nearest rank); NaN for no values. */
export function pct(xs: readonly number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, median: NaN, p99: NaN, min: NaN, max: NaN };
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  const m = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return { n: s.length, median, p99: rank(0.99), min: s[0]!, max: s[s.length - 1]! };
}

/**
 * The machine a figure was measured on, with its load average (1, 5, 15 min) at that moment: a
 * figure from a shared, loaded machine must say so.
 */
export function machine(): {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  loadAverage: number[];
  at: string;
} {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverage: load(),
    at: new Date().toISOString(),
  };
}

/** The load average (1, 5, 15 min), two decimals. */
export function load(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
export function cpuAndRss(pid: number): {
  cpuSeconds: number;
  rssMB: number;
  peakRssMB: number;
  /** The RSS split: the process's own memory (heaps) and pages of files (the node binary, libraries). */
  anonMB: number;
  fileMB: number;
} {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return {
    cpuSeconds: (utime + stime) / TICKS,
    rssMB: kb('VmRSS') / 1024,
    peakRssMB: kb('VmHWM') / 1024,
    anonMB: kb('RssAnon') / 1024,
    fileMB: kb('RssFile') / 1024,
  };
}

/**
 * A process's memory from /proc/PID/smaps_rollup (MB): resident, proportional (each shared page
 * divided among the processes mapping it) and private (its pages alone: what it costs on a host).
 */
export function smapsRollup(pid: number): { rssMB: number; pssMB: number; privateMB: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return {
    rssMB: kb('Rss') / 1024,
    pssMB: kb('Pss') / 1024,
    privateMB: (kb('Private_Clean') + kb('Private_Dirty')) / 1024,
  };
}
