import type * as grpc from '@grpc/grpc-js';
import { StdchkError, toServiceError } from '../errors/index.ts';
import { HASH_BYTES } from '../hashing/index.ts';
import { decodeHashes } from '../chunking/refs.ts';
import {
  MAX_CHUNKS_PER_MESSAGE,
  MAX_DATA_BYTES_PER_MESSAGE,
  encodeReadReply,
  splitChunks,
} from '../rpc/chunk-frames.ts';
import { protos, unaryHandler } from '../rpc/index.ts';
import type { ServerOptions } from '../rpc/index.ts';
import { MAX_BATCH_REFS, packedHashes } from '../validation/index.ts';
import type { BenefactorHandlers } from '../generated/stdchk/v1/Benefactor.ts';
import type { StoreRequest__Output } from '../generated/stdchk/v1/StoreRequest.ts';
import type { StoreAck } from '../generated/stdchk/v1/StoreAck.ts';
import type { ReadRequest__Output } from '../generated/stdchk/v1/ReadRequest.ts';
import type { ReadReply } from '../generated/stdchk/v1/ReadReply.ts';
import type { ChunkStore, StoredChunk } from './chunk-store.ts';
import type { StoreStamps } from './stamps.ts';

/** The server refuses larger messages before buffering them (a full message plus framing). */
export const MAX_RECEIVE_BYTES = MAX_DATA_BYTES_PER_MESSAGE + 8 * 1024 * 1024;
/** ReadChunks replies are cut at about this size. */
export const READ_REPLY_BYTES = 4 * 1024 * 1024;
/** StoreChunks requests being stored at once per stream before the stream is paused. */
const MAX_IN_FLIGHT = 16;
/** ReadChunks asks the store for this many chunks at once (replies stay in request order). */
const READ_AHEAD = 64;

export interface BenefactorServiceOptions extends ServerOptions {
  store: ChunkStore;
  id: string;
  host: string;
  /** Stamps every store request (see stamps.ts); its acks carry the stamp. */
  stamps: StoreStamps;
}

/** A StoreRequest's chunks, validated; throws INVALID_ARGUMENT / TOO_LARGE. */
export function parseStoreRequest(req: StoreRequest__Output): StoredChunk[] {
  return splitChunks(req.refs, req.data, `StoreChunks seq ${req.seq}`);
}

function logFailure(opts: ServerOptions, call: { getPeer(): string; getPath(): string }, e: unknown): void {
  const fields = { peer: call.getPeer(), method: call.getPath(), err: e };
  if (e instanceof StdchkError && e.code !== 'INTERNAL') opts.logger.warn(fields, 'request refused');
  else opts.logger.error(fields, 'request failed');
}

/**
 * StoreChunks: requests are validated and handed to the store in arrival
 * order (several may be committing at once; the store groups their fsyncs)
 * and acknowledged in the same order once durable. The first error ends the
 * stream with its status.
 */
function storeChunks(
  opts: BenefactorServiceOptions,
): grpc.handleBidiStreamingCall<StoreRequest__Output, StoreAck> {
  return (call) => {
    let failed = false;
    /** A malformed request arrived: take no more; its error is sent after the earlier acks. */
    let refused = false;
    let inFlight = 0;
    let acks: Promise<void> = Promise.resolve();
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      logFailure(opts, call, e);
      if (!call.cancelled) call.emit('error', toServiceError(e));
    };
    call.on('cancelled', () => {
      failed = true;
    });
    call.on('data', (req: StoreRequest__Output) => {
      if (failed || refused) return;
      let result: Promise<{ stored: number; existing: number }>;
      let stamp = 0;
      try {
        const chunks = parseStoreRequest(req);
        // Stamped in the same tick as the store's own "held already?" check, so a delete
        // applied later sees the stamp, and one applied earlier made this a fresh write.
        stamp = opts.stamps.stamp(chunks.map((c) => c.hash));
        result = opts.store.putBatch(chunks);
      } catch (e) {
        refused = true;
        result = Promise.reject(e);
      }
      // Awaited in order below; this only keeps an early rejection from counting as unhandled.
      result.catch(() => undefined);
      if (++inFlight >= MAX_IN_FLIGHT) call.pause();
      acks = acks.then(async () => {
        try {
          const r = await result;
          if (!failed) call.write({ seq: req.seq, stored: r.stored, existing: r.existing, stamp });
        } catch (e) {
          fail(e);
        } finally {
          if (--inFlight < MAX_IN_FLIGHT && call.isPaused() && !failed) call.resume();
        }
      });
    });
    call.on('end', () => {
      void acks.then(() => {
        if (!failed) call.end();
      });
    });
  };
}

/** Resolves when the call can take more data, or is over. */
function drained(call: grpc.ServerWritableStream<ReadRequest__Output, ReadReply>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
  });
}

/** ReadChunks: chunks in request order, ~1 MiB per reply; missing or corrupt ones flagged. */
function readChunks(
  opts: BenefactorServiceOptions,
): grpc.handleServerStreamingCall<ReadRequest__Output, ReadReply> {
  return (call) => {
    const run = async () => {
      packedHashes(call.request.hashes, 'ReadChunks hashes', MAX_BATCH_REFS);
      const hashes = decodeHashes(call.request.hashes, 'ReadChunks hashes');
      let reply: StoredChunk[] = [];
      let missing: Buffer[] = [];
      let bytes = 0;
      const flush = async () => {
        // Pre-encoded: the method's serializer passes Buffers through (see addBenefactorService).
        const more = call.write(encodeReadReply(reply, missing) as unknown as ReadReply);
        reply = [];
        missing = [];
        bytes = 0;
        if (!more) await drained(call);
      };
      for (let i = 0; i < hashes.length && !call.cancelled; i += READ_AHEAD) {
        const slice = hashes.slice(i, i + READ_AHEAD);
        const datas = await opts.store.getMany(slice);
        for (const [j, hash] of slice.entries()) {
          const data = datas[j];
          if (data) reply.push({ hash, data });
          else missing.push(hash);
          bytes += HASH_BYTES + (data?.length ?? 0);
          if (bytes >= READ_REPLY_BYTES || reply.length >= MAX_CHUNKS_PER_MESSAGE) await flush();
        }
      }
      if (call.cancelled) return;
      if (reply.length > 0 || missing.length > 0) await flush();
      call.end();
    };
    run().catch((e: unknown) => {
      logFailure(opts, call, e);
      if (!call.cancelled) call.emit('error', toServiceError(e));
    });
  };
}

/** The Benefactor service's handlers: translate requests to store calls and back. */
export function benefactorHandlers(opts: BenefactorServiceOptions): BenefactorHandlers {
  return {
    StoreChunks: storeChunks(opts),
    ReadChunks: readChunks(opts),
    Info: unaryHandler(opts, () => {
      const s = opts.store.stats();
      return {
        id: opts.id,
        host: opts.host,
        capacityBytes: s.capacityBytes,
        usedBytes: s.usedBytes,
        freeBytes: s.freeBytes,
        chunks: s.chunks,
      };
    }),
  };
}

export function addBenefactorService(server: grpc.Server, opts: BenefactorServiceOptions): void {
  const service = protos().Benefactor.service;
  server.addService(
    {
      ...service,
      ReadChunks: { ...service.ReadChunks, responseSerialize: (reply: Buffer) => reply },
    } as grpc.ServiceDefinition,
    benefactorHandlers(opts),
  );
}
