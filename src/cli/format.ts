/** Plain-text output of the DBA commands: kubectl-style tables, ages, durations, -o json|yaml. */
import { stringify } from 'yaml';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Columns left-aligned and separated by three spaces, headers upper-case (as kubectl prints). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

/** Seconds as kubectl prints ages: 45s, 3m12s, 5h3m, 2d4h. */
export function age(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 || m >= 10 ? `${m}m` : `${m}m${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 || h >= 10 ? `${h}h` : `${h}h${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 || d >= 8 ? `${d}d` : `${d}d${h % 24}h`;
}

/** Age of an RFC 3339 time relative to `now` (ms), or "-". */
export function ageSince(time: string | undefined, now: number): string {
  if (time === undefined) return '-';
  const t = Date.parse(time);
  return Number.isNaN(t) ? '-' : age((now - t) / 1000);
}

/** A duration in seconds with at most one decimal: 0.4s, 12s, 3m05s. */
export function seconds(value: number | undefined): string {
  if (value === undefined) return '-';
  if (value < 10) return `${Math.round(value * 10) / 10}s`;
  if (value < 120) return `${Math.round(value)}s`;
  const s = Math.round(value);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Bytes in binary units: 512B, 1.5KiB, 20MiB. */
export function bytes(value: number | undefined): string {
  if (value === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = value;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 || v >= 10 ? Math.round(v) : Math.round(v * 10) / 10}${units[u]}`;
}

export function yesNo(value: boolean | undefined): string {
  return value === undefined ? '-' : value ? 'yes' : 'no';
}

export function orDash(value: string | number | undefined): string {
  return value === undefined || value === '' ? '-' : String(value);
}

/** JSON (two-space indent) or YAML text of `value`, ending with a newline. */
export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) + '\n' : stringify(value);
}
