import { hashChunk, ZERO_HASH } from '../hashing/index.ts';
import { createCutter } from './fastcdc.ts';
import type { Cutter } from './fastcdc.ts';
import { DEFAULT_CHUNKER_PARAMS, validateChunkerParams } from './params.ts';
import type { ChunkerParams } from './params.ts';

export interface Chunk {
  /** BLAKE3-256 of the bytes; ZERO_HASH itself (the same object) when `zero`. */
  hash: Buffer;
  length: number;
  /** The bytes; undefined for a zero chunk, which is never stored or sent. */
  data: Buffer | undefined;
  /** Every byte is 0. */
  zero: boolean;
}

/** Shared, never written: zero detection is one memcmp against it. */
let zeros = Buffer.alloc(0);

function ensureZeros(size: number): void {
  if (zeros.length < size) zeros = Buffer.alloc(size);
}

export function isAllZero(data: Buffer): boolean {
  const n = data.length;
  // The two end bytes reject almost all data chunks without a call.
  if (n === 0 || data[0] !== 0 || data[n - 1] !== 0) return n === 0;
  return data.equals(zeros.subarray(0, n));
}

/** Hashes one chunk's bytes into a Chunk (zero chunks are detected, not hashed). */
export function makeChunk(data: Buffer): Chunk {
  ensureZeros(data.length);
  if (isAllZero(data)) return { hash: ZERO_HASH, length: data.length, data: undefined, zero: true };
  return { hash: hashChunk(data), length: data.length, data, zero: false };
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Cuts a byte stream into hashed chunks. Cut points depend only on the bytes, never on how
 * they were split across push() calls.
 *
 * Ownership: a chunk lying inside one pushed buffer is a subarray of that buffer (no copy);
 * a chunk spanning pushes is assembled in a buffer the stream allocated for it. The stream
 * never writes to memory an emitted chunk uses, and keeps no reference to pushed data once
 * push() returns (the unfinished tail, under max size, is copied). So chunk data stays valid
 * for as long as the caller leaves the buffers it pushed unmodified: push a copy if you mean
 * to reuse the buffer. Buffers the stream allocates are never pooled (transferable).
 */
export class ChunkStream {
  readonly params: ChunkerParams;
  private readonly cutter: Cutter;
  /** The current chunk's first pendLen bytes; allocated lazily, owned by the stream. */
  private pend: Buffer | undefined;
  private pendLen = 0;

  constructor(params: ChunkerParams = DEFAULT_CHUNKER_PARAMS) {
    this.params = validateChunkerParams(params);
    this.cutter = createCutter(this.params);
    ensureZeros(this.params.maxSize);
  }

  /** Bytes held for the chunk in progress (always under the max size). */
  get buffered(): number {
    return this.pendLen;
  }

  push(input: Uint8Array): Chunk[] {
    const data = asBuffer(input);
    const out: Chunk[] = [];
    let pos = 0;
    if (this.pendLen > 0) {
      // Finish the chunk in progress: it can take at most max - pendLen more bytes.
      const held = this.pendLen;
      const pend = this.pend!;
      const take = Math.min(data.length, this.params.maxSize - held);
      data.copy(pend, held, 0, take);
      this.pendLen += take;
      const n = this.cutter.next(pend, 0, this.pendLen);
      // No cut means all of data fit (a full pend always cuts at max).
      if (n < 0) return out;
      out.push(makeChunk(this.takePend(n)));
      pos = n - held;
    }
    for (;;) {
      const n = this.cutter.next(data, pos, data.length);
      if (n < 0) break;
      out.push(makeChunk(data.subarray(pos, pos + n)));
      pos += n;
    }
    if (pos < data.length) {
      this.pend ??= Buffer.allocUnsafeSlow(this.params.maxSize);
      this.pendLen = data.copy(this.pend, 0, pos);
    }
    return out;
  }

  /** Ends the stream: emits the last (possibly short) chunk. The stream is then reset for reuse. */
  finish(): Chunk[] {
    const n = this.pendLen;
    this.cutter.reset();
    if (n === 0) return [];
    return [makeChunk(this.takePend(n))];
  }

  /** Drops any buffered bytes and starts over. */
  reset(): void {
    this.cutter.reset();
    this.pendLen = 0;
  }

  /** The first n pending bytes as a chunk's own memory; empties the pending buffer. */
  private takePend(n: number): Buffer {
    const pend = this.pend!;
    this.pendLen = 0;
    // Hand the pend buffer over when the chunk fills most of it, else copy to exact size so
    // small chunks do not pin max-size buffers.
    if (2 * n >= pend.length) {
      this.pend = undefined;
      return pend.subarray(0, n);
    }
    const own = Buffer.allocUnsafeSlow(n);
    pend.copy(own, 0, 0, n);
    return own;
  }
}

/** Chunks a whole buffer in one go (the chunks may be subarrays of it). */
export function chunkBuffer(data: Uint8Array, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS): Chunk[] {
  const s = new ChunkStream(params);
  return [...s.push(data), ...s.finish()];
}
