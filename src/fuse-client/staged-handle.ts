import { StdchkError, errorMessage } from '../errors/index.ts';
import { unary } from '../rpc/index.ts';
import { ChunkStream } from '../chunking/chunker.ts';
import { DEFAULT_CHUNKER_PARAMS } from '../chunking/params.ts';
import { encodeRefs } from '../chunking/refs.ts';
import type { FileInfo__Output } from '../generated/stdchk/v1/FileInfo.ts';
import type { HandleContext } from './handle.ts';
import { createAtManager } from './handle.ts';
import { PinnedVersion } from './pinned-version.ts';
import type { SpaceReserver } from './space-reserver.ts';
import { withOverhead } from './space-reserver.ts';
import type { Segment, StagedData, StagedEntry, Staging } from './staging.ts';
import type { Uploader } from './uploader.ts';
import type { OutstandingWrite } from './write-registry.ts';
import { VersionReader } from './version-reader.ts';
import { Errno, FsError } from './errors.ts';

/** What a write-back handle needs besides the synchronous handle's context. */
export interface StagedContext extends HandleContext {
  staging: Staging;
  uploader: Uploader;
  reserver: SpaceReserver;
  /** Bytes written without a reservation, mount-wide (the cluster refused them; settled at close). */
  unreserved: { bytes: number; limit: number };
  /** When the application last wrote through the mount (the uploader lets it go first). */
  activity: { at: number };
}

/** A failure of the local staging disk, as the application should see it (ENOSPC stays ENOSPC). */
function localFailure(e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    throw new StdchkError('NO_SPACE', `the staging folder's disk is full: ${errorMessage(e)}`, { cause: e });
  }
  throw new StdchkError('INTERNAL', `staging folder: ${errorMessage(e)}`, { cause: e });
}

const SEED_PIECE = 4 * 1024 * 1024;
const SEQUENTIAL_SLACK = 4 * 1024 * 1024;
/** A file being appended uploads what it has written (to make room) only once it holds this much. */
const DRAIN_MIN_BYTES = 8 * 1024 * 1024;
const ROOM_POLL_MS = 1_000;
const LOOKUP_BATCH = 65_536;

/**
 * One open file of a write-back mount. Its content is a list of immutable
 * segments (chunks of the version opened, staged data files) followed by a
 * local data file in the staging folder that writes go to (the tail).
 * flush (close) seals the content into the staging journal and returns;
 * the uploader commits it behind the application. fsync seals and waits
 * for the commit. Nothing here talks to a benefactor except when the
 * staging area is full and this file is the one filling it (it then
 * uploads its own tail: the writer slows down to the network).
 */
export class StagedFile implements OutstandingWrite {
  private dirty_ = false;
  modifiedAt = 0;
  /** Created here and not known to the manager (no version sealed, not materialized). */
  pendingCreate = false;
  /** Created by this mount (create()): its versions may create the file at the manager. */
  createdHere = false;
  private mtimeMs: number | undefined;
  private setOwner = false;
  private base: PinnedVersion | undefined;
  private segments: Segment[];
  private segBytes: number;
  private tail: StagedData | undefined;
  /** Bytes reserved at the manager for this handle's unsealed data. */
  private reserved = 0;
  /** Bytes written that the cluster gave no reservation for (settled at seal). */
  private unreserved = 0;
  private lastEntry: StagedEntry | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private released = false;
  private readonly reader: VersionReader;
  private nextReadAt = -1;

  constructor(
    readonly id: number,
    public path: string,
    readonly readable: boolean,
    readonly writable: boolean,
    public info: FileInfo__Output,
    content: { base?: PinnedVersion; segments?: Segment[] },
    private readonly ctx: StagedContext,
  ) {
    this.base = content.base;
    // A copy: the staged version's own list must not grow with this handle's writes (it would
    // release, when done, a data file it never retained, deleting it under a newer version).
    this.segments = [...(content.segments ?? [])];
    for (const s of this.segments) if (s.kind === 'file') s.data.retain();
    if (this.base && this.base.size > 0 && !content.segments) {
      this.segments = [{ kind: 'refs', version: this.base, bytes: this.base.size }];
    }
    this.segBytes = this.segments.reduce((n, s) => n + s.bytes, 0);
    this.reader = new VersionReader(ctx.source, ctx.readAheadBytes);
  }

