import { existsSync } from 'node:fs';
import type { StorageClient } from '../client/storage-client.ts';
import { FileWriter } from '../client/writer.ts';
import type { WriteOptions, WriteStats } from '../client/writer.ts';
import type { PlacedChunk } from '../client/commit-recovery.ts';
import type { ChunkStream } from '../chunking/chunker.ts';
import type { ChunkRef } from '../chunking/refs.ts';
import { StdchkError, errorMessage, isStdchkError } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { unary } from '../rpc/index.ts';
import type { CommitRequest } from '../generated/stdchk/v1/CommitRequest.ts';
import type { FileInfo__Output } from '../generated/stdchk/v1/FileInfo.ts';
import type { SpaceReserver } from './space-reserver.ts';
import type { StagedData, StagedEntry, Staging, StagingListener } from './staging.ts';
import type { WriteRegistry } from './write-registry.ts';
import { isAtOrUnder } from './write-registry.ts';
import { withOverhead } from './space-reserver.ts';

/** Versions uploaded at once (each with its own window of uploads in flight). */
const MAX_UPLOADS = 4;
/** Versions per CommitVersions transaction. */
const MAX_BATCH = 512;
/** Bytes of chunk lists per CommitVersions (the manager takes messages up to 64 MiB). */
const MAX_BATCH_REF_BYTES = 16 * 1024 * 1024;
/** Files at most this large are chunked on the calling thread (as in handle.ts). */
const INLINE_CHUNKING_BYTES = 256 * 1024;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;
const PAUSE_POLL_MS = 100;
/**
 * Uploads start once the application has paused this long (its writes and the
 * uploads share the mount's thread and this machine's cores: the application
 * goes first), unless something waits for them (fsync, the barrier), the
 * staging area is half full, or a version has waited MAX_DELAY_MS.
 */
const IDLE_MS = 100;
const MAX_DELAY_MS = 3_000;
/** Commit statistics kept for this many files (what getxattr of a folder sums). */
const MAX_STATS = 100_000;

/**
 * Test-only fault injection: while the file named by STDCHK_FAULT_UPLOAD_PAUSE
 * exists, the uploader starts no upload and no commit (close() still returns
 * as soon as the version is staged). Used to kill a mount between close()
 * and the upload, and to fill the staging area.
 */
function pauseFile(): string | undefined {
  return process.env.STDCHK_FAULT_UPLOAD_PAUSE || undefined;
}

export interface UploaderContext {
  client: StorageClient;
  staging: Staging;
  writes: WriteRegistry;
  reserver: SpaceReserver;
  /** Replicas, chunker pool, cache hook, recovery from the caches. */
  writeOptions: WriteOptions;
  inlineChunker: ChunkStream;
  logger: Logger;
  onCommit(path: string, info: FileInfo__Output): void;
  /** When the application last wrote or created a file through the mount (ms). */
  lastActivity(): number;
}

/** What the commits of files beneath a folder uploaded (getxattr user.stdchk.uploaded). */
export interface UploadStats {
  files: number;
  /** Bytes of the committed versions. */
  bytes: number;
  /** Bytes that had to be uploaded (new to the cluster, each chunk counted once). */
  newBytes: number;
  /** Bytes found already stored (deduplicated) or all-zero. */
  dedupBytes: number;
}

interface Upload {
  writer: FileWriter;
  request: CommitRequest;
}

const TRANSIENT: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'TIMEOUT']);

/** Transient failures (the manager or every benefactor unreachable) are retried; the others end the version. */
export function isTransient(e: unknown): boolean {
  return isStdchkError(e) && TRANSIENT.has(e.code);
}

/**
 * Uploads and commits what the staging journal holds, behind the
 * application: up to 4 versions are chunked and uploaded at once (dedup
 * lookups batched, uploads pipelined, as a synchronous close does), and the
 * ones ready are committed in seal order, many per CommitVersions
 * transaction. A version of a file superseded by a newer staged version of
 * the same file before its upload started is not uploaded at all.
 *
 * Failures: transient ones (manager or benefactors unreachable) are
 * retried with backoff (1 s to 30 s) for as long as the mount runs, the
 * data staying in the journal; every failed attempt is reported to the
 * fsync/barrier calls waiting then (EIO) and recorded at the file's path
 * until a later attempt commits. Other failures (no space, the folder was
 * removed, chunks lost and not recoverable) end the version: it leaves the
 * journal and its failure record stays until superseded (as a failed
 * synchronous commit does).
 */
