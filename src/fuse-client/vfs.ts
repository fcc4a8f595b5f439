import type { StorageClient } from '../client/storage-client.ts';
import { DEFAULT_REPLICAS } from '../client/writer.ts';
import { ChunkerPool } from '../client/chunker-pool.ts';
import type { WriteOptions } from '../client/writer.ts';
import { normalizePath, splitPath } from '../config/paths.ts';
import { StdchkError, isStdchkError, errorMessage } from '../errors/index.ts';
import { unary } from '../rpc/index.ts';
import type { Logger } from '../logging/index.ts';
import { silentLogger } from '../logging/index.ts';
import type { FileInfo__Output } from '../generated/stdchk/v1/FileInfo.ts';
import type { ChunkerParams } from '../chunking/params.ts';
import { DEFAULT_CHUNKER_PARAMS } from '../chunking/params.ts';
import { ChunkStream } from '../chunking/chunker.ts';
import {
  AttrCache,
  BLOCK_SIZE,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  toStat,
} from './attrs.ts';
import type { Stat } from './attrs.ts';
import { DiskChunkCache, MemoryChunkCache, chunkKey } from './chunk-cache.ts';
import { ChunkSource } from './chunk-source.ts';
import { LeaseKeeper, PinnedVersion } from './pinned-version.ts';
import { OpenFile } from './handle.ts';
import type { HandleContext } from './handle.ts';
import { prepareScratchDir } from './scratch.ts';
import { WriteRegistry } from './write-registry.ts';
import { InodePool } from './inode-pool.ts';
import { Errno, FsError, badHandle } from './errors.ts';
import { Staging, unlockStaging } from './staging.ts';
import type { StagedEntry } from './staging.ts';
import { SpaceReserver } from './space-reserver.ts';
import { Uploader } from './uploader.ts';
import type { UploadStats } from './uploader.ts';
import { StagedFile } from './staged-handle.ts';
import type { StagedContext } from './staged-handle.ts';

export { FsError, Errno };
export type { Stat };

/** open(2) flags the VFS looks at (Linux values). */
export const O_ACCMODE = 0o3;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;

export interface VfsOptions {
  /** Replicas every chunk reaches before close()/fsync() return (default 2). */
  replicas?: number;
  /** Replicas durable before close()/fsync() return (default all); the manager makes the rest. */
  syncReplicas?: number;
  /** How long FileInfo from the manager is reused (default 500 ms). */
  attrCacheMs?: number;
  /** Folder for scratch files of non-sequential writes (a per-process subfolder is made). */
  scratchDir: string;
  /** On-disk chunk cache; absent: memory only. */
  cacheDir?: string;
  cacheBytes?: number;
  /** Chunks kept in memory (read-ahead lands here). Default 64 MiB. */
  memoryCacheBytes?: number;
  /** Most bytes read ahead of a sequential reader. Default 16 MiB. */
  readAheadBytes?: number;
  /** Gathering buffer for sequential writes. Default 4 MiB. */
  streamBufferBytes?: number;
  chunker?: ChunkerParams;
  /**
   * Write-back (docs/mount.md): close() returns once the new content is in
   * this local staging folder; uploads and commits follow behind. Absent:
   * every close() is a synchronous replicated commit.
   */
  writeBack?: WriteBackOptions;
  /** Owner of new files and directories when the FUSE binding does not say who called (the unpatched prebuild). */
  uid?: number;
  gid?: number;
  logger?: Logger;
}

export interface WriteBackOptions {
  /** The staging folder (journal and data files); a mount restarted on it uploads what it holds. */
  dir: string;
  /** Most bytes of staged data; beyond it writers wait for uploads. */
  capacityBytes: number;
  /** At unmount, how long to wait for the journal to be uploaded before leaving the rest for the next start (default 15 s). */
  drainMs?: number;
  /**
   * Bytes the mount accepts without a reservation when the cluster refuses
   * one (data that may deduplicate; settled at close). Default 256 MiB.
   */
  unreservedLimitBytes?: number;
}

/** An open file: synchronous commits (OpenFile) or write-back (StagedFile). */
type Handle = OpenFile | StagedFile;

/** Extended attribute of a folder: what the commits beneath it uploaded (write-back), as JSON. */
export const UPLOADED_XATTR = 'user.stdchk.uploaded';

/** Who owns a new file, directory or symlink. */
export interface Owner {
  uid: number;
  gid: number;
}

export interface StatFs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

const UINT32_MAX = 0xffff_ffff;
/**
 * utimensat's UTIME_NOW and UTIME_OMIT as stdchk's fuse-native build passes
 * them (patches/fuse-native+2.2.6.patch); the unpatched build passes both
 * as ~1073 ms (tv_sec 0, nsec ~2^30), which is taken as "now".
 */
export const UTIME_NOW = -1;
export const UTIME_OMIT = -2;
const UTIME_SPECIAL_MS = 1073;
const STATUS_CACHE_MS = 2000;
const S_ISGID = 0o2000;

