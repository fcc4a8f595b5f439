import { StdchkError, toErrno } from '../errors/index.ts';

/** Linux errno values as fuse-native expects them (negative). */
export const Errno = {
  EPERM: -1,
  ENOENT: -2,
  EIO: -5,
  EBADF: -9,
  EACCES: -13,
  EEXIST: -17,
  EXDEV: -18,
  ENOTDIR: -20,
  EISDIR: -21,
  EINVAL: -22,
  EFBIG: -27,
  ENOSPC: -28,
  EROFS: -30,
  EMLINK: -31,
  ENAMETOOLONG: -36,
  ENOSYS: -38,
  ENOTEMPTY: -39,
  ENODATA: -61,
  EOPNOTSUPP: -95,
} as const;

/**
 * A file-system error that has no StdchkError code (EBADF, EOPNOTSUPP, ...).
 * Everything else the VFS throws is a StdchkError, mapped by toErrno.
 */
export class FsError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'FsError';
  }
}

/** The negative errno for anything the VFS throws; storage failures become EIO. */
export function errnoOf(e: unknown): number {
  if (e instanceof FsError) return e.errno;
  if (e instanceof StdchkError) return toErrno(e);
  return Errno.EIO;
}

export const badHandle = (fh: number) => new FsError(Errno.EBADF, `no open file handle ${fh}`);