  get state(): 'clean' | 'local' {
    return this.tail ? 'local' : 'clean';
  }

  get dirty(): boolean {
    return this.dirty_;
  }

  markDirty(): void {
    if (this.dirty_) return;
    this.dirty_ = true;
    this.ctx.writes.begin(this);
  }

  get size(): number {
    return this.segBytes + (this.tail?.size ?? 0);
  }

  get live(): boolean {
    return this.writable && (this.dirty_ || this.tail !== undefined || this.pendingCreate);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
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

  setPendingAttrs(attrs: { mode?: number; uid?: number; gid?: number; mtimeMs?: number }): void {
    this.info = {
      ...this.info,
      ...(attrs.mode !== undefined ? { mode: attrs.mode } : {}),
      ...(attrs.uid !== undefined ? { uid: attrs.uid } : {}),
      ...(attrs.gid !== undefined ? { gid: attrs.gid } : {}),
      ...(attrs.mtimeMs !== undefined ? { mtimeMs: attrs.mtimeMs } : {}),
    };
    if (attrs.mtimeMs !== undefined) this.mtimeMs = attrs.mtimeMs;
    if (attrs.mode !== undefined || attrs.uid !== undefined || attrs.gid !== undefined) this.setOwner = true;
  }

  // --- reads -------------------------------------------------------------------

  read(position: number, length: number): Promise<Buffer> {
    if (!this.readable) return Promise.reject(new FsError(Errno.EBADF, 'file not open for reading'));
    if (!this.writable) return this.readContent(position, length);
    return this.serial(() => this.readContent(position, length));
  }

  private async readContent(position: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, position + length);
    if (position >= end) return Buffer.alloc(0);
    const sequential = position === 0 || Math.abs(position - this.nextReadAt) <= SEQUENTIAL_SLACK;
    this.nextReadAt = Math.max(sequential ? this.nextReadAt : 0, end);
    return this.readRange(position, end - position, sequential);
  }

  /** Bytes [position, position + length) of the content (length within the size). */
  private async readRange(position: number, length: number, sequential: boolean): Promise<Buffer> {
    const parts: Promise<Buffer>[] = [];
    const end = position + length;
    let start = 0;
    for (const s of this.segments) {
      const segEnd = start + s.bytes;
      if (segEnd > position && start < end) {
        const from = Math.max(position, start) - start;
        const n = Math.min(end, segEnd) - start - from;
        parts.push(
          s.kind === 'refs' ? this.reader.read(s.version, from, n, sequential) : s.data.read(from, n),
        );
      }
      start = segEnd;
    }
    if (this.tail && end > this.segBytes) {
      const from = Math.max(position, this.segBytes) - this.segBytes;
      parts.push(this.tail.read(from, end - this.segBytes - from));
    }
    const out = await Promise.all(parts);
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }

  // --- writes ------------------------------------------------------------------

  write(data: Buffer, position: number): Promise<number> {
    if (!this.writable) return Promise.reject(new FsError(Errno.EBADF, 'file not open for writing'));
    return this.serial(async () => {
      if (this.released) throw new FsError(Errno.EBADF, 'file already released');
      if (position < this.segBytes) await this.flatten();
      const appending = position === this.size;
      const growth = Math.max(0, position + data.length - this.size);
      await this.makeRoom(growth, appending);
      this.tail ??= await this.ctx.staging.newData().catch(localFailure);
      await this.tail.write(data, position - this.segBytes).catch(localFailure);
      this.markDirty();
      this.modifiedAt = Date.now();
      this.mtimeMs = undefined;
      return data.length;
    });
  }

  truncate(size: number): Promise<void> {
    if (!this.writable) return Promise.reject(new FsError(Errno.EBADF, 'file not open for writing'));
    return this.serial(async () => {
      if (size === this.size) return;
      if (size === 0) {
        await this.dropContent();
      } else {
        if (size < this.segBytes) await this.flatten();
        if (size > this.size) await this.makeRoom(size - this.size, false);
        this.tail ??= await this.ctx.staging.newData();
        await this.tail.truncate(size - this.segBytes);
      }
      this.markDirty();
      this.modifiedAt = Date.now();
    });
  }

