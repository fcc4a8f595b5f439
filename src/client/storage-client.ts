import { ChunkCipher, EncryptedChunks } from './encryption.ts';
import { once } from 'node:events';
import path from 'node:path';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { connectManager, unary } from '../rpc/index.ts';
import type { ManagerClient } from '../rpc/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import { BenefactorPool } from './benefactor-pool.ts';
import { createChunks, resolveChunkTransport } from './chunks.ts';
import type { ChunkTransportKind, Chunks } from './chunks.ts';
import { FileWriter } from './writer.ts';
import type { WriteOptions, WriteStats } from './writer.ts';
import { FileReader, fetchChunks } from './reader.ts';
import type { ReadOptions } from './reader.ts';
import { StdchkError, connectionFailure, isStdchkError } from '../errors/index.ts';
import { normalizePath } from '../config/paths.ts';
import { openLocalOutput } from '../config/local-output.ts';
import type { LocalOutput } from '../config/local-output.ts';
import type { FileInfo__Output } from '../generated/stdchk/v1/FileInfo.ts';
import type { StatusReply__Output } from '../generated/stdchk/v1/StatusReply.ts';

export interface StorageClientOptions {
  managerAddress: string;
  secret?: Buffer | undefined;
  /** Mutual TLS to the manager and every benefactor. */
  tls?: TlsMaterial | undefined;
  /** How long retryable manager calls keep retrying (manager restarts). */
  retryForMs?: number;
  /** Told once per retried call that the manager did not answer (a CLI says "retrying" on a terminal). */
  onRetry?: (e: StdchkError) => void;
  /**
   * How chunk bytes travel: 'framed' (the chunk stream with chain
   * replication, docs/data-path.md) or 'grpc'. Default: STDCHK_CHUNK_TRANSPORT,
   * else chunks.ts DEFAULT_CHUNK_TRANSPORT.
   */
  chunkTransport?: ChunkTransportKind | undefined;
  /**
   * The cluster's chunk encryption key (encryption.ts, docs/security.md):
   * chunks are encrypted before they leave this process and decrypted when
   * read. Absent: stored as they are.
   */
  encryptionKey?: Buffer | undefined;
}

export interface ReadStats {
  bytes: number;
  chunks: number;
  seconds: number;
}

/**
 * The client library shared by the CLI and the mount: a manager connection,
 * pooled benefactor connections, and file-level write/read.
 */
export class StorageClient {
  readonly manager: ManagerClient;
  /** gRPC connections to benefactors (also what the gRPC chunk engine uses). */
  readonly pool: BenefactorPool;
  /** Where chunk bytes go and come from (chunks.ts). */
  readonly chunks: Chunks;
  private readonly retryForMs: number;

  constructor(private readonly opts: StorageClientOptions) {
    const creds = { secret: opts.secret, tls: opts.tls };
    this.manager = connectManager(opts.managerAddress, creds);
    this.pool = new BenefactorPool(creds);
    const chunks = createChunks(opts.chunkTransport ?? resolveChunkTransport(), this.pool, creds);
    this.chunks = opts.encryptionKey
      ? new EncryptedChunks(chunks, new ChunkCipher(opts.encryptionKey))
      : chunks;
    this.retryForMs = opts.retryForMs ?? 30_000;
  }

