import type { StorageClient } from './storage-client.ts';
import type { ChunkBatch, ChunkTarget, ChunkTransportKind } from './chunks.ts';
import type { Chunk } from '../chunking/chunker.ts';
import { WorkerChunker } from '../chunking/worker-chunker.ts';
import type { ChunkerPool } from './chunker-pool.ts';
import { DEFAULT_CHUNKER_PARAMS } from '../chunking/params.ts';
import type { ChunkerParams } from '../chunking/params.ts';
import { encodeRefs, isHole, MAX_CHUNK_BYTES } from '../chunking/refs.ts';
import type { ChunkRef } from '../chunking/refs.ts';
import { ZERO_HASH, hex } from '../hashing/index.ts';
import { StdchkError, errorMessage, isStdchkError } from '../errors/index.ts';
import { unary } from '../rpc/index.ts';
import type { FileInfo__Output } from '../generated/stdchk/v1/FileInfo.ts';
import type { BenefactorRef__Output } from '../generated/stdchk/v1/BenefactorRef.ts';
import type { ReportStoredRequest } from '../generated/stdchk/v1/ReportStoredRequest.ts';
import type { CommitRequest } from '../generated/stdchk/v1/CommitRequest.ts';
import { commitWithRecovery } from './commit-recovery.ts';
import type { PlacedChunk, RecoverChunk } from './commit-recovery.ts';

export interface WriteOptions {
  /** Replicas every chunk gets (default 2). */
  replicas?: number;
  /**
   * Replicas durable before close()/commit() return (default: all of them).
   * Fewer: the version is committed with `replicas` as its target and the
   * manager makes the missing copies in the background, from a benefactor
   * that holds the chunk (what stdchk calls optimistic writes).
   */
  syncReplicas?: number;
  chunker?: ChunkerParams;
  mode?: number;
  uid?: number;
  gid?: number;
  mtimeMs?: number;
  /** When the commit creates the file: a number from ReserveInodes for it (the mount's new files). */
  inode?: number;
  /** Fail with CONFLICT if the file's newest version is no longer this one. */
  baseVersion?: number;
  /** Give an existing file mode/uid/gid too (else they apply only when the commit creates it). */
  setOwner?: boolean;
  /** Bytes of new chunks per upload message (the network frame, not the dedup unit). */
  batchBytes?: number;
  /** Upload batches in flight at once; bounds the writer's memory with batchBytes. */
  inFlight?: number;
  /** Borrow the chunker thread from this pool (and give it back) instead of starting one. */
  chunkerPool?: ChunkerPool;
  /** Sees every non-zero chunk as it is cut (e.g. to fill a local chunk cache); must not keep it long. */
  onChunk?: (hash: Buffer, data: Buffer) => void;
  /**
   * Gives back a chunk's bytes by offset or hash if the caller still has them,
   * so that a chunk lost between the dedup lookup and the commit is uploaded
   * again instead of failing the commit (see commit-recovery.ts).
   */
  recover?: RecoverChunk;
  /** How long a commit waits for lost chunks to come back (or re-uploads them) before failing. Default 60 s. */
  recoveryWaitMs?: number;
  /**
   * Told the bytes of each batch once the manager has looked it up and, for
   * its new chunks, chosen targets and set their space aside (a write-back
   * mount then gives back the reservation it held for those bytes).
   */
  onPrepared?: (bytes: number) => void;
}

export interface WriteStats {
  bytes: number;
  /** Bytes of chunks that had to be uploaded (each unique chunk once, whatever the replica count). */
  bytesUploaded: number;
  /** Bytes sent over the network, all replicas included. */
  bytesSent: number;
  chunks: number;
  chunksUploaded: number;
  zeroBytes: number;
  seconds: number;
}

export const DEFAULT_REPLICAS = 2;
/**
 * Batches (one dedup lookup, one store, one report each) and how many are in
 * flight, by chunk transport. gRPC: 1 MiB messages, 8 at once (HTTP/2 frames
 * are 16 KiB whatever the message). The framed stream: 4 MiB frames, 4 at
 * once (the same 16 MiB window; a quarter of the manager calls).
 */
