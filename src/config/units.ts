import bytes from 'bytes';
import ms from 'ms';
import { invalid } from '../errors/index.ts';

/** Parses "10GiB", "512m", "1048576" into bytes; throws INVALID_ARGUMENT naming the option. */
export function parseSize(value: string | number, what = 'size'): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${what}: not a size: ${value}`);
    return value;
  }
  const normalised = value.trim().replace(/ib$/i, 'b');
  const n = /^\d+$/.test(normalised) ? Number(normalised) : bytes.parse(normalised);
  if (n === null || !Number.isFinite(n) || n < 0)
    throw invalid(`${what}: not a size: ${JSON.stringify(value.slice(0, 80))}`);
  return Math.floor(n);
}

/** Parses "10s", "2h", "500ms" (or a number of milliseconds) into milliseconds. */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw invalid(`${what}: not a duration: ${value}`);
    return value;
  }
  // ms() throws a plain Error above 100 characters.
  const n =
    value.length > 100
      ? undefined
      : /^\d+$/.test(value.trim())
        ? Number(value)
        : ms(value.trim() as ms.StringValue);
  if (n === undefined || !Number.isFinite(n) || n < 0) {
    throw invalid(`${what}: not a duration: ${JSON.stringify(value.slice(0, 80))}`);
  }
  return n;
}

export function formatSize(n: number): string {
  return bytes.format(n, { unitSeparator: ' ', decimalPlaces: 1 }) ?? String(n);
}
