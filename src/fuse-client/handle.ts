import type { StorageClient } from '../client/storage-client.ts';
import { FileWriter } from '../client/writer.ts';
import type { WriteOptions } from '../client/writer.ts';
import { StdchkError, errorMessage } from '../errors/index.ts';
import { unary } from '../rpc/index.ts';
import type { FileInfo__Output } from '../generated/stdchk/v1/FileInfo.ts';
import type { Logger } from '../logging/index.ts';
import type { ChunkStream } from '../chunking/chunker.ts';
import { PinnedVersion } from './pinned-version.ts';
import type { ChunkSource } from './chunk-source.ts';
import { ScratchFile } from './scratch.ts';
import { Errno, FsError } from './errors.ts';
import type { OutstandingWrite, WriteRegistry } from './write-registry.ts';
import { VersionReader } from './version-reader.ts';

/** What an open file needs from the VFS around it. */
export interface HandleContext {
  client: StorageClient;
  source: ChunkSource;
  scratchDir: string;
  logger: Logger;
  /** Options of every FileWriter this handle opens (replicas, chunker, cache hook). */
  writeOptions: WriteOptions;
  /** Bytes gathered from the kernel's 128 KiB writes before one is handed to the writer. */
  streamBufferBytes: number;
  /** Most bytes fetched ahead of a sequential reader. */
  readAheadBytes: number;
  /** Called after every commit with the manager's new FileInfo; `created`: the manager made the file then. */
  onCommit(path: string, info: FileInfo__Output, created: boolean): void;
  /** In-thread chunker (same parameters as the writers') for files of at most INLINE_CHUNKING_BYTES. */
  inlineChunker: ChunkStream;
  /** Where a handle with uncommitted writes registers, and where its failed commits are recorded. */
  writes: WriteRegistry;
}

/** Makes a file created here (mode, owner, reserved inode in `info`) exist at the manager, empty. */
export function createAtManager(
  client: StorageClient,
  path: string,
  info: FileInfo__Output,
): Promise<FileInfo__Output> {
  // Not exclusive, so repeating it through a manager restart is harmless.
  return client.withRetry(() =>
    unary(client.manager, 'create', {
      path,
      mode: info.mode & 0o7777,
      uid: info.uid,
      gid: info.gid,
      exclusive: false,
      inode: info.inode,
    }),
  );
}

/** Files this small are chunked on the calling thread at commit: cheaper than two worker round trips. */
export const INLINE_CHUNKING_BYTES = 256 * 1024;

/**
 * How the handle's content is held:
 * - clean: the version pinned at open (or nothing, after O_TRUNC / truncate to 0);
 * - stream: sequential writes from the end of the base, streamed through a
 *   FileWriter (bounded memory: one gathering buffer plus the writer's window);
 * - scratch: a local file holding the whole content, after any write that is
 *   not at the end; chunked and committed at flush/fsync/release.
 */
export type HandleState = 'clean' | 'stream' | 'scratch';

const SEED_PIECE = 4 * 1024 * 1024;

/**
 * One open file of the mount (a FUSE file handle). While it holds writes
 * that are not committed it is an outstanding write of the mount's
 * WriteRegistry (the folder barrier waits for it, and sync() commits it).
 */
export class OpenFile implements OutstandingWrite {
  state: HandleState = 'clean';
  private dirty_ = false;
  /** Last time a write changed the content (ms), for stat during writes. */
  modifiedAt = 0;
  /**
   * Created by this mount but not yet known to the manager: the first commit
   * creates it (one RPC less per file for `tar`); materialize() does it
   * earlier when another operation needs the name to exist at the manager.
   */
  pendingCreate = false;
  /** An mtime set by utimens while pending, given to the next commit (a later write clears it). */
  private mtimeMs: number | undefined;
  private base: PinnedVersion | undefined;
  private writer: FileWriter | undefined;
  private gather: Buffer | undefined;
  private gathered = 0;
  private streamed = 0;
  private pendingPush: Promise<void> | undefined;
  private scratch: ScratchFile | undefined;
  private failure: unknown;
  /** Why the last commit failed (what a commit after release reports). */
  private lostWrites: unknown;
  private chain: Promise<unknown> = Promise.resolve();
  private released = false;
  private readonly reader: VersionReader;

