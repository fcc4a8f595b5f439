import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { StdchkError } from '../errors/index.ts';
import { PRIVATE_FILE_MODE, currentUmask } from './private-files.ts';

/** A local file being written by `stdchk get`: write to `fh`, then finish() (or abort() on failure). */
export interface LocalOutput {
  fh: FileHandle;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const IN_PLACE = constants.O_WRONLY | constants.O_TRUNC;

/**
 * Creates a temporary file beside `target` (same folder, so a rename can
 * replace the target atomically): an unguessable name, O_CREAT|O_EXCL|
 * O_NOFOLLOW and mode 0600, so nothing planted in a shared folder (a
 * symlink, another user's file) is ever opened or followed.
 */
export async function createTempBeside(target: string): Promise<{ file: string; fh: FileHandle }> {
  for (let attempt = 0; ; attempt++) {
    const file = `${target}.stdchk-${randomBytes(8).toString('hex')}.tmp`;
    try {
      return { file, fh: await open(file, EXCLUSIVE, PRIVATE_FILE_MODE) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw e;
    }
  }
}

/**
 * Opens `local` for `stdchk get`:
 *
 * - a regular file, a missing name or a symlink to a regular file (or to
 *   nothing): the content goes to a fresh private temporary file that is
 *   renamed over `local` once complete. A symlink there is replaced, never
 *   written through. The result keeps the mode of the file it replaces, or
 *   gets 0666 minus the umask, as a plain `open()` would;
 * - a device or FIFO (/dev/null, a named pipe): written in place, without
 *   following a symlink planted in its stead (O_NOFOLLOW);
 * - a symlink to a device or FIFO (/dev/stdout): written through only if the
 *   link belongs to this user or root, so a link another user planted in a
 *   shared folder cannot aim root's `get` at a disk or a terminal.
 */
export async function openLocalOutput(local: string): Promise<LocalOutput> {
  const link = await lstat(local).catch(() => undefined);
  const target = link?.isSymbolicLink() ? await stat(local).catch(() => undefined) : link;
  const special = target !== undefined && !target.isFile() && !target.isDirectory();
  if (target?.isDirectory()) throw new StdchkError('INVALID_ARGUMENT', 'it is a directory');
  if (special) {
    const uid = process.getuid?.() ?? 0;
    if (link?.isSymbolicLink() && link.uid !== uid && link.uid !== 0) {
      throw new StdchkError(
        'INVALID_ARGUMENT',
        `it is a symlink of uid ${link.uid} to a device or FIFO, not written through (remove it, or name its target)`,
      );
    }
    const fh = await open(local, link?.isSymbolicLink() ? IN_PLACE : IN_PLACE | constants.O_NOFOLLOW);
    const close = () => fh.close().catch(() => undefined);
    return { fh, finish: () => fh.close(), abort: close };
  }
  const finalMode = link?.isFile() ? link.mode & 0o777 : 0o666 & ~currentUmask();
  const tmp = await createTempBeside(local);
  return {
    fh: tmp.fh,
    async finish() {
      await tmp.fh.chmod(finalMode);
      await tmp.fh.close();
      await rename(tmp.file, local);
    },
    async abort() {
      await tmp.fh.close().catch(() => undefined);
      await unlink(tmp.file).catch(() => undefined);
    },
  };
}