/** The file type bits of mknod(2)'s mode, as the manager names them. */
const MKNOD_TYPES: Record<number, 'FIFO' | 'SOCKET' | 'CHAR_DEVICE' | 'BLOCK_DEVICE'> = {
  [S_IFIFO]: 'FIFO',
  [S_IFSOCK]: 'SOCKET',
  [S_IFCHR]: 'CHAR_DEVICE',
  [S_IFBLK]: 'BLOCK_DEVICE',
};

/** See Vfs.touchParent. */
function touchParent(attrs: AttrCache, path: string, ms: number, nlinkDelta = 0): void {
  const parent = splitPath(path).parent;
  const cached = attrs.get(parent);
  if (!cached) return;
  attrs.set(
    {
      ...cached,
      mtimeMs: Math.max(cached.mtimeMs, ms),
      ctimeMs: Math.max(cached.ctimeMs, ms),
      nlink: cached.nlink + nlinkDelta,
    },
    parent,
  );
}

/**
 * The mount's file-system layer over StorageClient, independent of FUSE so
 * tests drive it directly. Paths are absolute ("/a/b"); every method throws
 * StdchkError or FsError, which the binding maps to a negative errno.
 *
 * Consistency: the manager is the single source of truth. Attributes are
 * cached for `attrCacheMs`; open() always asks the manager and pins the
 * newest version (close-to-open consistency); a handle reads the version it
 * opened until it is closed. Each flush/fsync/release after writes commits a
 * new version (last commit wins).
 */
export class Vfs {
  private readonly handles = new Map<number, Handle>();
  private nextHandle = 1;
  /** Numbers for files created here when none could be reserved (counting down from 2^32-1). */
  private nextPendingIno = 0;
  private readonly inodes: InodePool;
  private readonly leases: LeaseKeeper;
  private readonly logger: Logger;
  private readonly replicas: number;
  private statusCache: { at: number; value: StatFs } | undefined;
  private closed = false;

  private constructor(
    readonly client: StorageClient,
    private readonly opts: VfsOptions,
    private readonly ctx: HandleContext,
    private readonly attrs: AttrCache,
    readonly disk: DiskChunkCache | undefined,
    readonly source: ChunkSource,
    private readonly chunkerPool: ChunkerPool,
    /** Write-back: the staging journal, its uploader and the handles' context. */
    private readonly wb: StagedContext | undefined,
  ) {
    this.leases = new LeaseKeeper(client);
    this.logger = opts.logger ?? silentLogger;
    this.inodes = new InodePool(client, this.logger);
    this.replicas = opts.replicas ?? DEFAULT_REPLICAS;
  }

