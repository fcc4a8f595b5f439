import { HASH_BYTES, ZERO_HASH } from '../hashing/index.ts';
import { invalid } from '../errors/index.ts';

/**
 * A file's content: an ordered list of (hash, length). On the wire and on
 * disk it is packed, 36 bytes per entry (32-byte hash, uint32 LE length),
 * because large files have hundreds of thousands of entries.
 */
export interface ChunkRef {
  hash: Buffer;
  length: number;
}

export const REF_BYTES = HASH_BYTES + 4;
/** No chunk may exceed this (chunkers cut far below it). */
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;

export function encodeRefs(refs: readonly ChunkRef[]): Buffer {
  const out = Buffer.allocUnsafe(refs.length * REF_BYTES);
  refs.forEach((r, i) => {
    r.hash.copy(out, i * REF_BYTES);
    out.writeUInt32LE(r.length, i * REF_BYTES + HASH_BYTES);
  });
  return out;
}

/** Decodes and validates packed refs; throws INVALID_ARGUMENT on malformed input. */
export function decodeRefs(packed: Uint8Array, what = 'refs'): ChunkRef[] {
  if (packed.length % REF_BYTES !== 0)
    throw invalid(`${what}: length ${packed.length} is not a multiple of 36`);
  const buf = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const refs: ChunkRef[] = new Array(buf.length / REF_BYTES);
  for (let i = 0; i < refs.length; i++) {
    const off = i * REF_BYTES;
    const length = buf.readUInt32LE(off + HASH_BYTES);
    if (length === 0 || length > MAX_CHUNK_BYTES)
      throw invalid(`${what}: chunk ${i} has invalid length ${length}`);
    refs[i] = { hash: Buffer.from(buf.subarray(off, off + HASH_BYTES)), length };
  }
  return refs;
}

/** Packed 32-byte hashes. */
export function encodeHashes(hashes: readonly Uint8Array[]): Buffer {
  return Buffer.concat(hashes.map((h) => Buffer.from(h.buffer, h.byteOffset, h.byteLength)));
}

export function decodeHashes(packed: Uint8Array, what = 'hashes'): Buffer[] {
  if (packed.length % HASH_BYTES !== 0)
    throw invalid(`${what}: length ${packed.length} is not a multiple of 32`);
  const buf = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const out: Buffer[] = [];
  for (let off = 0; off < buf.length; off += HASH_BYTES)
    out.push(Buffer.from(buf.subarray(off, off + HASH_BYTES)));
  return out;
}

export function isHole(ref: ChunkRef): boolean {
  return ref.hash.equals(ZERO_HASH);
}

export function totalLength(refs: readonly ChunkRef[]): number {
  let n = 0;
  for (const r of refs) n += r.length;
  return n;
}
