import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import Fuse from 'fuse-native';
import type { FuseOps, FuseOpts } from 'fuse-native';
import type { Logger } from '../logging/index.ts';
import { StdchkError, errorMessage } from '../errors/index.ts';
import { Errno, errnoOf } from './errors.ts';
import { O_RDWR, type Vfs } from './vfs.ts';
import { isMountProcess } from './chunk-cache.ts';

const execFileP = promisify(execFile);

export interface FuseMountOptions {
  mountpoint: string;
  logger: Logger;
  /** Let other users see the mount (default: when running as root). Enables default_permissions. */
  allowOther?: boolean;
  /** Kernel entry cache in seconds (default 0.5; the VFS adds its own ~0.5 s). Attributes: not cached. */
  kernelCacheSeconds?: number;
  debug?: boolean;
  /** Told of every operation (src/metrics/mount.ts). */
  observe?: FuseObserver | undefined;
}

/** What the binding reports per operation: its name, duration and errno (0: success), and bytes moved. */
export interface FuseObserver {
  op(op: string, seconds: number, errno: number): void;
  read(bytes: number): void;
  write(bytes: number): void;
}

/**
 * Mount options. fuse-native has no switch for big_writes/max_write (without
 * them the kernel sends 4 KiB writes: ~75 MB/s instead of ~940 MB/s), so they
 * are added here through a subclass.
 */
export function fuseOptions(opts: {
  allowOther: boolean;
  kernelCacheSeconds: number;
  debug?: boolean;
}): string[] {
  const t = String(opts.kernelCacheSeconds);
  return [
    'big_writes',
    'max_write=131072',
    'max_readahead=1048576',
    // open(O_TRUNC) arrives as one open instead of a truncate then an open.
    'atomic_o_trunc',
    `fsname=stdchk:${process.pid}`,
    'subtype=stdchk',
    `entry_timeout=${t}`,
    // Attributes are never cached by the kernel (the VFS caches them): with a cached
    // size, a read of a newer, larger version opened meanwhile stopped at the old
    // size (a truncated file). Every stat is a round trip into the VFS, not an RPC.
    'attr_timeout=0',
    'negative_timeout=0',
    // stat shows the manager's inode numbers, so the names of a hard link share one (libfuse's
    // own numbers differ per name).
    'use_ino',
    ...(opts.allowOther ? ['allow_other', 'default_permissions'] : []),
    ...(opts.debug ? ['debug'] : []),
  ];
}

type Signal = (err: number, ...rest: unknown[]) => void;

class StdchkFuse extends Fuse {
  constructor(
    mnt: string,
    ops: FuseOps,
    opts: FuseOpts,
    private readonly options: string[],
  ) {
    super(mnt, ops, opts);
  }

  protected override _fuseOptions(): string {
    return '-o' + this.options.join(',');
  }

  // fuse-native routes fstat to getattr(path); route it to fgetattr(path, fd)
  // so a file being written (or already unlinked) reports its handle's size.
  _op_fgetattr(signal: Signal, path: string, fd: number): void {
    const ops = this.ops;
    if (!ops.fgetattr) return void signal(Errno.ENOSYS);
    ops.fgetattr(path, fd, (err, stat) => {
      if (err) return signal(err);
      return signal(0, statArray(stat as Record<string, number>));
    });
  }

  // fuse-native unmounts with `fusermount -uz`, which Debian's fuse3 lacks.
  protected override _close(cb: (err: Error | null) => void): void {
    lazyUnmount(this.mnt).then(
      () => cb(null),
      (e: unknown) => cb(e as Error),
    );
  }
}

/** fuse-native's stat layout (18 uint32), for the fgetattr override above. */
function statArray(st: Record<string, number>): Uint32Array {
  const ints = new Uint32Array(18);
  const setDouble = (i: number, n: number) => {
    ints[i] = n % 4294967296;
    ints[i + 1] = Math.floor(n / 4294967296);
  };
  ints[0] = st.mode ?? 0;
  ints[1] = st.uid ?? 0;
  ints[2] = st.gid ?? 0;
  setDouble(3, st.size ?? 0);
  ints[5] = 0;
  ints[6] = st.nlink ?? 1;
  ints[7] = st.ino ?? 0;
  ints[8] = st.rdev ?? 0;
  ints[9] = st.blksize ?? 0;
  setDouble(10, st.blocks ?? 0);
  setDouble(12, st.atime ?? Date.now());
  setDouble(14, st.mtime ?? Date.now());
  setDouble(16, st.ctime ?? Date.now());
  return ints;
}

