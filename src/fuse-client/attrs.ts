import type { FileInfo__Output } from '../generated/stdchk/v1/FileInfo.ts';

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/** Preferred I/O size reported to applications (matches the kernel's max_write). */
export const BLOCK_SIZE = 128 * 1024;

/** What getattr returns; the shape fuse-native's stat conversion reads (times in ms). */
export interface Stat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
}

export function typeBits(info: FileInfo__Output): number {
  switch (info.type) {
    case 'DIRECTORY':
      return S_IFDIR;
    case 'SYMLINK':
      return S_IFLNK;
    case 'FIFO':
      return S_IFIFO;
    case 'SOCKET':
      return S_IFSOCK;
    case 'CHAR_DEVICE':
      return S_IFCHR;
    case 'BLOCK_DEVICE':
      return S_IFBLK;
    default:
      return S_IFREG;
  }
}

export function toStat(info: FileInfo__Output, sizeOverride?: number): Stat {
  const size = info.type === 'SYMLINK' ? Buffer.byteLength(info.target) : (sizeOverride ?? info.size);
  return {
    mode: typeBits(info) | (info.mode & 0o7777),
    uid: info.uid,
    gid: info.gid,
    size,
    nlink: info.nlink || (info.type === 'DIRECTORY' ? 2 : 1),
    // Only the low 32 bits travel through fuse-native; libfuse numbers inodes itself anyway.
    ino: info.inode % 0x1_0000_0000,
    rdev: info.rdev ?? 0,
    blksize: BLOCK_SIZE,
    blocks: Math.ceil(size / 512),
    atime: info.atimeMs,
    mtime: info.mtimeMs,
    ctime: info.ctimeMs,
  };
}

interface Entry {
  info: FileInfo__Output;
  expiresAt: number;
}

/**
 * A short-lived cache of the manager's FileInfo by path, so the kernel's
 * frequent getattr calls do not each cost an RPC. Entries expire after
 * `ttlMs`; this mount's own changes replace or drop them at once. Paths that
 * do not exist are not cached, so a file created through another mount is
 * seen as soon as the kernel asks.
 */
export class AttrCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  get(path: string): FileInfo__Output | undefined {
    const e = this.entries.get(path);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.entries.delete(path);
      return undefined;
    }
    return e.info;
  }

  set(info: FileInfo__Output, path = info.path): void {
    if (this.ttlMs <= 0) return;
    // A file with several names changes under each of them: not cached, so every name shows the change.
    if (info.type !== 'DIRECTORY' && info.nlink > 1) {
      this.entries.delete(path);
      return;
    }
    if (this.entries.size >= this.maxEntries) this.sweep();
    this.entries.delete(path); // keep insertion order roughly by recency
    this.entries.set(path, { info, expiresAt: Date.now() + this.ttlMs });
  }

  delete(path: string): void {
    this.entries.delete(path);
  }

  /** Drops `path` and everything under it (rename or removal of a directory). */
  deleteTree(path: string): void {
    this.entries.delete(path);
    const prefix = path === '/' ? '/' : path + '/';
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  clear(): void {
    this.entries.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    // Still full: drop the oldest half.
    if (this.entries.size >= this.maxEntries) {
      let n = this.entries.size / 2;
      for (const k of this.entries.keys()) {
        if (n-- <= 0) break;
        this.entries.delete(k);
      }
    }
  }
}