export class Uploader implements StagingListener {
  private readonly uploads = new Map<StagedEntry, Upload>();
  private readonly running = new Map<StagedEntry, Promise<void>>();
  private committing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly stats = new Map<string, WriteStats>();
  private readonly freedWaiters: (() => void)[] = [];
  private pumping = false;
  private pumpAgain = false;

  constructor(private readonly ctx: UploaderContext) {
    ctx.staging.listener = this;
    for (const e of ctx.staging.queue) ctx.writes.begin(e);
    this.kick();
  }

  // --- StagingListener -----------------------------------------------------

  added(e: StagedEntry): void {
    this.ctx.writes.begin(e);
    this.kick();
  }

  hurry(_e: StagedEntry): void {
    this.kick();
  }

  freed(): void {
    const w = this.freedWaiters.splice(0);
    for (const fn of w) fn();
  }

  /** Resolves the next time staging space is freed (an upload finished, a file was dropped). */
  nextFree(): Promise<void> {
    return new Promise((resolve) => this.freedWaiters.push(resolve));
  }

  /** True while the fault injection holds the uploader (test-only). */
  get paused(): boolean {
    const f = pauseFile();
    return f !== undefined && existsSync(f);
  }

  /** Waits while the fault injection holds the uploader. */
  async waitUnpaused(): Promise<void> {
    while (this.paused && !this.stopping) await new Promise((r) => setTimeout(r, PAUSE_POLL_MS));
  }

  /** Uploads or commits under way, or versions waiting for them. */
  get busy(): boolean {
    return (
      this.running.size > 0 ||
      this.committing !== undefined ||
      this.ctx.staging.queue.length > 0 ||
      this.draining > 0
    );
  }

  /** Open files uploading their own data to make room (uploadData). */
  private draining = 0;

  // --- scheduling ------------------------------------------------------------

  kick(): void {
    if (this.stopping) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    queueMicrotask(() => {
      try {
        do {
          this.pumpAgain = false;
          this.pump();
        } while (this.pumpAgain);
      } finally {
        this.pumping = false;
      }
    });
  }