  constructor(
    readonly id: number,
    public path: string,
    readonly readable: boolean,
    readonly writable: boolean,
    /** Newest FileInfo known for this handle (refreshed by commits). */
    public info: FileInfo__Output,
    base: PinnedVersion | undefined,
    private readonly ctx: HandleContext,
  ) {
    this.base = base;
    this.reader = new VersionReader(ctx.source, ctx.readAheadBytes);
  }

  /** Content differs from what this handle last committed (or from the base). */
  get dirty(): boolean {
    return this.dirty_;
  }

  /** The content changed (a write, a truncation, a creation): outstanding until committed. */
  markDirty(): void {
    if (this.dirty_) return;
    this.dirty_ = true;
    this.ctx.writes.begin(this);
  }

  /** The content's current size as this handle sees it. */
  get size(): number {
    switch (this.state) {
      case 'scratch':
        return (this.scratch as ScratchFile).size;
      case 'stream':
        return this.streamed + this.gathered;
      default:
        return this.base?.size ?? 0;
    }
  }

  /**
   * True when getattr on this path should show this handle's size (writes
   * not yet committed). Not once released: release drops the stream (size 0)
   * before the VFS forgets the handle, and a stat in between saw size 0.
   */
  get live(): boolean {
    return !this.released && this.writable && (this.dirty || this.state !== 'clean' || this.pendingCreate);
  }

  /** Creates a pending file at the manager now (without content). */
  materialize(): Promise<void> {
    return this.serial(async () => {
      if (!this.pendingCreate) return;
      const info = await createAtManager(this.ctx.client, this.path, this.info);
      this.pendingCreate = false;
      this.info = info;
      this.ctx.onCommit(this.path, info, true);
    });
  }

  /** Runs operations of this handle one at a time, in arrival order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private checkFailed(): void {
    if (this.failure === undefined) return;
    if (!(this.failure instanceof StdchkError)) {
      this.failure = new StdchkError('INTERNAL', errorMessage(this.failure), { cause: this.failure });
    }
    throw this.failure;
  }

  read(position: number, length: number): Promise<Buffer> {
    if (!this.readable) return Promise.reject(new FsError(Errno.EBADF, 'file not open for reading'));
    // Reads of the pinned version need no ordering with each other.
    if (this.state === 'clean' && !this.writable) return this.readBase(position, length);
    return this.serial(async () => {
      if (this.state === 'stream') await this.toScratch();
      if (this.state === 'scratch') return (this.scratch as ScratchFile).read(position, length);
      return this.readBase(position, length);
    });
  }

  /**
   * Writes `data` at `position`. `data` may be reused by the caller once the
   * returned promise settles (it is copied or written out before then).
   */
  write(data: Buffer, position: number): Promise<number> {
    if (!this.writable) return Promise.reject(new FsError(Errno.EBADF, 'file not open for writing'));
    return this.serial(async () => {
      this.checkFailed();
      if (this.state === 'clean' && position === this.size) await this.startStream();
      else if (this.state === 'stream' && position !== this.size) await this.toScratch();
      else if (this.state === 'clean') await this.toScratch();
      if (this.state === 'stream') await this.streamWrite(data);
      else await (this.scratch as ScratchFile).write(data, position);
      this.markDirty();
      this.modifiedAt = Date.now();
      this.mtimeMs = undefined;
      return data.length;
    });
  }

  truncate(size: number): Promise<void> {
    if (!this.writable) return Promise.reject(new FsError(Errno.EBADF, 'file not open for writing'));
    return this.serial(async () => {
      this.checkFailed();
      if (size === this.size) return;
      if (size === 0 && this.state !== 'scratch') {
        await this.dropStream();
        await this.base?.release();
        this.base = undefined;
        this.state = 'clean';
      } else {
        if (this.state !== 'scratch') await this.toScratch();
        await (this.scratch as ScratchFile).truncate(size);
      }
      this.markDirty();
      this.modifiedAt = Date.now();
    });
  }

  /**
   * Commits the content as a new version if it changed (flush, fsync and
   * release). Returns after every chunk is on its replicas and the manager
   * recorded the version; a failure throws (the application sees EIO).
   */
  commit(): Promise<void> {
    return this.serial(() => this.commitNow());
  }