/** Builds fuse-native's operation table: convert, call the VFS, map the error. */
export function fuseOps(vfs: Vfs, logger: Logger, observe?: FuseObserver): FuseOps {
  const fail = (op: string, p: string, e: unknown): number => {
    const errno = errnoOf(e);
    if (errno === Errno.EIO) logger.warn({ op, path: p, err: errorMessage(e) }, 'operation failed');
    else logger.debug({ op, path: p, errno, err: errorMessage(e) }, 'operation refused');
    return errno;
  };
  /** Runs fn; calls done with its value, or cb with the mapped errno. */
  const timed = logger.isLevelEnabled('trace');
  const call = <T>(
    op: string,
    p: string,
    fn: () => Promise<T>,
    done: (v: T) => void,
    cb: (errno: number) => void,
  ) => {
    let pending: Promise<T>;
    const started = timed || observe ? performance.now() : 0;
    const seen = (errno: number) => observe?.op(op, (performance.now() - started) / 1000, errno);
    try {
      pending = fn();
    } catch (e) {
      const errno = fail(op, p, e);
      seen(errno);
      cb(errno);
      return;
    }
    if (timed) {
      pending = pending.finally(() => logger.trace({ op, path: p, ms: performance.now() - started }, 'op'));
    }
    pending.then(
      (v) => {
        seen(0);
        done(v);
      },
      (e: unknown) => {
        const errno = fail(op, p, e);
        seen(errno);
        cb(errno);
      },
    );
  };
  const ok = (cb: (err: number) => void) => () => cb(0);

  return {
    init: (cb) => cb(0),
    statfs: (p, cb) =>
      call(
        'statfs',
        p,
        () => vfs.statfs(),
        (s) => cb(0, s),
        cb,
      ),
    getattr: (p, cb) =>
      call(
        'getattr',
        p,
        () => vfs.getattr(p),
        (s) => cb(0, s),
        cb,
      ),
    fgetattr: (p, fd, cb) =>
      call(
        'fgetattr',
        p,
        () => vfs.fgetattr(p, fd),
        (s) => cb(0, s),
        cb,
      ),
    readdir: (p, cb) =>
      call(
        'readdir',
        p,
        () => vfs.readdir(p),
        (r) => cb(0, r.names, r.stats),
        cb,
      ),
    mkdir: (p, mode, cb, caller) => call('mkdir', p, () => vfs.mkdir(p, mode, caller), ok(cb), cb),
    rmdir: (p, cb) => call('rmdir', p, () => vfs.rmdir(p), ok(cb), cb),
    unlink: (p, cb) => call('unlink', p, () => vfs.unlink(p), ok(cb), cb),
    rename: (from, to, cb) => call('rename', from, () => vfs.rename(from, to), ok(cb), cb),
    symlink: (target, p, cb, caller) => call('symlink', p, () => vfs.symlink(target, p, caller), ok(cb), cb),
    mknod: (p, mode, dev, cb, caller) => call('mknod', p, () => vfs.mknod(p, mode, dev, caller), ok(cb), cb),
    readlink: (p, cb) =>
      call(
        'readlink',
        p,
        () => vfs.readlink(p),
        (t) => cb(0, t),
        cb,
      ),
    link: (from, to, cb) => call('link', to, () => vfs.link(from, to), ok(cb), cb),
    chmod: (p, mode, cb) => call('chmod', p, () => vfs.chmod(p, mode), ok(cb), cb),
    chown: (p, uid, gid, cb) => call('chown', p, () => vfs.chown(p, uid, gid), ok(cb), cb),
    utimens: (p, atime, mtime, cb) => call('utimens', p, () => vfs.utimens(p, atime, mtime), ok(cb), cb),
    truncate: (p, size, cb) => call('truncate', p, () => vfs.truncate(p, size), ok(cb), cb),
    ftruncate: (p, fd, size, cb) => call('ftruncate', p, () => vfs.ftruncate(fd, size), ok(cb), cb),
    create: (p, mode, cb, caller) =>
      call(
        'create',
        p,
        () => vfs.create(p, mode, O_RDWR, caller),
        (fd) => cb(0, fd),
        cb,
      ),
    open: (p, flags, cb) =>
      call(
        'open',
        p,
        () => vfs.open(p, flags),
        (fd) => cb(0, fd),
        cb,
      ),
    read: (p, fd, buf, len, pos, cb) =>
      call(
        'read',
        p,
        () => vfs.read(fd, pos, len),
        (data) => {
          observe?.read(Math.min(len, data.length));
          cb(data.copy(buf, 0, 0, Math.min(len, data.length)));
        },
        cb,
      ),
    // The VFS is done with `buf` when its promise settles: only then is the kernel answered.
    write: (p, fd, buf, len, pos, cb) =>
      call(
        'write',
        p,
        () => vfs.write(fd, len === buf.length ? buf : buf.subarray(0, len), pos),
        (n) => {
          observe?.write(n);
          cb(n);
        },
        cb,
      ),
    flush: (p, fd, cb) => call('flush', p, () => vfs.flush(fd), ok(cb), cb),
    fsync: (p, _datasync, fd, cb) => call('fsync', p, () => vfs.fsync(fd), ok(cb), cb),
    // The folder barrier: fsync(2) of a directory fd (`sync DIR`, os.fsync) waits for the subtree's commits.
    fsyncdir: (p, _datasync, _fd, cb) => call('fsyncdir', p, () => vfs.fsyncdir(p), ok(cb), cb),
    release: (p, fd, cb) => call('release', p, () => vfs.release(fd), ok(cb), cb),
  };
}

