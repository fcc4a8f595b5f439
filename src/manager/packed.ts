import { HASH_BYTES } from '../hashing/index.ts';
import { MAX_CHUNK_BYTES, REF_BYTES } from '../chunking/refs.ts';
import { invalid } from '../errors/index.ts';

/**
 * Helpers over packed chunk references (see common.proto) that work in place.
 * A commit or an inventory carries up to millions of refs; decoding each into
 * its own Buffer (as decodeRefs does) would cost an object per chunk.
 */

/**
 * The same checks as decodeRefs (whole entries, lengths 1..MAX_CHUNK_BYTES),
 * without allocating; returns the number of refs.
 */
export function checkPackedRefs(packed: Uint8Array, what = 'refs', maxCount = Infinity): number {
  if (packed.length % REF_BYTES !== 0) {
    throw invalid(`${what}: length ${packed.length} is not a multiple of ${REF_BYTES}`);
  }
  const n = packed.length / REF_BYTES;
  if (n > maxCount) throw invalid(`${what}: ${n} chunk references, at most ${maxCount} allowed`);
  for (let i = 0; i < n; i++) {
    const length = refLength(packed, i);
    if (length === 0 || length > MAX_CHUNK_BYTES) {
      throw invalid(`${what}: chunk ${i} has invalid length ${length}`);
    }
  }
  return n;
}

export function refLength(packed: Uint8Array, i: number): number {
  const off = i * REF_BYTES + HASH_BYTES;
  return (packed[off]! | (packed[off + 1]! << 8) | (packed[off + 2]! << 16) | (packed[off + 3]! << 24)) >>> 0;
}

/** Is the 32-byte hash at packed[off..] the all-zero hash (a hole)? */
export function isZeroAt(packed: Uint8Array, off: number): boolean {
  for (let i = 0; i < HASH_BYTES; i++) if (packed[off + i] !== 0) return false;
  return true;
}

export function totalPackedLength(packed: Uint8Array): number {
  let n = 0;
  for (let i = 0, count = packed.length / REF_BYTES; i < count; i++) n += refLength(packed, i);
  return n;
}

/** A view (no copy) of the 32-byte hash at packed[off..]. */
export function hashView(packed: Uint8Array, off: number): Buffer {
  return Buffer.from(packed.buffer, packed.byteOffset + off, HASH_BYTES);
}
