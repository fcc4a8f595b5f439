import { StdchkError, errorMessage } from '../errors/index.ts';
import { hashChunk, hex } from '../hashing/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import { storeFrame } from './benefactor-pool.ts';
import type { ChunkPayload, StoreFrame, BenefactorPool } from './benefactor-pool.ts';
import { DataClientPool } from '../transport/data-client.ts';
import type { DataTarget } from '../transport/data-client.ts';
import { MAX_READ_HASHES, packRefs } from '../transport/frames.ts';
import { localHostId } from '../transport/socket.ts';

/**
 * How chunk bytes travel between a client and the benefactors: the seam
 * between the write/read pipelines (writer.ts, reader.ts) and the wire.
 * Two engines: the framed chunk stream with chain replication (the
 * default; docs/data-path.md) and gRPC (`StoreChunks`/`ReadChunks`, each
 * replica sent its own copy), chosen by one setting (`chunkTransport`,
 * `--chunk-transport`, STDCHK_CHUNK_TRANSPORT).
 */

/** A benefactor as the manager hands it out (BenefactorRef). */
export interface ChunkTarget {
  id: string;
  /** gRPC address. */
  address: string;
  /** Framed chunk stream address; '' or absent when the benefactor has none. */
  dataAddress?: string | undefined;
  /** The same stream's Unix socket, used when this process is on its host and may open it. */
  dataSocket?: string | undefined;
  /** The machine of that socket (socket.ts localHostId). */
  dataSocketHost?: string | undefined;
}

/** The target's Unix socket if it is on this machine, else undefined (TCP). */
function localSocket(t: ChunkTarget): string | undefined {
  return t.dataSocket && t.dataSocketHost === localHostId() ? t.dataSocket : undefined;
}

/** Chunks ready to store, prepared once however many stores (and retries) follow. */
export interface ChunkBatch {
  readonly chunks: readonly ChunkPayload[];
  /** Sum of the chunks' lengths. */
  readonly bytes: number;
}

/** What one replica did with a store: acknowledged with its store stamp, or failed (or was never reached). */
export type ReplicaOutcome =
  | { target: ChunkTarget; ok: true; stamp: number; stored: number; existing: number }
  | {
      target: ChunkTarget;
      ok: false;
      error: StdchkError;
      /** False when the request never reached this replica (a link before it failed): it may be tried again. */
      attempted: boolean;
    };

export interface Chunks {
  readonly kind: ChunkTransportKind;
  /** Whether chunks are stored encrypted (encryption.ts). */
  readonly encrypted: boolean;
  /**
   * A chunk's stored form, from its plaintext and the plaintext's hash:
   * the address it is stored and listed under, and its bytes. The same
   * chunk without encryption; encrypted by EncryptedChunks.
   */
  seal(plainHash: Uint8Array, data: Uint8Array): ChunkPayload;
  /** Whether `plaintext` is the content of the chunk stored at `hash` (for local copies of chunks). */
  matches(hash: Uint8Array, plaintext: Uint8Array): boolean;
  batch(chunks: readonly ChunkPayload[]): ChunkBatch;
  /**
   * Stores the batch durably on every target (one outcome per target, in
   * order). Never rejects for a replica's failure: each outcome says. The
   * ack's stamp goes to the manager with ReportStored (docs/reliability.md).
   */
  store(batch: ChunkBatch, targets: readonly ChunkTarget[], timeoutMs?: number): Promise<ReplicaOutcome[]>;
  /**
   * Chunks from one benefactor by hex hash, each verified against its hash
   * here (a benefactor is never trusted to serve correct bytes); a chunk it
   * does not hold, or holds corrupt, is absent. Rejects if it cannot be read.
   */
  read(target: ChunkTarget, hashes: readonly Buffer[], timeoutMs?: number): Promise<Map<string, Buffer>>;
  close(): void;
}

export {
  CHUNK_TRANSPORTS,
  CHUNK_TRANSPORT_ENV,
  DEFAULT_CHUNK_TRANSPORT,
  resolveChunkTransport,
} from './transport-kind.ts';
export type { ChunkTransportKind } from './transport-kind.ts';
import type { ChunkTransportKind } from './transport-kind.ts';

const DEFAULT_TIMEOUT_MS = 60_000;

function asError(e: unknown): StdchkError {
  return e instanceof StdchkError ? e : new StdchkError('INTERNAL', errorMessage(e), { cause: e });
}

function verified(chunks: Iterable<ChunkPayload>, out = new Map<string, Buffer>()): Map<string, Buffer> {
  for (const c of chunks) if (hashChunk(c.data).equals(c.hash)) out.set(hex(c.hash), c.data);
  return out;
}

interface GrpcBatch extends ChunkBatch {
  frame?: StoreFrame;
}

/** Chunks over gRPC: every replica gets its own StoreChunks request (the same encoded bytes), in parallel. */
export class GrpcChunks implements Chunks {
  readonly kind = 'grpc';
  readonly encrypted = false;

  seal(plainHash: Uint8Array, data: Uint8Array): ChunkPayload {
    return { hash: plainHash as Buffer, data: data as Buffer };
  }

  matches(hash: Uint8Array, plaintext: Uint8Array): boolean {
    return hashChunk(plaintext).equals(hash);
  }

  constructor(readonly pool: BenefactorPool) {}

  batch(chunks: readonly ChunkPayload[]): ChunkBatch {
    return { chunks, bytes: chunks.reduce((n, c) => n + c.data.length, 0) };
  }