  /** OutstandingWrite: the folder barrier commits the handle now (or waits for its running commit). */
  sync(): Promise<void> {
    return this.commit();
  }

  private async commitNow(): Promise<void> {
    if (this.released) {
      // After release nothing is left to commit: writes that were not committed are lost.
      if (this.dirty) throw this.lostWrites ?? new StdchkError('INTERNAL', 'closed with uncommitted writes');
      return;
    }
    if (!this.dirty) return;
    let info: FileInfo__Output;
    try {
      this.checkFailed();
      if (this.state === 'stream') {
        const w = this.writer as FileWriter;
        if (
          this.streamed === 0 &&
          this.gathered > 0 &&
          this.gathered <= INLINE_CHUNKING_BYTES &&
          !this.pendingPush
        ) {
          // Everything written is still in the gathering buffer: chunk it here.
          const piece = (this.gather as Buffer).subarray(0, this.gathered);
          const chunks = [...this.ctx.inlineChunker.push(piece), ...this.ctx.inlineChunker.finish()];
          this.gather = undefined;
          this.streamed = this.gathered;
          this.gathered = 0;
          await w.writeChunks(chunks);
        }
        await this.pushGathered();
        await this.pendingPush;
        info = await (this.writer as FileWriter).commit({ path: this.path, ...this.commitMeta() });
      } else if (this.state === 'scratch') {
        info = await this.commitScratch();
      } else {
        // Clean and dirty: a new file with nothing written, or truncated to nothing.
        info = await this.ctx.client.withRetry(() =>
          unary(this.ctx.client.manager, 'commitVersion', {
            path: this.path,
            refs: Buffer.alloc(0),
            size: 0,
            replicas: this.ctx.writeOptions.replicas ?? 1,
            ...this.commitMeta(),
          }),
        );
      }
    } catch (e) {
      if (e !== this.failure) {
        // A stream writer cannot be retried; a scratch file can (the next flush tries again).
        if (this.state === 'stream') this.failure = e;
        this.ctx.logger.warn({ path: this.path, err: errorMessage(e) }, 'commit failed');
      }
      this.lostWrites = e;
      this.ctx.writes.failed(this, e);
      throw e;
    }
    const created = this.pendingCreate;
    this.dirty_ = false;
    this.lostWrites = undefined;
    this.pendingCreate = false;
    this.info = info;
    this.ctx.writes.committed(this);
    this.ctx.onCommit(this.path, info, created);
  }

  private async commitScratch(): Promise<FileInfo__Output> {
    const scratch = this.scratch as ScratchFile;
    const cached = this.ctx.writeOptions.recover;
    const w = await FileWriter.create(this.ctx.client, this.path, {
      ...this.writerOptions(),
      // The scratch file holds every byte of this version: a lost chunk is read back from it.
      recover: async (c) => {
        const d = await scratch.read(c.offset, c.length);
        return this.ctx.client.chunks.matches(c.hash, d) ? d : await cached?.(c);
      },
    });
    try {
      for await (const piece of (this.scratch as ScratchFile).stream()) await w.write(piece);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return (await w.close()).info;
  }

  /**
   * Mode, owner and inode number (reserved by the VFS) a commit gives a file
   * it creates; the mtime set by utimens since the last write.
   */
  private commitMeta(): { mode: number; uid: number; gid: number; mtimeMs?: number; inode?: number } {
    return {
      mode: this.info.mode & 0o7777,
      uid: this.info.uid,
      gid: this.info.gid,
      ...(this.mtimeMs !== undefined ? { mtimeMs: this.mtimeMs } : {}),
      ...(this.pendingCreate ? { inode: this.info.inode } : {}),
    };
  }

  private writerOptions(): WriteOptions {
    return { ...this.ctx.writeOptions, ...this.commitMeta() };
  }

  /**
   * chmod/chown/utimens of a file not yet at the manager: kept here and
   * given to the commit that creates it (tar sets these on every file it
   * extracts, before closing it).
   */
  setPendingAttrs(attrs: { mode?: number; uid?: number; gid?: number; mtimeMs?: number }): void {
    this.info = {
      ...this.info,
      ...(attrs.mode !== undefined ? { mode: attrs.mode } : {}),
      ...(attrs.uid !== undefined ? { uid: attrs.uid } : {}),
      ...(attrs.gid !== undefined ? { gid: attrs.gid } : {}),
      ...(attrs.mtimeMs !== undefined ? { mtimeMs: attrs.mtimeMs } : {}),
    };
    if (attrs.mtimeMs !== undefined) this.mtimeMs = attrs.mtimeMs;
  }

  /** Commits what is dirty, then lets go of everything the handle holds. */
  release(): Promise<void> {
    return this.serial(async () => {
      if (this.released) return;
      let err: unknown;
      try {
        await this.commitNow();
      } catch (e) {
        err = e;
      }
      this.released = true;
      this.ctx.writes.end(this);
      await this.dropStream();
      await this.scratch?.close();
      this.scratch = undefined;
      await this.base?.release();
      this.base = undefined;
      if (err !== undefined) throw err;
    });
  }

  // --- sequential writes -------------------------------------------------

  private async startStream(): Promise<void> {
    const w = await FileWriter.create(this.ctx.client, this.path, this.writerOptions());
    if (this.base && this.base.size > 0) {
      // Appending: the base's chunks are kept as they are, new data follows.
      w.appendRefs(this.base.refs());
    }
    this.streamed = this.base?.size ?? 0;
    await this.base?.release();
    this.base = undefined;
    this.writer = w;
    this.state = 'stream';
  }

  private async streamWrite(data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      this.gather ??= Buffer.allocUnsafe(this.ctx.streamBufferBytes);
      const n = data.copy(this.gather, this.gathered, off);
      this.gathered += n;
      off += n;
      if (this.gathered === this.gather.length) await this.pushGathered();
    }
  }

