import { StdchkError, invalid } from '../errors/index.ts';

export const MAX_PATH_BYTES = 4096;
export const MAX_NAME_BYTES = 255;

const tooLong = (message: string) => new StdchkError('NAME_TOO_LONG', message, { retryable: false });

/**
 * Validates and normalises a namespace path: absolute, no NUL, no "." or ".."
 * components, bounded lengths (NAME_TOO_LONG, ENAMETOOLONG at the mount, as
 * on Linux: a name over 255 bytes, a path over 4096). "/a//b/" becomes "/a/b".
 */
export function normalizePath(p: unknown, what = 'path'): string {
  if (typeof p !== 'string' || p.length === 0) throw invalid(`${what}: empty path`);
  if (p.includes('\0')) throw invalid(`${what}: contains NUL`);
  if (Buffer.byteLength(p) > MAX_PATH_BYTES) throw tooLong(`${what}: longer than ${MAX_PATH_BYTES} bytes`);
  if (!p.startsWith('/')) throw invalid(`${what}: must be absolute: ${p}`);
  const parts = p.split('/').filter((s) => s.length > 0);
  for (const part of parts) {
    if (part === '.' || part === '..') throw invalid(`${what}: "." and ".." are not allowed: ${p}`);
    if (Buffer.byteLength(part) > MAX_NAME_BYTES)
      throw tooLong(`${what}: name longer than ${MAX_NAME_BYTES} bytes`);
  }
  return '/' + parts.join('/');
}

export function splitPath(p: string): { parent: string; name: string } {
  const i = p.lastIndexOf('/');
  return { parent: i <= 0 ? '/' : p.slice(0, i), name: p.slice(i + 1) };
}