  private wakeAt(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.kick();
      },
      Math.max(10, ms),
    );
    this.timer.unref();
  }

  private pump(): void {
    if (this.stopping) return;
    const q = this.ctx.staging.queue;
    if (q.length === 0) return;
    if (this.paused) {
      this.wakeAt(PAUSE_POLL_MS);
      return;
    }
    const now = Date.now();
    let soonest = Infinity;
    const { staging } = this.ctx;
    const oldest = q.find((e) => e.state === 'staged')?.sealedAt ?? now;
    const idleFor = now - this.ctx.lastActivity();
    const go =
      idleFor >= IDLE_MS ||
      now - oldest >= MAX_DELAY_MS ||
      staging.used > staging.capacity / 2 ||
      q.some((e) => e.waited);
    if (!go) soonest = Math.min(now + IDLE_MS - idleFor, oldest + MAX_DELAY_MS);
    for (let i = 0; go && i < q.length && this.running.size < MAX_UPLOADS; i++) {
      const e = q[i] as StagedEntry;
      if (e.state !== 'staged') continue;
      if (e.retryAt > now) {
        soonest = Math.min(soonest, e.retryAt);
        continue;
      }
      const later = this.newerVersion(e, i);
      if (later) {
        // Never uploaded: the newer version of the file replaces it.
        e.next = later;
        void this.supersede(e);
        continue;
      }
      const p = this.upload(e).finally(() => {
        this.running.delete(e);
        this.kick();
      });
      this.running.set(e, p);
    }
    if (!this.committing) {
      const head = q[0];
      if (head?.state === 'uploaded') {
        if (head.retryAt > now) soonest = Math.min(soonest, head.retryAt);
        else {
          this.committing = this.commitReady()
            .catch((e: unknown) => this.ctx.logger.error({ err: errorMessage(e) }, 'commit round failed'))
            .finally(() => {
              this.committing = undefined;
              this.kick();
            });
        }
      }
    }
    if (soonest < Infinity) this.wakeAt(soonest - now);
  }

  /** A newer version of e's file, staged after it and not cancelled. */
  private newerVersion(e: StagedEntry, index: number): StagedEntry | undefined {
    const q = this.ctx.staging.queue;
    for (let j = q.length - 1; j > index; j--) {
      const x = q[j] as StagedEntry;
      if (x.path === e.path && x.state !== 'cancelled') return x;
    }
    return undefined;
  }

  private async supersede(e: StagedEntry): Promise<void> {
    void this.ctx.reserver.release(e.reservedBytes);
    e.reservedBytes = 0;
    await this.ctx.staging.finish(e, 'superseded');
    this.ctx.writes.end(e);
    e.settle();
  }

  // --- upload ----------------------------------------------------------------

  /** Bytes of the version at `c.offset` if its data is local (for a chunk lost before the commit). */
  private async recover(e: StagedEntry, c: PlacedChunk): Promise<Buffer | undefined> {
    let start = 0;
    for (const s of e.segments) {
      if (c.offset >= start && c.offset + c.length <= start + s.bytes && s.kind === 'file') {
        const d = await s.data.read(c.offset - start, c.length);
        if (this.ctx.client.chunks.matches(c.hash, d)) return d;
      }
      start += s.bytes;
    }
    return await this.ctx.writeOptions.recover?.(c);
  }

  private async upload(e: StagedEntry): Promise<void> {
    e.state = 'uploading';
    e.attempts++;
    let w: FileWriter | undefined;
    try {
      w = await FileWriter.create(this.ctx.client, e.path, {
        ...this.ctx.writeOptions,
        replicas: e.replicas,
        recover: (c) => this.recover(e, c),
        // Each batch placed holds its space at the manager from then on: our reservation for it goes.
        onPrepared: (bytes) => {
          const r = Math.min(e.reservedBytes, withOverhead(bytes));
          e.reservedBytes -= r;
          void this.ctx.reserver.release(r);
        },
      });
      const only = e.segments[0];
      if (e.segments.length === 1 && only?.kind === 'file' && only.bytes <= INLINE_CHUNKING_BYTES) {
        // A small file: chunked here, sparing two round trips to a chunker thread.
        const data = await only.data.read(0, only.bytes);
        const chunks = [...this.ctx.inlineChunker.push(data), ...this.ctx.inlineChunker.finish()];
        await w.writeChunks(chunks);
      } else {
        let afterData = false;
        for (const s of e.segments) {
          if (s.kind === 'refs') {
            if (afterData) await w.cut();
            w.appendRefs(s.version.refs());
            afterData = false;
            continue;
          }
          // The next piece is read while the writer takes this one.
          const pieces = s.data.stream(s.bytes);
          let next = pieces.next();
          for (;;) {
            const r = await next;
            if (r.done) break;
            next = pieces.next();
            if (this.stopping || e.state !== 'uploading') {
              await next.catch(() => undefined);
              await pieces.return(undefined);
              throw new StdchkError('UNAVAILABLE', 'upload stopped');
            }
            await w.write(r.value);
          }
          afterData = true;
        }
      }
      const request = await w.commitRequest({ path: e.path });
      if (e.state !== 'uploading') throw new StdchkError('UNAVAILABLE', 'upload stopped');
      this.uploads.set(e, { writer: w, request });
      e.stats = { ...w.stats };
      e.state = 'uploaded';
      // What is left (all-zero parts, never stored) is not needed either.
      void this.ctx.reserver.release(e.reservedBytes);
      e.reservedBytes = 0;
      for (const s of e.segments) if (s.kind === 'file') await s.data.closeFd();
    } catch (err) {
      await w?.abort().catch(() => undefined);
      if ((e.state as string) === 'cancelled') return; // unlinked meanwhile: finished by cancel()
      if (this.stopping) {
        e.state = 'staged';
        return;
      }
      await this.failed(e, err, 'staged');
    }
  }

  // --- commit ----------------------------------------------------------------

  private requestOf(e: StagedEntry): CommitRequest {
    const u = this.uploads.get(e) as Upload;
    return {
      ...u.request,
      path: e.path,
      mode: e.attrs.mode & 0o7777,
      uid: e.attrs.uid,
      gid: e.attrs.gid,
      mtimeMs: e.attrs.mtimeMs,
      setOwner: e.attrs.setOwner,
      ...(e.created && e.inode ? { inode: e.inode } : {}),
    };
  }

  /** Commits the versions at the head of the queue that are uploaded, in one transaction. */
  private async commitReady(): Promise<void> {
    if (this.paused) return;
    const batch: StagedEntry[] = [];
    const now = Date.now();
    let refBytes = 0;
    for (const e of this.ctx.staging.queue) {
      if (e.state !== 'uploaded' || e.retryAt > now || batch.length >= MAX_BATCH) break;
      // Chunk lists well under the manager's largest message (a huge file goes alone).
      const size = this.uploads.get(e)?.request.refs?.length ?? 0;
      if (batch.length > 0 && refBytes + size > MAX_BATCH_REF_BYTES) break;
      refBytes += size;
      batch.push(e);
    }
    if (batch.length === 0) return;
    // One commit per file: the newest version of the batch; the older ones are superseded by it.
    const newest = new Map<string, StagedEntry>();
    for (const e of batch) newest.set(e.path, e);
    const commits = batch.filter((e) => newest.get(e.path) === e);
    for (const e of commits) e.state = 'committing';
    let results: { info: FileInfo__Output | null; errorCode: string; error: string }[];
    try {
      const reply = await this.ctx.client.withRetry(() =>
        unary(
          this.ctx.client.manager,
          'commitVersions',
          { commits: commits.map((e) => this.requestOf(e)) },
          { timeoutMs: 120_000 },
        ),
      );
      results = reply.results;
      if (results.length !== commits.length)
        throw new StdchkError('INTERNAL', 'the manager answered a short batch');
    } catch (err) {
      for (const e of commits) await this.failed(e, err, 'uploaded');
      for (const e of batch) if (e.state === 'committing') e.state = 'uploaded';
      return;
    }
    for (let i = 0; i < commits.length; i++) {
      const e = commits[i] as StagedEntry;
      const r = results[i] as (typeof results)[number];
      if (!r.errorCode && r.info) {
        await this.committed(e, r.info);
        continue;
      }
      const err = new StdchkError(
        (r.errorCode || 'INTERNAL') as ErrorCode,
        `${e.path}: ${r.error || 'not committed'}`,
      );
      if (err.code !== 'CONFLICT') {
        await this.failed(e, err, 'uploaded');
        continue;
      }
      // A chunk was lost since the upload: re-reported, uploaded again from the staged data, or waited for.
      const u = this.uploads.get(e) as Upload;
      try {
        const req = this.requestOf(e);
        const info = await u.writer.commit({
          path: e.path,
          mode: req.mode,
          uid: req.uid,
          gid: req.gid,
          mtimeMs: e.attrs.mtimeMs,
          setOwner: e.attrs.setOwner,
          ...(e.created && e.inode ? { inode: e.inode } : {}),
        });
        await this.committed(e, info);
      } catch (e2) {
        await this.failed(e, e2, 'uploaded');
      }
    }
    for (const e of batch) {
      if (commits.includes(e)) continue;
      const n = newest.get(e.path) as StagedEntry;
      if (n.state === 'committed') {
        e.next = n;
        this.uploads.delete(e);
        await this.supersede(e);
      } else {
        e.state = 'uploaded'; // committed in a later round, if the newer one did not make it
      }
    }
  }

  private async committed(e: StagedEntry, info: FileInfo__Output): Promise<void> {
    const u = this.uploads.get(e);
    this.uploads.delete(e);
    e.info = info;
    if (u) e.stats = { ...u.writer.stats };
    // The new attributes are cached before the staged version stops answering getattr (a
    // stat in between saw the size and times of before).
    this.ctx.onCommit(e.path, info);
    await this.ctx.staging.finish(e, 'committed');
    this.ctx.writes.committed(e);
    if (e.stats) {
      if (this.stats.size >= MAX_STATS) this.stats.delete(this.stats.keys().next().value as string);
      this.stats.delete(e.path);
      this.stats.set(e.path, e.stats);
    }
    e.settle();
  }

  /**
   * An attempt failed: transient failures put the version back (`back`)
   * for a retry with backoff; others end it. Either way the waiters and the
   * folder barrier hear of it.
   */
  private async failed(e: StagedEntry, err: unknown, back: 'staged' | 'uploaded'): Promise<void> {
    e.error = err;
    this.ctx.writes.failed(e, err);
    if (isTransient(err) && !this.stopping) {
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(10, e.attempts - 1));
      e.retryAt = Date.now() + delay;
      e.state = back;
      this.ctx.logger.warn(
        { path: e.path, err: errorMessage(err), retryInMs: delay },
        'upload failed; retrying (the data stays staged)',
      );
      e.settle(err);
      this.wakeAt(delay);
      return;
    }
    this.ctx.logger.warn({ path: e.path, err: errorMessage(err) }, 'commit failed');
    const u = this.uploads.get(e);
    this.uploads.delete(e);
    await u?.writer.abort().catch(() => undefined);
    void this.ctx.reserver.release(e.reservedBytes);
    e.reservedBytes = 0;
    await this.ctx.staging.finish(e, 'failed');
    this.ctx.writes.end(e);
    e.settle(err);
  }

  /**
   * The file at `p` was unlinked (or is replaced): its staged versions are
   * dropped, except one whose commit is already out, which is waited for.
   */
  async cancel(p: string, opts: { under?: boolean } = {}): Promise<number> {
    let n = 0;
    const match = (e: StagedEntry) => (opts.under ? isAtOrUnder(e.path, p) : e.path === p);
    for (const e of [...this.ctx.staging.queue]) {
      if (!match(e)) continue;
      if (e.state === 'committing') {
        await e.sync().catch(() => undefined);
        continue;
      }
      if (e.done) continue;
      n++;
      const running = this.running.get(e);
      // Marks it cancelled: an upload under way sees it and stops.
      await this.ctx.staging.finish(e, 'cancelled');
      await running?.catch(() => undefined);
      const u = this.uploads.get(e);
      this.uploads.delete(e);
      await u?.writer.abort().catch(() => undefined);
      void this.ctx.reserver.release(e.reservedBytes);
      e.reservedBytes = 0;
      this.ctx.writes.end(e);
      e.settle();
    }
    return n;
  }

  // --- upload of a file still open (staging full) ------------------------------

  /**
   * Uploads `bytes` of `data` as chunks (durable on the replicas, not
   * committed) and returns their refs: how a file larger than the free
   * staging space makes room while it is written.
   */
  async uploadData(
    path: string,
    data: StagedData,
    bytes: number,
    replicas: number,
    onPrepared?: (bytes: number) => void,
  ): Promise<ChunkRef[]> {
    this.draining++;
    try {
      await this.waitUnpaused();
      const w = await FileWriter.create(this.ctx.client, path, {
        ...this.ctx.writeOptions,
        replicas,
        ...(onPrepared ? { onPrepared } : {}),
      });
      try {
        for await (const piece of data.stream(bytes)) await w.write(piece);
        return await w.cut();
      } finally {
        await w.abort().catch(() => undefined);
      }
    } finally {
      this.draining--;
    }
  }

  // --- statistics ----------------------------------------------------------------

  /** What the commits of files at or beneath `dir` uploaded (the newest commit of each, this mount's run). */
  statsUnder(dir: string): UploadStats {
    const out: UploadStats = { files: 0, bytes: 0, newBytes: 0, dedupBytes: 0 };
    for (const [p, s] of this.stats) {
      if (!isAtOrUnder(p, dir)) continue;
      out.files++;
      out.bytes += s.bytes;
      out.newBytes += s.bytesUploaded;
      out.dedupBytes += s.bytes - s.bytesUploaded;
    }
    return out;
  }

  // --- shutdown --------------------------------------------------------------------

  /** Waits until the journal is empty or `ms` passed; true if empty. */
  async drain(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    this.kick();
    while (this.ctx.staging.queue.length > 0 && Date.now() < deadline) {
      if (this.paused) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.ctx.staging.queue.length === 0;
  }

  /** Stops: uploads under way are abandoned (their versions stay in the journal), a commit under way ends. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.committing;
    await Promise.allSettled([...this.running.values()]);
    for (const u of this.uploads.values()) await u.writer.abort().catch(() => undefined);
    this.uploads.clear();
    this.freed();
  }
}