  /** Space for `n` more bytes: a reservation at the manager, and room in the staging area. */
  private async makeRoom(n: number, appending: boolean): Promise<void> {
    if (n <= 0) return;
    const need = withOverhead(n);
    const r = this.ctx.reserver.tryAcquire(need)
      ? 'reserved'
      : await this.ctx.reserver.acquire(need, withOverhead(this.size + n));
    if (r === 'reserved') this.reserved += need;
    else if (r === 'refused') {
      // The cluster has no room for it as new data: it may still be data the cluster has
      // (a checkpoint that did not change); close() finds out. Bounded, so that a full
      // cluster still stops a large writer at write().
      const u = this.ctx.unreserved;
      if (u.bytes + n > u.limit) {
        throw new StdchkError('NO_SPACE', 'no space left in the cluster for what is being written');
      }
      u.bytes += n;
      this.unreserved += n;
    }
    const { staging, uploader } = this.ctx;
    while (staging.used + n > staging.capacity) {
      if (appending && this.tail && this.tail.size >= Math.min(DRAIN_MIN_BYTES, staging.capacity / 4)) {
        await this.drainTail();
        continue;
      }
      if (!uploader.busy) break; // nothing will free space (files open for random writes): go over
      await Promise.race([uploader.nextFree(), new Promise((r) => setTimeout(r, ROOM_POLL_MS))]);
    }
  }

  /**
   * The staging area is full and this file fills it: its tail is uploaded
   * now (chunks stored on the replicas, not committed) and becomes a
   * segment of chunk references; the writer waits for the network.
   */
  private async drainTail(): Promise<void> {
    const tail = this.tail as StagedData;
    const bytes = tail.size;
    const refs = await this.ctx.uploader.uploadData(
      this.path,
      tail,
      bytes,
      this.ctx.writeOptions.replicas ?? 2,
      // Each batch placed holds its space at the manager from then on: our reservation for it goes.
      (n) => {
        const r = Math.min(this.reserved, withOverhead(n));
        this.reserved -= r;
        void this.ctx.reserver.release(r);
      },
    );
    this.segments.push({ kind: 'refs', version: PinnedVersion.fromRefs(this.info, refs), bytes });
    this.segBytes += bytes;
    this.tail = undefined;
    await tail.release();
    const u = Math.min(this.unreserved, bytes);
    this.unreserved -= u;
    this.ctx.unreserved.bytes -= u;
  }

  /** Copies the whole content into a new tail (a write or truncation inside the sealed part). */
  private async flatten(): Promise<void> {
    const data = await this.ctx.staging.newData();
    try {
      for (let pos = 0; pos < this.size; pos += SEED_PIECE) {
        const n = Math.min(SEED_PIECE, this.size - pos);
        await data.write(await this.readRange(pos, n, false), pos);
      }
    } catch (e) {
      await data.release();
      throw e;
    }
    await this.dropSegments();
    await this.tail?.release();
    this.tail = data;
  }

  private async dropSegments(): Promise<void> {
    const old = this.segments;
    this.segments = [];
    this.segBytes = 0;
    for (const s of old) if (s.kind === 'file') await s.data.release();
  }

  private async dropContent(): Promise<void> {
    await this.dropSegments();
    const t = this.tail;
    this.tail = undefined;
    await t?.release();
  }

  // --- sealing and commits ------------------------------------------------------

