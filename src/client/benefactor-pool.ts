import type { ClientDuplexStream } from '@grpc/grpc-js';
import { connectBenefactor, protos } from '../rpc/index.ts';
import type { ClusterCredentials } from '../rpc/credentials.ts';
import type { BenefactorClient } from '../rpc/index.ts';
import { encodeStoreRequest, nextStoreSeq, splitChunks } from '../rpc/chunk-frames.ts';
import type { ChunkPayload } from '../rpc/chunk-frames.ts';
import type { StoreAck__Output } from '../generated/stdchk/v1/StoreAck.ts';
import type { ReadReply__Output } from '../generated/stdchk/v1/ReadReply.ts';
import { StdchkError, errorMessage, fromServiceError } from '../errors/index.ts';
import { encodeHashes } from '../chunking/refs.ts';
import { hashChunk, hex } from '../hashing/index.ts';

export type { ChunkPayload };

/** A StoreRequest encoded once, sent as is to every replica. */
export interface StoreFrame {
  seq: number;
  bytes: Buffer;
}

export function storeFrame(chunks: readonly ChunkPayload[]): StoreFrame {
  const seq = nextStoreSeq();
  return { seq, bytes: encodeStoreRequest(seq, chunks) };
}

interface PendingAck {
  resolve(ack: StoreAck__Output): void;
  reject(e: StdchkError): void;
}

/**
 * One long-lived StoreChunks stream to a benefactor. Several requests ride it
 * at once (pipelining); the benefactor acks them in order once durable.
 */
class StoreStream {
  private readonly call: ClientDuplexStream<Buffer, StoreAck__Output>;
  private readonly pending = new Map<number, PendingAck>();
  failed: StdchkError | undefined;

  constructor(
    client: BenefactorClient,
    private readonly address: string,
  ) {
    const method = protos().Benefactor.service.StoreChunks;
    this.call = client.makeBidiStreamRequest(
      method.path,
      (frame: Buffer) => frame,
      method.responseDeserialize as (bytes: Buffer) => StoreAck__Output,
    );
    this.call.on('data', (ack: StoreAck__Output) => {
      const p = this.pending.get(ack.seq);
      if (!p) return;
      this.pending.delete(ack.seq);
      p.resolve(ack);
    });
    this.call.on('error', (e) => this.fail(fromServiceError(e, `benefactor ${this.address}`)));
    this.call.on('end', () =>
      this.fail(new StdchkError('UNAVAILABLE', `benefactor ${this.address} closed the stream`)),
    );
  }

  private fail(e: StdchkError): void {
    this.failed ??= e;
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
  }

  store(frame: StoreFrame): Promise<StoreAck__Output> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.set(frame.seq, { resolve, reject });
      this.call.write(frame.bytes);
    });
  }

  close(): void {
    this.call.end();
    if (this.pending.size === 0) this.call.cancel();
  }
}

/** Connections to benefactors, one gRPC channel and one store stream each, reused across files. */
export class BenefactorPool {
  private readonly clients = new Map<string, BenefactorClient>();
  private readonly streams = new Map<string, StoreStream>();

  constructor(private readonly creds: ClusterCredentials = {}) {}

  client(address: string): BenefactorClient {
    let c = this.clients.get(address);
    if (!c) {
      c = connectBenefactor(address, this.creds);
      this.clients.set(address, c);
    }
    return c;
  }

  /** Stores chunks durably on one benefactor; resolves with its ack. */
  async store(address: string, frame: StoreFrame, timeoutMs = 60_000): Promise<StoreAck__Output> {
    let s = this.streams.get(address);
    if (!s || s.failed) {
      s = new StoreStream(this.client(address), address);
      this.streams.set(address, s);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new StdchkError('TIMEOUT', `benefactor ${address} did not acknowledge in ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([s.store(frame), timeout]);
    } catch (e) {
      // A stream that failed or timed out is not reused.
      if (this.streams.get(address) === s) this.streams.delete(address);
      s.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reads chunks from one benefactor. Every chunk is verified against its
   * hash here too: a benefactor is never trusted to serve correct bytes.
   * Returns a map hex(hash) -> data; absent entries were missing or corrupt.
   */
  read(address: string, hashes: Buffer[], timeoutMs = 60_000): Promise<Map<string, Buffer>> {
    return new Promise((resolve, reject) => {
      const out = new Map<string, Buffer>();
      const call = this.client(address).readChunks(
        { hashes: encodeHashes(hashes) },
        { deadline: new Date(Date.now() + timeoutMs) },
      );
      call.on('data', (reply: ReadReply__Output) => {
        let chunks: ChunkPayload[];
        try {
          chunks = splitChunks(reply.refs, reply.data, `ReadChunks reply from ${address}`);
        } catch (e) {
          call.cancel();
          reject(new StdchkError('CORRUPT', errorMessage(e)));
          return;
        }
        for (const c of chunks) {
          if (!hashChunk(c.data).equals(c.hash)) continue;
          out.set(hex(c.hash), c.data);
        }
      });
      call.on('error', (e) => reject(fromServiceError(e, `benefactor ${address}`)));
      call.on('end', () => resolve(out));
    });
  }

  close(): void {
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