  store(
    batch: ChunkBatch,
    targets: readonly ChunkTarget[],
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ReplicaOutcome[]> {
    const b = batch as GrpcBatch;
    // Encoded once, sent as is to every replica and every retry.
    b.frame ??= storeFrame(batch.chunks);
    const frame = b.frame;
    return Promise.all(
      targets.map(async (target): Promise<ReplicaOutcome> => {
        try {
          const ack = await this.pool.store(target.address, frame, timeoutMs);
          return { target, ok: true, stamp: ack.stamp, stored: ack.stored, existing: ack.existing };
        } catch (e) {
          return { target, ok: false, error: asError(e), attempted: true };
        }
      }),
    );
  }

  read(
    target: ChunkTarget,
    hashes: readonly Buffer[],
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<Map<string, Buffer>> {
    return this.pool.read(target.address, [...hashes], timeoutMs);
  }

  close(): void {
    this.pool.close();
  }
}

interface FramedBatch extends ChunkBatch {
  refs?: Buffer;
  data?: Buffer[];
}

/**
 * Chunks over the framed stream with chain replication: a store goes once,
 * to the first target, naming the others; each benefactor stores and
 * forwards to the next, and the ack comes back along the chain with every
 * replica's stamp. Targets without a data port (older benefactors) are
 * served by the gRPC engine.
 */
export class FramedChunks implements Chunks {
  readonly kind = 'framed';
  readonly encrypted = false;

  seal(plainHash: Uint8Array, data: Uint8Array): ChunkPayload {
    return { hash: plainHash as Buffer, data: data as Buffer };
  }

  matches(hash: Uint8Array, plaintext: Uint8Array): boolean {
    return hashChunk(plaintext).equals(hash);
  }
  private readonly data: DataClientPool;

  constructor(
    private readonly grpc: GrpcChunks,
    creds: { secret?: Buffer | undefined; tls?: TlsMaterial | undefined },
  ) {
    this.data = new DataClientPool(creds);
  }

  batch(chunks: readonly ChunkPayload[]): ChunkBatch {
    return { chunks, bytes: chunks.reduce((n, c) => n + c.data.length, 0) };
  }

  async store(
    batch: ChunkBatch,
    targets: readonly ChunkTarget[],
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ReplicaOutcome[]> {
    if (targets.length === 0) return [];
    if (targets.some((t) => !t.dataAddress)) return this.grpc.store(batch, targets, timeoutMs);
    const b = batch as FramedBatch;
    b.refs ??= packRefs(batch.chunks);
    b.data ??= batch.chunks.map((c) => c.data);
    // Hops are dialled by the benefactor before them, over TCP: a Unix socket is only the client's way in.
    const chain: DataTarget[] = targets.map((t) => ({ id: t.id, dataAddress: t.dataAddress as string }));
    const [first, ...rest] = chain as [DataTarget, ...DataTarget[]];
    const head: DataTarget = { ...first, socketPath: localSocket(targets[0] as ChunkTarget) };
    let results;
    try {
      const conn = await this.data.get(head);
      // The deeper the chain, the more time each hop needs to hear from the ones after it.
      results = await conn.store(b.refs, b.data, rest, timeoutMs + rest.length * 5_000);
    } catch (e) {
      // The first benefactor failed or refused: the others were never reached.
      const error = asError(e);
      return targets.map((target, i) =>
        i === 0
          ? { target, ok: false, error, attempted: true }
          : {
              target,
              ok: false,
              error: new StdchkError('UNAVAILABLE', `not reached: ${error.message}`),
              attempted: false,
            },
      );
    }
    return targets.map((target, i): ReplicaOutcome => {
      const r = results[i];
      if (!r) {
        return {
          target,
          ok: false,
          error: new StdchkError('UNAVAILABLE', `not reached: a link before ${target.id} failed`),
          attempted: false,
        };
      }
      if (r.id !== target.id) {
        return {
          target,
          ok: false,
          error: new StdchkError('INTERNAL', `the chain answered for ${r.id} in place of ${target.id}`),
          attempted: true,
        };
      }
      if (r.ok) return { target, ok: true, stamp: r.stamp, stored: r.stored, existing: r.existing };
      return {
        target,
        ok: false,
        error: new StdchkError(r.code, `${target.id}: ${r.message}`),
        attempted: true,
      };
    });
  }

  async read(
    target: ChunkTarget,
    hashes: readonly Buffer[],
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<Map<string, Buffer>> {
    if (!target.dataAddress) return this.grpc.read(target, hashes, timeoutMs);
    const conn = await this.data.get({
      id: target.id,
      dataAddress: target.dataAddress,
      socketPath: localSocket(target),
    });
    const out = new Map<string, Buffer>();
    for (let i = 0; i < hashes.length; i += MAX_READ_HASHES) {
      verified(await conn.read(hashes.slice(i, i + MAX_READ_HASHES), timeoutMs), out);
    }
    return out;
  }

  close(): void {
    this.data.close();
    this.grpc.close();
  }
}

/** The engine for `kind` over an existing gRPC pool (which stays usable on its own). */
export function createChunks(
  kind: ChunkTransportKind,
  pool: BenefactorPool,
  creds: { secret?: Buffer | undefined; tls?: TlsMaterial | undefined },
): Chunks {
  const grpc = new GrpcChunks(pool);
  return kind === 'framed' ? new FramedChunks(grpc, creds) : grpc;
}