  /** Hands the gathered bytes to the writer; at most one hand-over is outstanding. */
  private async pushGathered(): Promise<void> {
    if (!this.gather || this.gathered === 0) return;
    const piece = this.gather.subarray(0, this.gathered);
    this.gather = undefined;
    this.streamed += this.gathered;
    this.gathered = 0;
    const previous = this.pendingPush;
    this.pendingPush = undefined;
    await previous;
    const p = (this.writer as FileWriter).write(piece);
    p.catch(() => undefined);
    this.pendingPush = p;
  }

  private async dropStream(): Promise<void> {
    if (!this.writer) return;
    const w = this.writer;
    this.writer = undefined;
    this.gather = undefined;
    this.gathered = 0;
    this.streamed = 0;
    await this.pendingPush?.catch(() => undefined);
    this.pendingPush = undefined;
    await w.abort().catch(() => undefined);
  }

  // --- scratch file ---------------------------------------------------------

  /** Moves the content to a local scratch file (seeded from the base or the stream so far). */
  private async toScratch(): Promise<void> {
    if (this.state === 'scratch') return;
    const scratch = await ScratchFile.create(this.ctx.scratchDir, `h${this.id}-${Date.now()}`);
    try {
      let source: PinnedVersion | undefined = this.base;
      if (this.state === 'stream') {
        const w = this.writer as FileWriter;
        await this.pushGathered();
        await this.pendingPush;
        this.pendingPush = undefined;
        const refs = await w.cut();
        source = PinnedVersion.fromRefs(this.info, refs);
        this.writer = undefined;
        this.streamed = 0;
        await w.abort().catch(() => undefined);
      }
      if (source) {
        for (let pos = 0; pos < source.size; pos += SEED_PIECE) {
          await scratch.write(await this.readFrom(source, pos, SEED_PIECE, false), pos);
        }
      }
    } catch (e) {
      await scratch.close();
      if (this.state === 'stream') this.failure = e;
      throw e;
    }
    await this.base?.release();
    this.base = undefined;
    this.scratch = scratch;
    this.state = 'scratch';
  }

  // --- reads of a pinned version --------------------------------------------

  private readBase(position: number, length: number): Promise<Buffer> {
    const v = this.base;
    if (!v) return Promise.resolve(Buffer.alloc(0));
    return this.reader.readSequential(v, position, length);
  }

  private readFrom(v: PinnedVersion, position: number, length: number, sequential: boolean): Promise<Buffer> {
    return this.reader.read(v, position, length, sequential);
  }
}
