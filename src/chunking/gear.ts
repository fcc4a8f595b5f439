/**
 * The gear table of the FastCDC rolling hash: 256 pseudo-random 32-bit words, one per byte
 * value. Where chunks are cut depends on every entry, so this table is part of the on-disk
 * format (CHUNK_FORMAT_VERSION 1): changing the seed or the generator silently breaks dedup
 * against everything already stored. test/unit/chunking.test.ts pins its SHA-256.
 *
 * Generator: splitmix32, i.e. a Weyl sequence (state += 0x9e3779b9, the 32-bit golden ratio)
 * finalised by MurmurHash3's fmix32 with the constants below. Seed: 0x73746463 ("stdc").
 * The seed was also checked to make an all-zero run never match a gear mask (the hash of a
 * zero run converges to -gear[0], whose top bit is set), so zero runs cut at the max size and
 * become few, long holes.
 */
export const GEAR_SEED = 0x73746463;

/** splitmix32 from `seed`: `count` 32-bit words. */
export function splitmix32(seed: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  let state = seed | 0;
  for (let i = 0; i < count; i++) {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    out[i] = z ^ (z >>> 16);
  }
  return out;
}

/** The table. Never write to it (typed arrays cannot be frozen). */
export const GEAR: Uint32Array = splitmix32(GEAR_SEED, 256);