  /**
   * Writes that got no reservation (the cluster refused): find out what the
   * content really needs (its chunks that the cluster does not hold yet) and
   * reserve that, or fail with NO_SPACE (ENOSPC at close).
   */
  private async settle(): Promise<void> {
    if (this.unreserved === 0) return;
    const chunker = new ChunkStream(this.ctx.writeOptions.chunker ?? DEFAULT_CHUNKER_PARAMS);
    const refs: { hash: Buffer; length: number }[] = [];
    const take = (chunks: ReturnType<ChunkStream['push']>) => {
      for (const c of chunks) if (!c.zero) refs.push({ hash: c.hash, length: c.length });
    };
    for (const s of [
      ...this.segments,
      ...(this.tail ? [{ kind: 'file' as const, data: this.tail, bytes: this.tail.size }] : []),
    ]) {
      if (s.kind !== 'file') continue;
      for await (const piece of s.data.stream(s.bytes)) take(chunker.push(piece));
      take(chunker.finish());
    }
    let missing = 0;
    const replicas = this.ctx.writeOptions.replicas ?? 2;
    for (let i = 0; i < refs.length; i += LOOKUP_BATCH) {
      const part = refs.slice(i, i + LOOKUP_BATCH);
      const prep = await this.ctx.client.withRetry(() =>
        unary(this.ctx.client.manager, 'prepareChunks', {
          refs: encodeRefs(part),
          replicas,
          lookupOnly: true,
          encrypted: this.ctx.client.chunks.encrypted,
        }),
      );
      part.forEach((c, k) => {
        if (prep.present[k] !== 1) missing += c.length;
      });
    }
    const need = withOverhead(missing);
    if (need > this.reserved) {
      const r = await this.ctx.reserver.acquire(need - this.reserved, need);
      if (r === 'refused') {
        throw new StdchkError('NO_SPACE', `no space left in the cluster for ${missing} new bytes`);
      }
      if (r === 'reserved') this.reserved = need;
    }
    this.ctx.unreserved.bytes -= this.unreserved;
    this.unreserved = 0;
  }

  /** Seals the content as a new version in the staging journal, if it changed. */
  private async seal(): Promise<StagedEntry | undefined> {
    if (!this.dirty_) return this.lastEntry;
    await this.settle();
    const tail = this.tail;
    // In the file before the manifest names it: a crash after close() must find every byte.
    await tail?.flush().catch(localFailure);
    const segments: Segment[] = [...this.segments];
    if (tail) segments.push({ kind: 'file', data: tail, bytes: tail.size });
    const entry = await this.ctx.staging.seal({
      path: this.path,
      segments,
      replicas: this.ctx.writeOptions.replicas ?? 2,
      created: this.createdHere,
      inode: this.info.inode,
      reservedBytes: this.reserved,
      mode: this.info.mode & 0o7777,
      uid: this.info.uid,
      gid: this.info.gid,
      mtimeMs: this.mtimeMs ?? (this.modifiedAt || Date.now()),
      setOwner: this.setOwner,
    });
    // The tail is part of a sealed version now: immutable; the next write starts a new one.
    if (tail) {
      this.segments.push({ kind: 'file', data: tail, bytes: tail.size });
      this.segBytes += tail.size;
      this.tail = undefined;
      await tail.closeFd();
    }
    this.reserved = 0;
    this.setOwner = false;
    this.dirty_ = false;
    this.pendingCreate = false;
    this.lastEntry = entry;
    this.info = { ...this.info, size: entry.size };
    this.ctx.writes.end(this);
    return entry;
  }

  private async sealOrFail(): Promise<StagedEntry | undefined> {
    try {
      return await this.seal();
    } catch (e) {
      this.ctx.logger.warn({ path: this.path, err: errorMessage(e) }, 'staging failed');
      this.ctx.writes.failed(this, e);
      throw e;
    }
  }

  /** flush (close): the content is in the staging journal when this returns. */
  commit(): Promise<void> {
    return this.serial(async () => {
      if (this.released) return;
      const e = await this.sealOrFail();
      // Staged versions are found by path: the file's other names see the new content once it is
      // committed, so a file with hard links is committed before close() returns.
      if (e && this.info.nlink > 1) await e.sync();
    });
  }

  /** fsync: sealed, then committed on its replicas (what was staged before for this path too). */
  fsync(): Promise<void> {
    return this.serial(async () => {
      const e = this.released ? this.lastEntry : await this.sealOrFail();
      await (e ?? this.ctx.staging.latest(this.path))?.sync();
    });
  }

  /** OutstandingWrite (the folder barrier): as fsync. */
  sync(): Promise<void> {
    return this.fsync();
  }

  release(): Promise<void> {
    return this.serial(async () => {
      if (this.released) return;
      let err: unknown;
      try {
        await this.sealOrFail();
      } catch (e) {
        err = e;
      }
      this.released = true;
      this.ctx.writes.end(this);
      void this.ctx.reserver.release(this.reserved);
      this.reserved = 0;
      this.ctx.unreserved.bytes -= this.unreserved;
      this.unreserved = 0;
      await this.dropContent();
      await this.base?.release();
      this.base = undefined;
      if (err !== undefined) throw err;
    });
  }
}