/** Per-operation timeouts: none for operations that wait on data (they end on their own). */
const TIMEOUTS: Record<string, number | false> = {
  default: 120_000,
  read: false,
  write: false,
  flush: false,
  fsync: false,
  fsyncdir: false,
  release: false,
  create: false,
  open: false,
  truncate: false,
  ftruncate: false,
  link: false,
};

/** A live FUSE mount of a Vfs. */
export class FuseMount {
  private constructor(
    readonly mountpoint: string,
    private readonly fuse: StdchkFuse,
    private readonly logger: Logger,
  ) {}

  static async mount(vfs: Vfs, opts: FuseMountOptions): Promise<FuseMount> {
    const mountpoint = path.resolve(opts.mountpoint);
    await clearStaleMount(mountpoint, opts.logger);
    const options = fuseOptions({
      allowOther: opts.allowOther ?? process.getuid?.() === 0,
      kernelCacheSeconds: opts.kernelCacheSeconds ?? 0.5,
      ...(opts.debug ? { debug: true } : {}),
    });
    const fuse = new StdchkFuse(
      mountpoint,
      fuseOps(vfs, opts.logger, opts.observe),
      { mkdir: true, timeout: TIMEOUTS },
      options,
    );
    await new Promise<void>((resolve, reject) =>
      fuse.mount((err) => {
        if (err) reject(new StdchkError('UNAVAILABLE', `cannot mount at ${mountpoint}: ${err.message}`));
        else resolve();
      }),
    );
    opts.logger.info({ mountpoint, options }, 'mounted');
    return new FuseMount(mountpoint, fuse, opts.logger);
  }

  /** Detaches the mount (lazily: files still open keep working until closed). */
  async unmount(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.fuse.unmount((err) => (err ? reject(err) : resolve())));
    this.logger.info({ mountpoint: this.mountpoint }, 'unmounted');
  }
}

export interface MountEntry {
  mountpoint: string;
  fstype: string;
  source: string;
}

/** Mounts of this mount namespace, from /proc/self/mountinfo. */
export async function listMounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0 || fields.length < dash + 3) continue;
    out.push({
      mountpoint: unescape(fields[4] ?? ''),
      fstype: fields[dash + 1] ?? '',
      source: unescape(fields[dash + 2] ?? ''),
    });
  }
  return out;
}

export async function isMounted(mountpoint: string): Promise<MountEntry | undefined> {
  const mp = path.resolve(mountpoint);
  return (await listMounts()).filter((m) => m.mountpoint === mp).pop();
}

export async function lazyUnmount(mountpoint: string): Promise<void> {
  try {
    await execFileP('umount', ['-l', mountpoint]);
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? errorMessage(e);
    throw new StdchkError('UNAVAILABLE', `umount -l ${mountpoint} failed: ${stderr.trim()}`);
  }
}

/**
 * Clears a mount left at `mountpoint` by a stdchk mount process that died
 * (kill -9 leaves "Transport endpoint is not connected"). Refuses to touch a
 * mount of a live stdchk process or anything that is not a stdchk mount.
 */
export async function clearStaleMount(mountpoint: string, logger: Logger): Promise<void> {
  for (let i = 0; i < 8; i++) {
    const m = await isMounted(mountpoint);
    if (!m) return;
    const owner = /^stdchk:(\d+)$/.exec(m.source);
    if (!m.fstype.startsWith('fuse') || !owner) {
      throw new StdchkError(
        'INVALID_ARGUMENT',
        `${mountpoint} already has a ${m.fstype} mount of ${m.source}; not touching it`,
      );
    }
    const pid = Number(owner[1]);
    if (pid !== process.pid && isMountProcess(pid)) {
      throw new StdchkError(
        'INVALID_ARGUMENT',
        `${mountpoint} is mounted by a running stdchk mount (pid ${pid})`,
      );
    }
    logger.warn({ mountpoint, pid }, 'clearing a stale mount left by a dead stdchk mount');
    await lazyUnmount(mountpoint);
  }
}