const DEFAULT_BATCH_BYTES: Record<ChunkTransportKind, number> = {
  grpc: 1024 * 1024,
  framed: 4 * 1024 * 1024,
};
const DEFAULT_IN_FLIGHT: Record<ChunkTransportKind, number> = { grpc: 8, framed: 4 };
const MAX_BATCH_CHUNKS = 1024;
const MAX_TARGET_ATTEMPTS = 6;

/**
 * Streams one file version into the cluster: chunk + hash off the main thread,
 * batched dedup lookups, uploads of new chunks to `replicas` benefactors with
 * several batches in flight, then an atomic commit. Nothing is committed
 * before every chunk is durable on enough replicas.
 */
export class FileWriter {
  private readonly refs: ChunkRef[] = [];
  private batch: Chunk[] = [];
  private batchBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  /** Every ReportStored this writer made, sent again if a commit finds chunks unknown. */
  private readonly reports: ReportStoredRequest[] = [];
  private failure: StdchkError | undefined;
  private closed = false;
  /** Sum of the lengths in `refs`; equals stats.bytes exactly when no chunk is in progress. */
  private refBytes = 0;
  private path_: string;
  private chunkerReleased = false;
  private readonly started = performance.now();
  readonly stats: WriteStats = {
    bytes: 0,
    bytesUploaded: 0,
    bytesSent: 0,
    chunks: 0,
    chunksUploaded: 0,
    zeroBytes: 0,
    seconds: 0,
  };
  readonly replicas: number;
  readonly syncReplicas: number;
  private readonly opts: WriteOptions;

  /** Borrowed (or started) at the first write(): a writer fed only whole chunks never needs one. */
  private chunker: WorkerChunker | undefined;

  private constructor(
    private readonly client: StorageClient,
    path: string,
    opts: WriteOptions,
  ) {
    this.opts = { ...opts };
    this.replicas = opts.replicas ?? DEFAULT_REPLICAS;
    // A mount's setting applies to every file, whatever replica count each has.
    this.syncReplicas = Math.min(opts.syncReplicas ?? this.replicas, this.replicas);
    this.path_ = path;
  }

  /** Where the next commit goes. */
  get path(): string {
    return this.path_;
  }

