import { invalid } from '../errors/index.ts';

/*
 * Sizes and durations as users write them, parsed strictly: anything that is
 * not exactly a number and a known unit is refused (INVALID_ARGUMENT, exit 2
 * at the CLI) instead of being read as a few bytes or milliseconds.
 *
 * Sizes: binary multiples whatever the spelling, as df, fio and JuiceFS read
 * them: k/K/KB/KiB = 1024, m/M/MB/MiB = 2^20, then g, t, p; "b"/"B" or no unit
 * means bytes; decimals are allowed before a unit ("1.5T") and rounded down.
 * Durations: ms, s, m, h, d (also spelled out: "5 min", "2 hours"); a number
 * without a unit is refused, since "10" could be 10 ms or 10 s, and so is
 * "1M" (a month? a megabyte?); minutes are "1m".
 */

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(?:([kmgtp])(?:i?b?)?|b)?$/i;

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  msec: 1,
  msecs: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/;

/** Longest text looked at: anything longer is not a size or a duration. */
const MAX_TEXT = 40;

function shown(value: string): string {
  return JSON.stringify(value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}...` : value);
}

/** Parses "200G", "200GiB", "512m", "1.5T", "4096" into bytes; throws INVALID_ARGUMENT naming the option. */
export function parseSize(value: string | number, what = 'size'): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${what}: not a size: ${value}`);
    return value;
  }
  const m = value.length <= MAX_TEXT ? SIZE_RE.exec(value.trim()) : null;
  const unit = m ? (m[2] ?? '').toLowerCase() : '';
  const n = m ? Number(m[1]) * SIZE_UNITS[unit]! : NaN;
  // A fraction of a byte ("1.5" or "1.5B") is not a size.
  if (!m || !Number.isSafeInteger(Math.floor(n)) || (unit === '' && !Number.isInteger(n))) {
    throw invalid(`${what}: not a size: ${shown(value)} (write e.g. 4096, 512MiB, 200G or 1.5T)`);
  }
  return Math.floor(n);
}

/** Parses "30s", "5m", "2h", "500ms", "1.5h" into milliseconds; a bare number is refused. */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    // Programmatic callers pass milliseconds.
    if (!Number.isFinite(value) || value < 0) throw invalid(`${what}: not a duration: ${value}`);
    return value;
  }
  const text = value.trim().toLowerCase();
  const m = text.length <= MAX_TEXT ? DURATION_RE.exec(text) : null;
  // "1M" could mean a month or a megabyte: only a lower-case m is minutes.
  const scale = m && !/\dM$/.test(value.trim()) ? DURATION_UNITS[m[2]!] : undefined;
  if (!m || scale === undefined) {
    const hint = /^\d+(\.\d+)?$/.test(text)
      ? ` (a unit is needed: ${text}s, ${text}ms, ${text}m)`
      : ' (write e.g. 500ms, 30s, 5m, 2h or 1d)';
    throw invalid(`${what}: not a duration: ${shown(value)}${hint}`);
  }
  const n = Number(m[1]) * scale;
  if (!Number.isFinite(n) || n > Number.MAX_SAFE_INTEGER)
    throw invalid(`${what}: duration too long: ${shown(value)}`);
  return Math.round(n);
}

const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** "1.5 GiB": powers of 1024 with IEC labels, one decimal above bytes. */
export function formatSize(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1024 && i < IEC.length - 1) {
    v /= 1024;
    i++;
  }
  const text = i === 0 ? String(Math.round(v)) : v.toFixed(1).replace(/\.0$/, '');
  return `${n < 0 ? '-' : ''}${text} ${IEC[i]}`;
}
