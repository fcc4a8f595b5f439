import { HASH_BYTES } from '../hashing/index.ts';
import { invalid, wellFormed } from '../errors/index.ts';

/**
 * Field validation shared by every service (manager, benefactor, scheduler):
 * each helper takes a value straight off the wire, returns it typed when it
 * is acceptable, and otherwise throws INVALID_ARGUMENT naming the field and
 * showing (a bounded quote of) the value. Paths have their own rules in
 * config/paths.ts (normalizePath), shared with the client. docs/bad-input.md
 * lists what is checked where.
 */

/** Chunk references or hashes in one batched request (lookups, reports, reads). */
export const MAX_BATCH_REFS = 65_536;
/** Free text a peer reports (error messages): kept, but cut to this many characters. */
export const MAX_TEXT_CHARS = 4_096;

/** A value quoted for an error message or log line, cut to about `max` characters. */
export function show(value: unknown, max = 80): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    s = Object.prototype.toString.call(value);
  }
  if (s === undefined) s = String(value);
  return wellFormed(s.length > max ? `${s.slice(0, max - 3)}... (${s.length} characters)` : s);
}

/** An unsigned integer field (uint32/uint64 arrive as Number; above 2^53 they are imprecise). */
export function uint(value: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw invalid(`${what} must be an integer from 0 to ${max}, not ${show(value)}`);
  }
  return value;
}

/** An integer field in [min, max]. */
export function int(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`${what} must be an integer from ${min} to ${max}, not ${show(value)}`);
  }
  return value;
}

/** A floating-point field: finite and in [min, max] (NaN and infinities are refused). */
export function finite(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(`${what} must be a number from ${min} to ${max}, not ${show(value)}`);
  }
  return value;
}

/** A Unix socket path: absolute, printable ASCII, at most 107 bytes (the kernel's limit). */
export function socketPath(value: unknown, what = 'socket path'): string {
  return matching(value, what, /^\/[!-~]{1,106}$/, 'an absolute path of at most 107 printable characters');
}

/** A machine's id (a kernel boot id, or a host name where there is none). */
export function hostId(value: unknown, what = 'host id'): string {
  return matching(
    value,
    what,
    /^[A-Za-z0-9._-]{1,64}$/,
    'at most 64 letters, digits, dots, dashes or underscores',
  );
}

/** A string matching `re`; `rule` says in words what it must be. */
export function matching(value: unknown, what: string, re: RegExp, rule: string): string {
  if (typeof value !== 'string' || !re.test(value))
    throw invalid(`${what} must be ${rule}, not ${show(value)}`);
  return value;
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(value: unknown, what: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(`${what} must be one of ${allowed.join(', ')}, not ${show(value)}`);
  }
  return value as T;
}

/** A repeated field with at most `max` entries. */
export function bounded<T>(list: readonly T[], what: string, max: number): readonly T[] {
  if (!Array.isArray(list) || list.length > max) {
    throw invalid(`${what}: at most ${max} entries, not ${Array.isArray(list) ? list.length : show(list)}`);
  }
  return list;
}

/** Free text (an error a peer reports): any string, NULs dropped, cut to `max` characters. */
export function clipText(value: unknown, max = MAX_TEXT_CHARS): string {
  const s = typeof value === 'string' ? value.replaceAll('\0', '') : '';
  return s.length > max ? `${s.slice(0, max)}... (cut)` : s;
}

/** Packed 32-byte hashes, at most `maxCount`; returns the count. */
export function packedHashes(packed: Uint8Array, what: string, maxCount = MAX_BATCH_REFS): number {
  if (packed.length % HASH_BYTES !== 0) {
    throw invalid(`${what}: length ${packed.length} is not a multiple of ${HASH_BYTES}`);
  }
  const n = packed.length / HASH_BYTES;
  if (n > maxCount) throw invalid(`${what}: ${n} hashes, at most ${maxCount} allowed`);
  return n;
}

// ---- identifiers and addresses (one rule each, wherever they appear)

/** Benefactor ids (the benefactor makes a UUID), lease ids and other generated ids. */
export const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Worker ids: given by the operator (default: the host name), so dots are allowed. */
export const WORKER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A process incarnation (the worker makes a UUID at each start). */
export const INCARNATION_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const HOST_RE = /^[A-Za-z0-9._:[\]-]{1,253}$/;
const ADDRESS_RE = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]):(\d{1,5})$/;

export function id(value: unknown, what: string): string {
  return matching(value, what, ID_RE, '1-64 characters of [A-Za-z0-9_-]');
}

export function workerId(value: unknown, what = 'worker id'): string {
  return matching(
    value,
    what,
    WORKER_ID_RE,
    '1-64 letters, digits, "_", "." or "-" (starting with a letter or digit)',
  );
}

export function incarnation(value: unknown, what = 'worker incarnation'): string {
  return matching(value, what, INCARNATION_RE, '1-128 characters of [A-Za-z0-9_.:-]');
}

export function host(value: unknown, what = 'host'): string {
  return matching(value, what, HOST_RE, 'a host name or address');
}

export function address(value: unknown, what = 'address'): string {
  const m = typeof value === 'string' ? ADDRESS_RE.exec(value) : null;
  const port = m ? Number(m[1]) : 0;
  if (!m || port < 1 || port > 65_535) {
    throw invalid(`${what} must be HOST:PORT with a port from 1 to 65535, not ${show(value)}`);
  }
  return value as string;
}