  static async create(client: StorageClient, path: string, opts: WriteOptions = {}): Promise<FileWriter> {
    const replicas = opts.replicas ?? DEFAULT_REPLICAS;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 16) {
      throw new StdchkError('INVALID_ARGUMENT', `replicas must be an integer from 1 to 16, not ${replicas}`);
    }
    const sync = opts.syncReplicas ?? replicas;
    if (!Number.isInteger(sync) || sync < 1 || sync > 16) {
      throw new StdchkError('INVALID_ARGUMENT', `sync replicas must be an integer from 1 to 16, not ${sync}`);
    }
    return new FileWriter(client, path, opts);
  }

  private async chunkerNow(): Promise<WorkerChunker> {
    if (this.chunker) return this.chunker;
    if (this.chunkerReleased) throw new StdchkError('INVALID_ARGUMENT', 'write after detach');
    const params = this.opts.chunker ?? DEFAULT_CHUNKER_PARAMS;
    this.chunker = this.opts.chunkerPool
      ? await this.opts.chunkerPool.acquire(params)
      : await WorkerChunker.create(params);
    return this.chunker;
  }

  /** Appends data; resolves when the data is accepted (waits while the upload window is full). */
  async write(data: Buffer): Promise<void> {
    if (this.closed) throw new StdchkError('INVALID_ARGUMENT', 'write after close');
    this.throwIfFailed();
    const chunker = await this.chunkerNow();
    this.stats.bytes += data.length;
    const chunks = await chunker.push(data);
    await this.accept(chunks);
  }

  /**
   * Appends chunks the caller cut itself with the same chunker parameters
   * (e.g. a small file chunked in-thread, sparing two round trips to the
   * chunker thread). Only at a chunk boundary, like appendRefs().
   */
  async writeChunks(chunks: Chunk[]): Promise<void> {
    if (this.closed) throw new StdchkError('INVALID_ARGUMENT', 'write after close');
    if (this.refBytes !== this.stats.bytes) {
      throw new StdchkError('INVALID_ARGUMENT', 'writeChunks in the middle of a chunk (call cut() first)');
    }
    this.throwIfFailed();
    for (const c of chunks) this.stats.bytes += c.length;
    await this.accept(chunks);
  }

  /** Flushes, waits for every upload and commits the version. */
  async close(): Promise<{ info: FileInfo__Output; stats: WriteStats }> {
    if (this.closed) throw new StdchkError('INVALID_ARGUMENT', 'close called twice');
    let ok = false;
    try {
      await this.cut();
      this.closed = true;
      const info = await this.commitRefs();
      ok = true;
      return { info, stats: { ...this.stats } };
    } finally {
      this.closed = true;
      await this.releaseChunker(!ok);
    }
  }

  /**
   * Ends the chunk in progress at the current position and waits until every
   * chunk so far is stored on its replicas; returns the chunk list so far.
   * The writer stays open: later writes start a new chunk.
   */
  async cut(): Promise<ChunkRef[]> {
    if (this.closed) throw new StdchkError('INVALID_ARGUMENT', 'write after close');
    // The chunker holds bytes only if more was written than chunks came back.
    if (this.refBytes !== this.stats.bytes) await this.accept(await (await this.chunkerNow()).finish());
    this.flushBatch();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    return this.refs.map((r) => ({ hash: r.hash, length: r.length }));
  }

  /**
   * Commits everything written so far as a new version (what fsync needs)
   * and stays open for more writes; a later commit() or close() commits the
   * whole content again. `path` retargets this and later commits (the file
   * was renamed while open); mode/uid/gid/mtimeMs replace those given at
   * create() for this and later commits.
   */
  async commit(
    opts: { path?: string } & Pick<
      WriteOptions,
      'mode' | 'uid' | 'gid' | 'mtimeMs' | 'inode' | 'setOwner'
    > = {},
  ): Promise<FileInfo__Output> {
    const { path, ...meta } = opts;
    if (path !== undefined) this.path_ = path;
    for (const [k, v] of Object.entries(meta)) if (v !== undefined) Object.assign(this.opts, { [k]: v });
    await this.cut();
    return this.commitRefs();
  }

  /**
   * Waits until every chunk written so far is durable on its replicas and
   * returns the CommitVersion request for that content, for the caller to
   * send in a batch (CommitVersions); if the batch refuses it (a chunk lost
   * meanwhile: CONFLICT), commit() does it alone with recovery. No more
   * writes after this; the chunker thread is given back.
   */
  async commitRequest(
    opts: { path?: string } & Pick<WriteOptions, 'mode' | 'uid' | 'gid' | 'mtimeMs' | 'setOwner'> = {},
  ): Promise<CommitRequest> {
    const { path, ...meta } = opts;
    if (path !== undefined) this.path_ = path;
    for (const [k, v] of Object.entries(meta)) if (v !== undefined) Object.assign(this.opts, { [k]: v });
    await this.cut();
    await this.releaseChunker(false);
    return this.request();
  }

  private request(): CommitRequest {
    return {
      path: this.path,
      refs: encodeRefs(this.refs),
      size: this.stats.bytes,
      replicas: this.replicas,
      ...(this.opts.baseVersion !== undefined ? { baseVersion: this.opts.baseVersion } : {}),
      mode: this.opts.mode ?? 0o644,
      uid: this.opts.uid ?? process.getuid?.() ?? 0,
      gid: this.opts.gid ?? process.getgid?.() ?? 0,
      ...(this.opts.mtimeMs !== undefined ? { mtimeMs: this.opts.mtimeMs } : {}),
      ...(this.opts.inode !== undefined ? { inode: this.opts.inode } : {}),
      ...(this.opts.setOwner ? { setOwner: true } : {}),
    };
  }

  private async commitRefs(): Promise<FileInfo__Output> {
    const request = this.request();
    const info = await commitWithRecovery({
      client: this.client,
      path: this.path,
      commit: () => unary(this.client.manager, 'commitVersion', request, { timeoutMs: 120_000 }),
      chunks: () => this.placedChunks(),
      reports: this.reports,
      upload: (chunks) => this.uploadBatch(chunks),
      recover: this.opts.recover,
      baseVersion: this.opts.baseVersion,
      ...(this.opts.recoveryWaitMs !== undefined ? { giveUpAfterMs: this.opts.recoveryWaitMs } : {}),
    });
    this.stats.seconds = (performance.now() - this.started) / 1000;
    return info;
  }

  /** The non-hole chunks committed so far, with their offsets. */
  private *placedChunks(): Generator<PlacedChunk> {
    let offset = 0;
    for (const r of this.refs) {
      if (!isHole(r)) yield { hash: r.hash, length: r.length, offset };
      offset += r.length;
    }
  }

  /**
   * Adds chunks that are already stored (e.g. an existing version's, when
   * appending to it) after what was written so far. Only at a chunk
   * boundary: before any write(), or right after cut()/commit().
   */
  appendRefs(refs: readonly ChunkRef[]): void {
    if (this.closed) throw new StdchkError('INVALID_ARGUMENT', 'appendRefs after close');
    if (this.refBytes !== this.stats.bytes) {
      throw new StdchkError('INVALID_ARGUMENT', 'appendRefs in the middle of a chunk (call cut() first)');
    }
    for (const r of refs) {
      if (isHole(r)) this.appendHole(r.length);
      else this.refs.push({ hash: r.hash, length: r.length });
      this.refBytes += r.length;
      this.stats.bytes += r.length;
      this.stats.chunks++;
    }
  }

  /** Drops the version being written (nothing is committed). */
  async abort(): Promise<void> {
    this.closed = true;
    this.failure ??= new StdchkError('INVALID_ARGUMENT', 'write aborted');
    await Promise.allSettled(this.inFlight);
    await this.releaseChunker(true);
  }

  private async releaseChunker(mayHoldData: boolean): Promise<void> {
    if (this.chunkerReleased) return;
    this.chunkerReleased = true;
    const c = this.chunker;
    this.chunker = undefined;
    if (!c) return;
    if (this.opts.chunkerPool) await this.opts.chunkerPool.release(c, mayHoldData);
    else await c.close();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private async accept(chunks: Chunk[]): Promise<void> {
    for (const c of chunks) {
      this.stats.chunks++;
      this.refBytes += c.length;
      if (c.zero) {
        this.stats.zeroBytes += c.length;
        this.appendHole(c.length);
        continue;
      }
      // Its stored form (encrypted when the cluster encrypts): the address listed and looked up.
      const stored = this.client.chunks.encrypted ? this.client.chunks.seal(c.hash, c.data as Buffer) : c;
      this.refs.push({ hash: stored.hash, length: c.length });
      if (this.opts.onChunk) this.opts.onChunk(stored.hash, c.data as Buffer);
      this.batch.push(stored === c ? c : { ...c, hash: stored.hash, data: stored.data });
      this.batchBytes += c.length;
      if (
        this.batchBytes >= (this.opts.batchBytes ?? DEFAULT_BATCH_BYTES[this.client.chunks.kind]) ||
        this.batch.length >= MAX_BATCH_CHUNKS
      ) {
        this.flushBatch();
      }
    }
    while (this.inFlight.size >= (this.opts.inFlight ?? DEFAULT_IN_FLIGHT[this.client.chunks.kind])) {
      await Promise.race(this.inFlight);
    }
    this.throwIfFailed();
  }

  /** Runs of zero chunks merge into one hole reference (never stored or sent). */
  private appendHole(length: number): void {
    const last = this.refs[this.refs.length - 1];
    if (last && last.hash === ZERO_HASH && last.length + length <= MAX_CHUNK_BYTES) {
      last.length += length;
      return;
    }
    this.refs.push({ hash: ZERO_HASH, length });
  }

  private flushBatch(): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const p = this.uploadBatch(batch).catch((e: unknown) => {
      this.failure ??=
        e instanceof StdchkError ? e : new StdchkError('INTERNAL', errorMessage(e), { cause: e });
    });
    const tracked = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async uploadBatch(batch: Chunk[]): Promise<void> {
    const unique = new Map<string, Chunk>();
    for (const c of batch) unique.set(hex(c.hash), c);
    const chunks = [...unique.values()];
    const prep = await this.client.withRetry(() =>
      unary(this.client.manager, 'prepareChunks', {
        refs: encodeRefs(chunks.map((c) => ({ hash: c.hash, length: c.length }))),
        // A chunk already on the replicas a commit needs now is not sent again.
        replicas: this.syncReplicas,
        encrypted: this.client.chunks.encrypted,
      }),
    );
    this.opts.onPrepared?.(chunks.reduce((n, c) => n + c.length, 0));
    const missing = chunks.filter((_, i) => prep.present[i] !== 1);
    if (missing.length === 0) return;
    const prepared = this.client.chunks.batch(missing.map((c) => ({ hash: c.hash, data: c.data as Buffer })));
    const bytes = prepared.bytes;
    const stored = await this.storeOnReplicas(prepared, prep.targets);
    const refs = encodeRefs(missing.map((c) => ({ hash: c.hash, length: c.length })));
    // Each replica's store stamp goes with it: the manager ignores a report older than
    // a delete it sent there since (this report, sent again after a CONFLICT, may be).
    const report: ReportStoredRequest = {
      replicas: stored.map((r) => ({ benefactorId: r.id, refs, stamp: r.stamp })),
    };
    await this.client.withRetry(() => unary(this.client.manager, 'reportStored', report));
    this.reports.push(report);
    this.stats.chunksUploaded += missing.length;
    this.stats.bytesUploaded += bytes;
    this.stats.bytesSent += bytes * stored.length;
  }

  /**
   * Stores the batch on `syncReplicas` distinct benefactors, through the
   * client's chunk engine (chunks.ts: a chain on the framed stream, parallel
   * streams on gRPC). Replicas that failed are replaced by targets the
   * manager allocates, excluding every target tried; ones a failed link
   * kept the request from are tried again in the next round. Fails with
   * UNAVAILABLE (NO_SPACE when space was what lacked) after too many
   * failures, naming the last ones.
   */
  private async storeOnReplicas(
    batch: ChunkBatch,
    initial: BenefactorRef__Output[],
  ): Promise<{ id: string; stamp: number }[]> {
    const want = this.syncReplicas;
    const tried = new Set<string>();
    const errors: string[] = [];
    const stored: { id: string; stamp: number }[] = [];
    /** Some target (or the manager) refused for lack of space: the cluster is short of it. */
    let noSpace = false;
    let failures = 0;
    const spare: ChunkTarget[] = [];
    for (const t of initial) {
      if (spare.length >= want || tried.has(t.id)) continue;
      tried.add(t.id);
      spare.push(t);
    }
    while (stored.length < want && failures < MAX_TARGET_ATTEMPTS * want) {
      const need = want - stored.length;
      const chain = spare.splice(0, need);
      if (chain.length < need) {
        const alloc = await this.client
          .withRetry(() =>
            unary(this.client.manager, 'allocateTargets', {
              count: need - chain.length,
              bytes: batch.bytes,
              exclude: [...tried],
            }),
          )
          .catch((e: unknown) => {
            if (isStdchkError(e, 'NO_SPACE')) noSpace = true;
            errors.push(errorMessage(e));
            return undefined;
          });
        for (const t of alloc?.targets ?? []) {
          // Another batch may have been given the same replacement: each target once per chain.
          if (tried.has(t.id)) continue;
          tried.add(t.id);
          chain.push(t);
        }
        if (chain.length === 0) break;
      }
      const outcomes = await this.client.chunks.store(batch, chain);
      for (const o of outcomes) {
        if (o.ok) {
          stored.push({ id: o.target.id, stamp: o.stamp });
        } else if (!o.attempted) {
          spare.push(o.target);
        } else {
          failures++;
          errors.push(`${o.target.id} (${o.target.dataAddress || o.target.address}): ${o.error.message}`);
          if (isStdchkError(o.error, 'NO_SPACE')) noSpace = true;
          if (isStdchkError(o.error, 'INVALID_ARGUMENT')) throw o.error;
        }
      }
    }
    if (stored.length < want) {
      const why = errors.length ? `: ${errors.slice(-3).join('; ')}` : '';
      const code = noSpace ? 'NO_SPACE' : 'UNAVAILABLE';
      throw new StdchkError(code, `stored ${stored.length} of ${want} replicas${why}`);
    }
    return stored;
  }
}
