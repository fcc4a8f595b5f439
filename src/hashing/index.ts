import { blake3 } from '@napi-rs/blake-hash';

/** BLAKE3-256 of a chunk: the chunk's content address. Native, ~4 GB/s. */
export const HASH_BYTES = 32;

export function hashChunk(data: Uint8Array): Buffer {
  return blake3(data);
}

/** The all-zero hash: marks a run of zeros that is never stored or sent. */
export const ZERO_HASH = Buffer.alloc(HASH_BYTES);

export function isZeroHash(hash: Uint8Array): boolean {
  for (let i = 0; i < hash.length; i++) if (hash[i] !== 0) return false;
  return true;
}

export function hex(hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex');
}
