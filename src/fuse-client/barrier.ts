import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * The folder barrier of a stdchk mount, for programs (the worker calls it
 * before writing a checkpoint's marker): fsync(2) of the directory. On a
 * stdchk mount it resolves once everything written at or beneath `dir`
 * through this host's mount is committed on its replicas, and rejects with
 * an error whose `code` is 'EIO' if anything there could not be (the
 * mount's log names the files). On another file system it is an ordinary
 * directory fsync.
 *
 * Asynchronous (a libuv thread waits in the kernel), so it is safe from any
 * process; never call fsync on the mount synchronously from the process
 * serving that mount, which would deadlock.
 */
export async function syncFolder(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'EIO'
        ? 'something written beneath it could not be committed (see the mount log)'
        : err.message;
    throw Object.assign(new Error(`${dir}: not durable: ${why}`, { cause: e }), {
      code: err.code,
      errno: err.errno,
      syscall: err.syscall,
      path: dir,
    });
  } finally {
    await fh.close();
  }
}