  /** Retries an idempotent call while the manager is unreachable (e.g. restarting). */
  async withRetry<T>(fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const deadline = started + this.retryForMs;
    let delay = 100;
    let told = false;
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (!isStdchkError(e) || !(e.code === 'UNAVAILABLE' || e.code === 'TIMEOUT')) throw e;
        const down = connectionFailure(e.message);
        if (Date.now() > deadline) {
          if (!down) throw e;
          const after = ((Date.now() - started) / 1000).toFixed(0);
          throw new StdchkError(
            'UNAVAILABLE',
            `manager at ${this.opts.managerAddress} is not reachable: ${down} (gave up after ${after} s)`,
            { cause: e },
          );
        }
        if (!told) {
          told = true;
          this.opts.onRetry?.(e);
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  stat(path: string): Promise<FileInfo__Output> {
    return this.withRetry(() => unary(this.manager, 'stat', { path: normalizePath(path) }));
  }

  async list(path: string): Promise<FileInfo__Output[]> {
    return (await this.withRetry(() => unary(this.manager, 'list', { path: normalizePath(path) }))).entries;
  }

  mkdir(path: string, opts: { parents?: boolean; mode?: number } = {}): Promise<FileInfo__Output> {
    return unary(this.manager, 'mkdir', {
      path: normalizePath(path),
      parents: opts.parents ?? false,
      mode: opts.mode ?? 0o755,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
    });
  }

  async remove(path: string, opts: { recursive?: boolean; directory?: boolean } = {}): Promise<void> {
    await unary(this.manager, 'remove', {
      path: normalizePath(path),
      recursive: opts.recursive ?? false,
      directory: opts.directory ?? false,
    });
  }

  async rename(from: string, to: string): Promise<void> {
    await unary(this.manager, 'rename', { from: normalizePath(from), to: normalizePath(to) });
  }

  status(): Promise<StatusReply__Output> {
    return this.withRetry(() => unary(this.manager, 'status', {}));
  }

  openWriter(path: string, opts: WriteOptions = {}): Promise<FileWriter> {
    return FileWriter.create(this, normalizePath(path), opts);
  }

  openReader(path: string, opts: ReadOptions = {}): Promise<FileReader> {
    return FileReader.open(this, normalizePath(path), opts);
  }

  /** Verified chunk data by hex hash; `lengths` (one per hash) also checks each chunk's length. */
  fetchChunks(hashes: readonly Buffer[], lengths?: readonly number[]): Promise<Map<string, Buffer>> {
    return fetchChunks(this, hashes, lengths);
  }

  /** Stores a local file as a new version of `remote`; `onProgress` is told the bytes read so far. */
  async putFile(
    local: string,
    remote: string,
    { onProgress, ...opts }: WriteOptions & { onProgress?: (bytes: number) => void } = {},
  ): Promise<WriteStats> {
    let input: FileHandle;
    try {
      input = await open(local, 'r');
    } catch (e) {
      throw new StdchkError('INVALID_ARGUMENT', `cannot read ${local}: ${(e as Error).message}`);
    }
    // A chunk lost before the commit is read again from the local file (still open until then).
    const recover = async (c: { offset: number; length: number }) => {
      const buf = Buffer.allocUnsafe(c.length);
      const { bytesRead } = await input.read(buf, 0, c.length, c.offset);
      return bytesRead === c.length ? buf : undefined;
    };
    try {
      const writer = await this.openWriter(remote, { recover, ...opts });
      let position = 0;
      try {
        for (;;) {
          // A fresh buffer per read: the writer hands it to the chunker thread.
          const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
          const { bytesRead } = await input.read(buf, 0, buf.length, position);
          if (bytesRead === 0) break;
          position += bytesRead;
          await writer.write(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
          onProgress?.(position);
        }
      } catch (e) {
        await writer.abort();
        throw e instanceof StdchkError
          ? e
          : new StdchkError('INVALID_ARGUMENT', `cannot read ${local}: ${(e as Error).message}`);
      }
      return (await writer.close()).stats;
    } finally {
      await input.close();
    }
  }

  /**
   * Reads `remote` into `local`: a regular file is written beside it and renamed
   * over it when complete; anything else that exists (/dev/null, a FIFO) is
   * written in place; "-" is standard output. `onStart` is told the size once
   * the version is open, `onProgress` the bytes written so far.
   */
  async getFile(
    remote: string,
    local: string,
    {
      onStart,
      onProgress,
      ...opts
    }: ReadOptions & { onStart?: (size: number) => void; onProgress?: (bytes: number) => void } = {},
  ): Promise<ReadStats> {
    const started = performance.now();
    const reader = await this.openReader(remote, opts);
    let written = 0;
    const done = () => ({
      bytes: reader.size,
      chunks: reader.refs.length,
      seconds: (performance.now() - started) / 1000,
    });
    if (local === '-') {
      try {
        onStart?.(reader.size);
        for await (const piece of reader.stream()) {
          if (!process.stdout.write(piece)) await once(process.stdout, 'drain');
          onProgress?.((written += piece.length));
        }
      } finally {
        await reader.close();
      }
      return done();
    }
    // A private temporary file renamed over `local`, never a planted symlink followed (config/local-output.ts).
    let out: LocalOutput;
    try {
      out = await openLocalOutput(local);
    } catch (e) {
      await reader.close();
      // The temporary file's name is ours, not the user's: say what is wrong with theirs.
      const err = e as NodeJS.ErrnoException;
      const why =
        err.code === 'ENOENT'
          ? `no such folder: ${path.dirname(path.resolve(local))}`
          : err.code === 'EACCES' || err.code === 'EPERM'
            ? `permission denied in ${path.dirname(path.resolve(local))}`
            : err.code === 'ENOTDIR'
              ? `not a folder: ${path.dirname(path.resolve(local))}`
              : err.message.replace(/, open '.*\.stdchk-[0-9a-f]+\.tmp'$/, '');
      throw new StdchkError('INVALID_ARGUMENT', `cannot write ${local}: ${why}`);
    }
    try {
      onStart?.(reader.size);
      for await (const piece of reader.stream()) {
        await out.fh.write(piece);
        onProgress?.((written += piece.length));
      }
      await out.finish();
    } catch (e) {
      await out.abort();
      throw e;
    } finally {
      await reader.close();
    }
    return done();
  }

  close(): void {
    this.chunks.close();
    this.pool.close();
    this.manager.close();
  }
}