  static async create(client: StorageClient, opts: VfsOptions): Promise<Vfs> {
    const logger = opts.logger ?? silentLogger;
    const replicas = opts.replicas ?? DEFAULT_REPLICAS;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 16) {
      throw new StdchkError('INVALID_ARGUMENT', `replicas must be an integer from 1 to 16, not ${replicas}`);
    }
    const disk = opts.cacheDir
      ? await DiskChunkCache.open(opts.cacheDir, opts.cacheBytes ?? 2 * 1024 ** 3, logger, (h, d) =>
          client.chunks.matches(h, d),
        )
      : undefined;
    const source = new ChunkSource(client, new MemoryChunkCache(opts.memoryCacheBytes ?? 64 << 20), disk);
    const scratchDir = await prepareScratchDir(opts.scratchDir);
    // Chunker threads are shared by every file written (tar writes thousands).
    const chunkerPool = new ChunkerPool(4);
    await chunkerPool.release(await chunkerPool.acquire(opts.chunker), false);
    const writeOptions: WriteOptions = {
      replicas,
      ...(opts.syncReplicas !== undefined ? { syncReplicas: opts.syncReplicas } : {}),
      chunkerPool,
      ...(opts.chunker ? { chunker: opts.chunker } : {}),
      ...(disk ? { onChunk: (hash: Buffer, data: Buffer) => disk.put(hash, data) } : {}),
      // A chunk lost before the commit is uploaded again from the local caches if they still hold it.
      recover: async (c) => source.memory.get(chunkKey(c.hash)) ?? (await disk?.get(c.hash)),
    };
    const attrs = new AttrCache(opts.attrCacheMs ?? 500);
    const staging = opts.writeBack
      ? await Staging.open(opts.writeBack.dir, { capacityBytes: opts.writeBack.capacityBytes, logger })
      : undefined;
    const writes = new WriteRegistry(staging ? (f) => staging.saveFailures(f) : undefined);
    if (staging) writes.restore(staging.restoredFailures);
    const ctx: HandleContext = {
      writes,
      client,
      source,
      scratchDir,
      logger,
      writeOptions,
      streamBufferBytes: opts.streamBufferBytes ?? 4 << 20,
      readAheadBytes: opts.readAheadBytes ?? 16 << 20,
      onCommit: (path, info, created) => {
        attrs.set(info, path);
        // The first commit of a new file made it at the manager: its folder changed then.
        if (created) touchParent(attrs, path, info.ctimeMs);
      },
      inlineChunker: new ChunkStream(opts.chunker ?? DEFAULT_CHUNKER_PARAMS),
    };
    let wb: StagedContext | undefined;
    const activity = { at: 0 };
    if (staging) {
      const reserver = new SpaceReserver(client, replicas, logger);
      const uploader = new Uploader({
        client,
        staging,
        writes,
        reserver,
        writeOptions,
        inlineChunker: ctx.inlineChunker,
        logger,
        onCommit: (path, info) => attrs.set(info, path),
        lastActivity: () => activity.at,
      });
      wb = {
        ...ctx,
        staging,
        uploader,
        reserver,
        unreserved: { bytes: 0, limit: opts.writeBack?.unreservedLimitBytes ?? 256 * 1024 * 1024 },
        activity,
      };
    }
    return new Vfs(client, opts, ctx, attrs, disk, source, chunkerPool, wb);
  }

  /** Write-back mode (a staging folder), else synchronous commits at close. */
  get writeBack(): boolean {
    return this.wb !== undefined;
  }

  /** The staging journal of a write-back mount. */
  get staging(): Staging | undefined {
    return this.wb?.staging;
  }

  /** What the commits at or beneath `dir` uploaded (write-back; this mount's run). */
  uploadStats(dir: string): UploadStats | undefined {
    return this.wb?.uploader.statsUnder(normalizePath(dir));
  }

  get scratchDir(): string {
    return this.ctx.scratchDir;
  }

  get openHandles(): number {
    return this.handles.size;
  }

  /** Files with writes not yet committed (open, or closed and staged), and their sizes (metrics). */
  uncommitted(): { files: number; bytes: number } {
    let files = 0;
    let bytes = 0;
    for (const h of this.handles.values()) {
      if (!h.dirty) continue;
      files++;
      bytes += h.size;
    }
    // Closed files staged and not yet committed (write-back).
    for (const e of this.wb?.staging.queue ?? []) {
      if (e.done) continue;
      files++;
      bytes += e.size;
    }
    return { files, bytes };
  }

  /** What is written and not yet durable, and what failed, by path (what the folder barrier reads). */
  get writes(): WriteRegistry {
    return this.ctx.writes;
  }

  // --- attributes -------------------------------------------------------------

  private async info(path: string): Promise<FileInfo__Output> {
    const staged = this.wb?.staging.latest(path);
    if (staged) return staged.fileInfo();
    const cached = this.attrs.get(path);
    if (cached) return cached;
    const info = await this.client.stat(path);
    this.attrs.set(info, path);
    return info;
  }

  /** The open handle (of this path, or another name of its inode) whose uncommitted size getattr should show. */
  private liveHandle(path: string, inode: number): Handle | undefined {
    let best: Handle | undefined;
    for (const h of this.handles.values()) {
      const same = h.path === path || (inode !== 0 && h.info.inode === inode);
      if (same && h.live && (!best || h.modifiedAt >= best.modifiedAt)) best = h;
    }
    return best;
  }

  private statOf(path: string, info: FileInfo__Output): Stat {
    if (info.type === 'DIRECTORY') return this.dirStat(path, info);
    const h = info.type === 'FILE' ? this.liveHandle(path, info.inode) : undefined;
    if (!h) return toStat(info);
    const st = toStat(info, h.size);
    if (h.modifiedAt) st.mtime = st.ctime = Math.max(st.mtime, h.modifiedAt);
    return st;
  }

  /**
   * A folder's stat: a file created here and not yet at the manager has
   * already changed the folder's mtime and ctime (the manager changes them
   * at its first commit).
   */
  private dirStat(path: string, info: FileInfo__Output): Stat {
    const st = toStat(info);
    const prefix = path === '/' ? '/' : path + '/';
    for (const h of this.handles.values()) {
      if (h.pendingCreate && h.path.startsWith(prefix) && !h.path.includes('/', prefix.length)) {
        st.mtime = Math.max(st.mtime, h.info.ctimeMs);
        st.ctime = Math.max(st.ctime, h.info.ctimeMs);
      }
    }
    // Files created here and staged are not at the manager yet: the folder changed when they were made.
    for (const e of this.wb?.staging.childrenOf(path).values() ?? []) {
      if (!e.created) continue;
      st.mtime = Math.max(st.mtime, e.sealedAt);
      st.ctime = Math.max(st.ctime, e.sealedAt);
    }
    return st;
  }

  /**
   * This mount changed the folder holding `path` at `ms` (the manager's
   * clock, from its reply): its cached mtime/ctime follow, and its link
   * count by `nlinkDelta`, without asking the manager again.
   */
  private touchParent(path: string, ms: number, nlinkDelta = 0): void {
    touchParent(this.attrs, path, ms, nlinkDelta);
  }

  /** The folder holding `path` changed in a way the reply does not describe: ask the manager next time. */
  private forgetParent(path: string): void {
    this.attrs.delete(splitPath(path).parent);
  }

  async getattr(path: string): Promise<Stat> {
    const p = normalizePath(path);
    const pend = this.pending(p);
    if (pend) return this.statOf(p, pend.info);
    return this.statOf(p, await this.info(p));
  }

  /** getattr through an open handle: works even after the path was removed. */
  async fgetattr(path: string, fh: number): Promise<Stat> {
    const h = this.handles.get(fh);
    if (!h) return this.getattr(path);
    if (h.pendingCreate) return this.statOf(h.path, h.info);
    try {
      const info = await this.info(h.path);
      // The size of the version this handle reads: the kernel stops reading at the size it
      // is told, and a smaller newer version's size would cut this one short.
      if (!h.live && info.type === 'FILE') return toStat(info, h.size);
      return this.statOf(h.path, info);
    } catch (e) {
      if (!isStdchkError(e, 'NOT_FOUND')) throw e;
      return toStat(h.info, h.size);
    }
  }

  async readdir(path: string): Promise<{ names: string[]; stats: Stat[] }> {
    const p = normalizePath(path);
    const [dir, entries] = await Promise.all([this.info(p), this.client.list(p)]);
    if (dir.type !== 'DIRECTORY') throw new StdchkError('NOT_A_DIRECTORY', `${p}: not a directory`);
    const dirStat = this.dirStat(p, dir);
    const names = ['.', '..'];
    const stats = [dirStat, dirStat];
    const seen = new Set<string>();
    for (const e of entries) {
      this.attrs.set(e, e.path);
      names.push(e.name);
      seen.add(e.name);
      stats.push(this.statOf(e.path, e));
    }
    const prefix = p === '/' ? '/' : p + '/';
    // Staged here and not committed yet: this mount lists them with their staged attributes.
    for (const [name, e] of this.wb?.staging.childrenOf(p) ?? []) {
      const i = names.indexOf(name);
      if (i >= 2) stats[i] = this.statOf(e.path, e.fileInfo());
      else if (!seen.has(name)) {
        seen.add(name);
        names.push(name);
        stats.push(this.statOf(e.path, e.fileInfo()));
      }
    }
    for (const h of this.handles.values()) {
      const name = h.path.slice(prefix.length);
      if (h.pendingCreate && h.path.startsWith(prefix) && !name.includes('/') && !seen.has(name)) {
        seen.add(name);
        names.push(name);
        stats.push(this.statOf(h.path, h.info));
      }
    }
    return { names, stats };
  }

  async statfs(): Promise<StatFs> {
    const c = this.statusCache;
    if (c && Date.now() - c.at < STATUS_CACHE_MS) return c.value;
    const s = await this.client.status();
    const blocks = (n: number) => Math.min(UINT32_MAX, Math.floor(n / BLOCK_SIZE));
    const files = s.files + s.directories;
    const value: StatFs = {
      bsize: BLOCK_SIZE,
      frsize: BLOCK_SIZE,
      blocks: blocks(s.capacityBytes),
      bfree: blocks(s.freeBytes),
      bavail: blocks(s.freeBytes),
      files: Math.min(UINT32_MAX, files + 1_000_000),
      ffree: 1_000_000,
      favail: 1_000_000,
      fsid: 0x5354_4443, // "STDC"
      flag: 0,
      namemax: 255,
    };
    this.statusCache = { at: Date.now(), value };
    return value;
  }

  // --- namespace --------------------------------------------------------------

  async mkdir(path: string, mode: number, owner?: Owner): Promise<void> {
    const p = normalizePath(path);
    this.refuseStaged(p);
    const info = await unary(this.client.manager, 'mkdir', {
      path: p,
      mode: mode & 0o7777,
      ...this.ownerOf(owner),
      parents: false,
    });
    this.attrs.set(info);
    this.touchParent(p, info.ctimeMs, 1);
  }

  /**
   * mknod(2): a FIFO, socket or device node (an entry only: the kernel
   * serves FIFOs and sockets itself, and opens of devices are refused on
   * this nodev mount), or an empty regular file.
   */
  async mknod(path: string, mode: number, rdev: number, owner?: Owner): Promise<void> {
    const p = normalizePath(path);
    const kind = mode & S_IFMT;
    if (kind === S_IFREG || kind === 0) {
      const info = await this.client.withRetry(() =>
        unary(this.client.manager, 'create', {
          path: p,
          mode: mode & 0o7777,
          ...this.ownerOf(owner),
          exclusive: true,
        }),
      );
      this.attrs.set(info);
      this.touchParent(p, info.ctimeMs);
      return;
    }
    const type = MKNOD_TYPES[kind];
    if (!type) throw new FsError(Errno.EINVAL, `${p}: mknod of file type 0${kind.toString(8)}`);
    const device = type === 'CHAR_DEVICE' || type === 'BLOCK_DEVICE';
    const info = await unary(this.client.manager, 'mknod', {
      path: p,
      type,
      mode: mode & 0o7777,
      ...this.ownerOf(owner),
      rdev: device ? rdev >>> 0 : 0,
    });
    this.attrs.set(info);
    this.touchParent(p, info.ctimeMs);
  }

  async rmdir(path: string): Promise<void> {
    const p = normalizePath(path);
    if (this.wb?.staging.under(p).some((e) => e.path !== p)) {
      throw new StdchkError('NOT_EMPTY', `${p}: directory not empty (files staged here)`);
    }
    await this.materialize(p); // a pending file inside makes it not empty
    try {
      await this.client.remove(p, { directory: true });
      this.ctx.writes.removed(p);
    } catch (e) {
      if (isStdchkError(e, 'NOT_FOUND')) this.ctx.writes.removed(p);
      throw e;
    } finally {
      this.attrs.deleteTree(p);
      this.forgetParent(p);
    }
  }

  async unlink(path: string): Promise<void> {
    const p = normalizePath(path);
    await this.materialize(p);
    // Staged versions of it are dropped (a commit already out is waited for).
    const cancelled = (await this.wb?.uploader.cancel(p)) ?? 0;
    try {
      await this.client.remove(p); // IS_A_DIRECTORY for a directory
      this.ctx.writes.removed(p);
    } catch (e) {
      // Staged here only (never committed): gone with its staged versions.
      if (cancelled > 0 && isStdchkError(e, 'NOT_FOUND')) {
        this.ctx.writes.removed(p);
        this.attrs.delete(p);
        return;
      }
      // A new file whose first commit failed never reached the manager: unlinking it drops its failure.
      if (isStdchkError(e, 'NOT_FOUND')) this.ctx.writes.removed(p);
      throw e;
    } finally {
      this.attrs.delete(p);
      this.forgetParent(p);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const f = normalizePath(from);
    const t = normalizePath(to);
    await this.materialize(f);
    // Renames are synchronous at the manager: what is staged beneath either name commits first.
    await this.commitStaged(f);
    await this.commitStaged(t);
    try {
      await this.client.rename(f, t);
    } finally {
      this.attrs.deleteTree(f);
      this.attrs.deleteTree(t);
      this.forgetParent(f);
      this.forgetParent(t);
    }
    this.ctx.writes.renamed(f, t);
    // Open handles follow their file (commits go to the new name).
    const prefix = f + '/';
    for (const h of this.handles.values()) {
      if (h.path === f) h.path = t;
      else if (h.path.startsWith(prefix)) h.path = t + h.path.slice(f.length);
    }
  }

  async symlink(target: string, path: string, owner?: Owner): Promise<void> {
    const p = normalizePath(path);
    this.refuseStaged(p);
    const info = await unary(this.client.manager, 'symlink', { path: p, target, ...this.ownerOf(owner) });
    this.attrs.set(info);
    this.touchParent(p, info.ctimeMs);
  }

  async readlink(path: string): Promise<string> {
    const info = await this.info(normalizePath(path));
    if (info.type !== 'SYMLINK') throw new StdchkError('INVALID_ARGUMENT', `${path}: not a symlink`);
    return info.target;
  }

  /** A hard link: one more name of the same inode at the manager (files, symlinks, special files). */
  async link(from: string, to: string): Promise<void> {
    const f = normalizePath(from);
    const t = normalizePath(to);
    await this.materialize(f);
    this.refuseStaged(t);
    await this.commitStaged(f);
    // Writes not committed yet through the old name belong to the inode: commit them first.
    for (const h of [...this.handles.values()]) if (h.path === f && h.dirty) await h.commit();
    try {
      const info = await unary(this.client.manager, 'link', { from: f, to: t });
      this.touchParent(t, info.ctimeMs);
    } finally {
      this.attrs.delete(f);
      this.attrs.delete(t);
    }
  }

  /**
   * chmod/chown/utimens. A file not yet at the manager keeps them for its
   * first commit; otherwise one RPC, even when nothing changes (chown to the
   * same owner still changes ctime, as POSIX says).
   */
  private async setAttr(path: string, attrs: Record<string, number | boolean>): Promise<void> {
    const p = normalizePath(path);
    const pend = this.pending(p);
    if (pend && Object.keys(attrs).every((k) => ['mode', 'uid', 'gid', 'mtimeMs', 'atimeMs'].includes(k))) {
      pend.setPendingAttrs(attrs as Record<string, number>);
      return;
    }
    if (await this.setStagedAttrs(p, attrs)) return;
    await this.materialize(p);
    if ('mtimeMs' in attrs || 'mtimeNow' in attrs) {
      // Files created in this folder and staged reach the manager (and move its mtime) at
      // their commit: that must come before a time set after them (tar sets folder times last).
      for (const e of this.wb?.staging.under(p) ?? []) {
        if (e.created && splitPath(e.path).parent === p) await e.sync().catch(() => undefined);
      }
    }
    const info = await unary(this.client.manager, 'setAttr', { path: p, ...attrs });
    this.attrs.set(info, p);
    for (const h of this.handles.values()) {
      if (h.path === p || (info.inode !== 0 && h.info.inode === info.inode)) {
        h.info = { ...h.info, mode: info.mode, uid: info.uid, gid: info.gid, ctimeMs: info.ctimeMs };
      }
    }
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.setAttr(path, { mode: mode & 0o7777 });
  }

  async chown(path: string, uid: number, gid: number): Promise<void> {
    // (uid_t)-1 means "leave unchanged".
    const attrs: Record<string, number> = {};
    if (uid !== UINT32_MAX && uid !== -1) attrs.uid = uid;
    if (gid !== UINT32_MAX && gid !== -1) attrs.gid = gid;
    if (Object.keys(attrs).length) await this.setAttr(path, attrs);
  }

  /**
   * Sets times (ms since the epoch, or UTIME_NOW / UTIME_OMIT). "Now" is the
   * manager's clock, as for every other time it sets. (Unpatched
   * fuse-native passes both specials as ~1073 ms: taken as now.)
   */
  async utimens(path: string, atime: number, mtime: number): Promise<void> {
    const attrs: Record<string, number | boolean> = {};
    const set = (key: 'atime' | 'mtime', t: number) => {
      if (t === UTIME_OMIT) return;
      if (t === UTIME_NOW || t === UTIME_SPECIAL_MS) attrs[`${key}Now`] = true;
      else attrs[`${key}Ms`] = t;
    };
    set('atime', atime);
    set('mtime', mtime);
    if (Object.keys(attrs).length === 0) return;
    const p = normalizePath(path);
    if (this.pending(p)) {
      // A file not yet at the manager keeps its times for the first commit (this mount's clock).
      const now = Date.now();
      if (attrs.atimeNow) attrs.atimeMs = now;
      if (attrs.mtimeNow) attrs.mtimeMs = now;
      delete attrs.atimeNow;
      delete attrs.mtimeNow;
    }
    await this.setAttr(p, attrs);
  }

  async truncate(path: string, size: number): Promise<void> {
    const p = normalizePath(path);
    if (size < 0) throw new StdchkError('INVALID_ARGUMENT', 'negative size');
    const live = [...this.handles.values()].filter((h) => h.path === p && h.live);
    if (live.length) {
      // The file is being written here: its handles carry the truncation to their commit.
      for (const h of live) await h.truncate(size);
      return;
    }
    await this.materialize(p);
    const info = await this.info(p);
    if (info.type === 'DIRECTORY') throw new StdchkError('IS_A_DIRECTORY', `${p}: is a directory`);
    if (size === info.size) {
      // Nothing to cut, but a local file system (ext4) still changes mtime and ctime.
      await this.setAttr(p, { mtimeNow: true });
      return;
    }
    // Staged and not committed: truncated as a new staged version, after the others.
    if (size === 0 && !this.wb?.staging.latest(p)) {
      this.attrs.delete(p);
      this.attrs.set(await unary(this.client.manager, 'setAttr', { path: p, size: 0 }), p);
      return;
    }
    const fh = await this.open(p, O_RDWR);
    try {
      await this.ftruncate(fh, size);
    } finally {
      await this.release(fh);
    }
  }

  // --- files ------------------------------------------------------------------

  private get uid(): number {
    return this.opts.uid ?? process.getuid?.() ?? 0;
  }

  private get gid(): number {
    return this.opts.gid ?? process.getgid?.() ?? 0;
  }

  /** A new entry belongs to the process that made it (when the binding says who), else to the mount's user. */
  private ownerOf(owner: Owner | undefined): Owner {
    return owner ? { uid: owner.uid, gid: owner.gid } : { uid: this.uid, gid: this.gid };
  }

  private addHandle(
    path: string,
    flags: number,
    info: FileInfo__Output,
    base: PinnedVersion | undefined,
    staged?: StagedEntry,
  ): number {
    if (this.closed) throw new StdchkError('UNAVAILABLE', 'the mount is shutting down');
    while (this.handles.has(this.nextHandle)) this.nextHandle = (this.nextHandle % 0x7fff_ffff) + 1;
    const id = this.nextHandle;
    this.nextHandle = (this.nextHandle % 0x7fff_ffff) + 1;
    const acc = flags & O_ACCMODE;
    const h = this.wb
      ? new StagedFile(
          id,
          path,
          acc !== O_WRONLY,
          acc !== 0,
          info,
          staged ? { segments: staged.segments } : base ? { base } : {},
          this.wb,
        )
      : new OpenFile(id, path, acc !== O_WRONLY, acc !== 0, info, base, this.ctx);
    this.handles.set(id, h);
    return id;
  }

  /**
   * Creates a file and opens it. The manager learns of it at the first
   * commit (flush/fsync/release), which creates it with this mode and owner;
   * until then only this mount sees it. If another mount creates the same
   * name meanwhile, the commit makes a new version of that file.
   */
  async create(path: string, mode: number, flags = O_RDWR, owner?: Owner): Promise<number> {
    const p = normalizePath(path);
    if (this.wb) this.wb.activity.at = Date.now();
    if (p === '/') throw new StdchkError('IS_A_DIRECTORY', '/: is a directory');
    const now = Date.now();
    // In a setgid folder the file takes the folder's group (the manager does the same at the commit).
    const parent = await this.info(splitPath(p).parent).catch(() => undefined);
    const who = this.ownerOf(owner);
    if (parent && parent.mode & S_ISGID) who.gid = parent.gid;
    // The number the manager will give it (reserved), so st_ino never changes; without one a
    // temporary number, unique while pending (mv and cp compare inode numbers).
    let inode = await this.inodes.take();
    if (inode === undefined) {
      this.nextPendingIno = (this.nextPendingIno + 1) % 0x4000_0000;
      inode = UINT32_MAX - this.nextPendingIno;
    }
    const info: FileInfo__Output = {
      path: p,
      name: p.slice(p.lastIndexOf('/') + 1),
      type: 'FILE',
      inode,
      size: 0,
      mode: mode & 0o7777,
      ...who,
      atimeMs: now,
      mtimeMs: now,
      ctimeMs: now,
      version: 0,
      nlink: 1,
      target: '',
      replicas: this.replicas,
      chunks: 0,
      rdev: 0,
    };
    const fh = this.addHandle(p, (flags & ~O_ACCMODE) | O_RDWR, info, undefined);
    const h = this.handles.get(fh) as Handle;
    h.pendingCreate = true;
    if (h instanceof StagedFile) h.createdHere = true;
    h.markDirty();
    h.modifiedAt = now;
    return fh;
  }

  /** A file created here and not yet committed, if `path` is one. */
  private pending(path: string): Handle | undefined {
    for (const h of this.handles.values()) if (h.pendingCreate && h.path === path) return h;
    return undefined;
  }

  /** Makes pending files at or under `path` exist at the manager before an operation on them. */
  private async materialize(path: string): Promise<void> {
    const prefix = path === '/' ? '/' : path + '/';
    for (const h of [...this.handles.values()]) {
      if (h.pendingCreate && (h.path === path || h.path.startsWith(prefix))) await h.materialize();
    }
  }

  async open(path: string, flags: number): Promise<number> {
    const p = normalizePath(path);
    await this.materialize(p);
    const staged = this.wb?.staging.latest(p);
    if (staged) {
      // Staged here and not committed yet: this mount reads (and goes on writing) the staged content.
      const info = staged.fileInfo();
      // The kernel checked write permission for O_TRUNC, also with O_RDONLY (Linux truncates then too).
      if (flags & O_TRUNC) {
        const fh = this.addHandle(p, flags, info, undefined);
        (this.handles.get(fh) as OpenFile).markDirty();
        return fh;
      }
      return this.addHandle(p, flags, info, undefined, staged);
    }
    // The kernel checked write permission for O_TRUNC, also with O_RDONLY (Linux truncates then too).
    if (flags & O_TRUNC) {
      const info = await this.client.stat(p);
      if (info.type === 'DIRECTORY') throw new StdchkError('IS_A_DIRECTORY', `${p}: is a directory`);
      this.attrs.set(info, p);
      const fh = this.addHandle(p, flags, info, undefined);
      // open(O_TRUNC) commits an empty version at close even without writes (also of an
      // empty file: the truncation changes mtime and ctime, as on a local file system).
      (this.handles.get(fh) as OpenFile).markDirty();
      return fh;
    }
    const v = await PinnedVersion.open(this.client, this.leases, p);
    if (v.info.type === 'DIRECTORY') {
      await v.release();
      throw new StdchkError('IS_A_DIRECTORY', `${p}: is a directory`);
    }
    this.attrs.set(v.info, p);
    return this.addHandle(p, flags, v.info, v);
  }

  private handle(fh: number): Handle {
    const h = this.handles.get(fh);
    if (!h) throw badHandle(fh);
    return h;
  }

  read(fh: number, position: number, length: number): Promise<Buffer> {
    return this.handle(fh).read(position, length);
  }

  /** Writes at `position`; `data` is free for reuse once the promise settles. */
  write(fh: number, data: Buffer, position: number): Promise<number> {
    if (this.wb) this.wb.activity.at = Date.now();
    return this.handle(fh).write(data, position);
  }

  async ftruncate(fh: number, size: number): Promise<void> {
    const h = this.handle(fh);
    const same = size === h.size && !h.live;
    await h.truncate(size);
    // As truncate: the same size changes mtime and ctime (libfuse 2 drops the kernel's own mtime
    // update of ftruncate). A handle with writes outstanding gets them at its commit.
    if (same && h.writable && !h.pendingCreate) await this.setAttr(h.path, { mtimeNow: true });
  }

  /** close(2) of one descriptor: commits the writes so far (errors reach close). */
  flush(fh: number): Promise<void> {
    return this.handle(fh).commit();
  }

  /** fsync(2): the file's content is committed on its replicas when this resolves (write-back: staged, then uploaded). */
  fsync(fh: number): Promise<void> {
    const h = this.handle(fh);
    return h instanceof StagedFile ? h.fsync() : h.commit();
  }

  /**
   * The folder barrier (fsync of a directory): resolves once everything
   * written at or beneath `path` through this mount is committed on its
   * replicas, committing files still open with uncommitted writes and
   * waiting for commits running in flush, fsync or release. Throws EIO if a
   * file beneath could not be committed (see WriteRegistry for how long a
   * failure is reported).
   */
  fsyncdir(path: string): Promise<void> {
    return this.ctx.writes.barrier(normalizePath(path));
  }

  /** Last close of the handle: commits what is left and frees it. */
  async release(fh: number): Promise<void> {
    const h = this.handle(fh);
    try {
      await h.release();
    } finally {
      this.handles.delete(fh);
    }
  }

  /** Releases every handle (committing what is dirty) and stops background work. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fh of [...this.handles.keys()]) {
      await this.release(fh).catch((e: unknown) =>
        this.logger.error({ err: errorMessage(e), fh }, 'commit at unmount failed'),
      );
    }
    if (this.wb) {
      const { uploader, staging, reserver } = this.wb;
      const drained = await uploader.drain(this.opts.writeBack?.drainMs ?? 15_000);
      await uploader.stop();
      if (!drained) {
        this.logger.warn(
          { staged: staging.pending, bytes: staging.used, dir: staging.dir },
          'unmounting with versions not uploaded yet: they stay in the staging folder and are uploaded when a mount starts on it',
        );
      }
      await reserver.close();
      await unlockStaging(staging);
    }
    await this.leases.stop();
    await this.chunkerPool.close();
    await this.disk?.close();
  }

  // --- write-back helpers ---------------------------------------------------------

  /** A name staged here (not committed yet) exists for this mount: EEXIST. */
  private refuseStaged(p: string): void {
    if (this.wb?.staging.latest(p)) throw new StdchkError('ALREADY_EXISTS', `${p}: file exists`);
  }

  /**
   * Waits until every version staged at or beneath `p` is committed. One
   * that failed for good is left to the barrier (its failure record says
   * so); one that may still be retried (manager unreachable) throws.
   */
  private async commitStaged(p: string): Promise<void> {
    const list = this.wb?.staging.under(p) ?? [];
    for (const e of list) {
      try {
        await e.sync();
      } catch (err) {
        if (e.state !== 'failed') throw err;
      }
    }
  }

  /**
   * chmod/chown/utimens of a file with staged versions: applied to the
   * newest one (no RPC; it commits with them) while its commit has not gone
   * out, and to the handles writing it. Returns false when the caller must
   * do it at the manager (nothing staged, or the commit is out: waited for).
   */
  private async setStagedAttrs(p: string, given: Record<string, number | boolean>): Promise<boolean> {
    const e = this.wb?.staging.latest(p);
    if (!e) return false;
    // "Now" for a version not at the manager yet is this mount's clock (as for pending files).
    const attrs: Record<string, number> = {};
    for (const [k, v] of Object.entries(given)) {
      if (k === 'atimeNow' || k === 'mtimeNow') {
        if (v) attrs[k === 'atimeNow' ? 'atimeMs' : 'mtimeMs'] = Date.now();
      } else attrs[k] = Number(v);
    }
    if (!Object.keys(attrs).every((k) => ['mode', 'uid', 'gid', 'mtimeMs', 'atimeMs'].includes(k)))
      return false;
    if (!e.mutable) {
      await e.sync().catch(() => undefined);
      return false;
    }
    const owner = attrs.mode !== undefined || attrs.uid !== undefined || attrs.gid !== undefined;
    await this.wb?.staging.updateAttrs(e, {
      ...(attrs.mode !== undefined ? { mode: attrs.mode & 0o7777 } : {}),
      ...(attrs.uid !== undefined ? { uid: attrs.uid } : {}),
      ...(attrs.gid !== undefined ? { gid: attrs.gid } : {}),
      ...(attrs.mtimeMs !== undefined ? { mtimeMs: attrs.mtimeMs } : {}),
      ...(owner ? { setOwner: true } : {}),
    });
    for (const h of this.handles.values())
      if (h.path === p && h instanceof StagedFile) h.setPendingAttrs(attrs);
    return true;
  }
}
