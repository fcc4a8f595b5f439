import { randomBytes } from 'node:crypto';
import { HASH_BYTES } from '../hashing/index.ts';

/** Replica slots kept inline per chunk; rarer longer holder lists spill to a Map. */
const INLINE_HOLDERS = 4;
const EMPTY = -1;
const MAX_LOAD = 0.6;
const NO_HOLDERS: readonly number[] = [];

// One 64-byte record per chunk (a cache line's worth), so a lookup touches
// the table slot and one record, not one column array per field:
//   0..31 hash | 32 length u32 | 36 refcount u32 | 40 zeroSince f64 |
//   48 holders 4 x u16 | 56 target u8 | 57 holder count u8 | 58 flags u8 | 59..63 spare
const RECORD = 64;
const U32 = RECORD / 4;
const U16 = RECORD / 2;
const F64 = RECORD / 8;
const LENGTH = 8; // in u32 units
const REFCOUNT = 9; // in u32 units
const ZERO_SINCE = 5; // in f64 units
const HOLDERS = 24; // in u16 units
const TARGET = 56; // in bytes
const HOLDER_COUNT = 57; // in bytes
const FLAGS = 58; // in bytes
const REFERENCED = 1;

/**
 * The whole chunk index in memory, so a dedup lookup never touches disk.
 *
 * Millions of chunks must fit, and a JS Map of objects costs ~250 bytes per
 * entry (and stops at 2^24 entries), so each chunk is a fixed 64-byte record
 * in one ArrayBuffer, found through an open-addressing table of record ids
 * (linear probing, backward-shift deletion). About 70 bytes per chunk and
 * nothing for the garbage collector to trace. Lookups are bound by memory
 * latency, so `findMany` overlaps the cache misses of a whole batch.
 *
 * Holders are benefactor registry numbers (uint16). A record id is reused
 * after removal; callers that remember ids across removals must forget them.
 */
export class ChunkIndex {
  private capacity = 0;
  private u8 = new Uint8Array(0);
  private u16 = new Uint16Array(0);
  private u32 = new Uint32Array(0);
  private f64 = new Float64Array(0);
  private readonly spilled = new Map<number, number[]>();
  private freeIds: number[] = [];
  private high = 0;
  private table = new Int32Array(0);
  private mask = 0;
  private readonly seed = randomBytes(4).readInt32LE(0);

  /** Unique chunks indexed. */
  size = 0;
  /** Sum of the lengths of indexed chunks, each counted once. */
  storedBytes = 0;

  constructor(initialCapacity = 1024) {
    this.growRecords(Math.max(16, initialCapacity));
    this.rehash(nextPow2(Math.ceil(Math.max(16, initialCapacity) / MAX_LOAD)));
  }

  /** Record ids are below this (some may be free). */
  get highWater(): number {
    return this.high;
  }

  /** Bytes held by the index's arrays (what a chunk costs in memory). */
  memoryBytes(): number {
    let spilled = 0;
    for (const list of this.spilled.values()) spilled += 16 + 8 * list.length;
    return this.u8.byteLength + this.table.byteLength + this.freeIds.length * 8 + spilled;
  }

  // Hash bytes are BLAKE3 output, so any 8 of them are uniform; the seeded mix
  // keeps a peer that sends chosen "hashes" from clustering the table.
  private homeOf(buf: Uint8Array, off: number): number {
    const a = (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) ^ this.seed;
    const b = buf[off + 4]! | (buf[off + 5]! << 8) | (buf[off + 6]! << 16) | (buf[off + 7]! << 24);
    let h = Math.imul(a, 0x9e3779b1) ^ b;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
    h ^= h >>> 13;
    return h & this.mask;
  }

  private sameHash(id: number, buf: Uint8Array, off: number): boolean {
    const u8 = this.u8;
    const base = id * RECORD;
    for (let i = 0; i < HASH_BYTES; i++) if (u8[base + i] !== buf[off + i]) return false;
    return true;
  }

  private probe(slot: number, buf: Uint8Array, off: number): number {
    const table = this.table;
    for (;;) {
      const id = table[slot]!;
      if (id === EMPTY) return -1;
      if (this.sameHash(id, buf, off)) return id;
      slot = (slot + 1) & this.mask;
    }
  }

  /** The record id of the 32-byte hash at buf[off..], or -1. */
  find(buf: Uint8Array, off = 0): number {
    return this.probe(this.homeOf(buf, off), buf, off);
  }

  /**
   * Looks up `count` hashes at buf[first + i * stride] into out[i] (-1 when
   * absent). Same answers as find(), but in passes over the batch so the
   * table and record cache misses of different hashes overlap instead of
   * being paid one after another.
   */
  findMany(buf: Uint8Array, first: number, stride: number, count: number, out: Int32Array): void {
    const slots = new Int32Array(count);
    const table = this.table;
    for (let i = 0; i < count; i++) {
      const slot = this.homeOf(buf, first + i * stride);
      slots[i] = slot;
      out[i] = table[slot]!;
    }
    const u8 = this.u8;
    let touch = 0;
    for (let i = 0; i < count; i++) {
      const id = out[i]!;
      if (id !== EMPTY) touch ^= u8[id * RECORD]!;
    }
    for (let i = 0; i < count; i++) {
      const id = out[i]!;
      const off = first + i * stride;
      if (id === EMPTY || this.sameHash(id, buf, off)) continue;
      out[i] = this.probe((slots[i]! + 1) & this.mask, buf, off);
    }
    // `touch` only exists so the prefetching pass is not optimised away.
    if (touch === 256) out[0] = out[0]!;
  }

  /** findMany over a whole packed list (refs or hashes), in slices. */
  findAll(buf: Uint8Array, stride: number): Int32Array {
    const count = Math.floor(buf.length / stride);
    const out = new Int32Array(count);
    for (let i = 0; i < count; i += 4096) {
      this.findMany(buf, i * stride, stride, Math.min(4096, count - i), out.subarray(i));
    }
    return out;
  }

  /** Adds a chunk that is not indexed yet; refcount 0, no holders. */
  insert(buf: Uint8Array, off: number, length: number, target: number, zeroSince: number): number {
    if (length <= 0) throw new RangeError('chunk length must be positive');
    if ((this.size + 1) / this.table.length > MAX_LOAD) this.rehash(this.table.length * 2);
    let id = this.freeIds.pop();
    if (id === undefined) {
      if (this.high === this.capacity) this.growRecords(this.capacity * 2);
      id = this.high++;
    }
    this.u8.set(buf.subarray(off, off + HASH_BYTES), id * RECORD);
    this.u32[id * U32 + LENGTH] = length;
    this.u32[id * U32 + REFCOUNT] = 0;
    this.f64[id * F64 + ZERO_SINCE] = zeroSince;
    this.u8[id * RECORD + TARGET] = target;
    this.u8[id * RECORD + HOLDER_COUNT] = 0;
    this.u8[id * RECORD + FLAGS] = 0;
    let slot = this.homeOf(buf, off);
    while (this.table[slot] !== EMPTY) slot = (slot + 1) & this.mask;
    this.table[slot] = id;
    this.size++;
    this.storedBytes += length;
    return id;
  }

  remove(id: number): void {
    if (!this.isLive(id)) return;
    const u8 = this.u8;
    const table = this.table;
    const mask = this.mask;
    let i = this.homeOf(u8, id * RECORD);
    while (table[i] !== id) i = (i + 1) & mask;
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const other = table[j]!;
      if (other === EMPTY) break;
      const k = this.homeOf(u8, other * RECORD);
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      table[i] = other;
      i = j;
    }
    table[i] = EMPTY;
    this.storedBytes -= this.length(id);
    this.u32[id * U32 + LENGTH] = 0;
    this.u8[id * RECORD + HOLDER_COUNT] = 0;
    this.spilled.delete(id);
    this.freeIds.push(id);
    this.size--;
  }

  isLive(id: number): boolean {
    return id >= 0 && id < this.high && this.u32[id * U32 + LENGTH] !== 0;
  }

  /** A copy of the record's hash. */
  hash(id: number): Buffer {
    return Buffer.from(this.u8.subarray(id * RECORD, id * RECORD + HASH_BYTES));
  }

  hashHex(id: number): string {
    return Buffer.from(this.u8.buffer, id * RECORD, HASH_BYTES).toString('hex');
  }

  length(id: number): number {
    return this.u32[id * U32 + LENGTH]!;
  }

  refcount(id: number): number {
    return this.u32[id * U32 + REFCOUNT]!;
  }

  target(id: number): number {
    return this.u8[id * RECORD + TARGET]!;
  }

  zeroSince(id: number): number {
    return this.f64[id * F64 + ZERO_SINCE]!;
  }

  /** Has a committed version ever referenced it? (Unreferenced uploads get a longer grace.) */
  wasReferenced(id: number): boolean {
    return (this.u8[id * RECORD + FLAGS]! & REFERENCED) !== 0;
  }

  /** Sets the counts; a refcount above 0 marks the chunk as referenced for good. */
  setCounts(id: number, refcount: number, target: number, zeroSince: number): void {
    if (refcount > 0) this.markReferenced(id);
    this.u32[id * U32 + REFCOUNT] = refcount;
    this.u8[id * RECORD + TARGET] = target;
    this.f64[id * F64 + ZERO_SINCE] = zeroSince;
  }

  markReferenced(id: number): void {
    this.u8[id * RECORD + FLAGS] = this.u8[id * RECORD + FLAGS]! | REFERENCED;
  }

  holderCount(id: number): number {
    return this.u8[id * RECORD + HOLDER_COUNT]!;
  }

  /** Benefactor numbers holding the chunk (a view or a shared list: do not keep or modify it). */
  holders(id: number): ArrayLike<number> {
    const n = this.holderCount(id);
    if (n === 0) return NO_HOLDERS;
    if (n > INLINE_HOLDERS) return this.spilled.get(id)!;
    return this.u16.subarray(id * U16 + HOLDERS, id * U16 + HOLDERS + n);
  }

  // hasHolder and liveCount run per chunk on hot paths: no views, no allocation.
  hasHolder(id: number, num: number): boolean {
    const n = this.holderCount(id);
    if (n > INLINE_HOLDERS) return this.spilled.get(id)!.includes(num);
    const base = id * U16 + HOLDERS;
    for (let i = 0; i < n; i++) if (this.u16[base + i] === num) return true;
    return false;
  }

  /** Holders that are alive, per `alive[num]`. */
  liveCount(id: number, alive: Uint8Array): number {
    const n = this.holderCount(id);
    let live = 0;
    if (n > INLINE_HOLDERS) {
      for (const num of this.spilled.get(id)!) if (alive[num] === 1) live++;
      return live;
    }
    const base = id * U16 + HOLDERS;
    for (let i = 0; i < n; i++) if (alive[this.u16[base + i]!] === 1) live++;
    return live;
  }

  /** Adds a holder; false if it was already there or the list is full (255). */
  addHolder(id: number, num: number): boolean {
    if (this.hasHolder(id, num)) return false;
    const n = this.holderCount(id);
    if (n === 255) return false;
    const base = id * U16 + HOLDERS;
    if (n < INLINE_HOLDERS) {
      this.u16[base + n] = num;
    } else if (n === INLINE_HOLDERS) {
      const list = Array.from(this.u16.subarray(base, base + INLINE_HOLDERS));
      list.push(num);
      this.spilled.set(id, list);
    } else {
      this.spilled.get(id)!.push(num);
    }
    this.u8[id * RECORD + HOLDER_COUNT] = n + 1;
    return true;
  }

  removeHolder(id: number, num: number): boolean {
    const n = this.holderCount(id);
    const base = id * U16 + HOLDERS;
    if (n > INLINE_HOLDERS) {
      const list = this.spilled.get(id)!;
      const i = list.indexOf(num);
      if (i < 0) return false;
      list.splice(i, 1);
      if (list.length === INLINE_HOLDERS) {
        this.u16.set(list, base);
        this.spilled.delete(id);
      }
      this.u8[id * RECORD + HOLDER_COUNT] = n - 1;
      return true;
    }
    for (let i = 0; i < n; i++) {
      if (this.u16[base + i] === num) {
        this.u16.copyWithin(base + i, base + i + 1, base + n);
        this.u8[id * RECORD + HOLDER_COUNT] = n - 1;
        return true;
      }
    }
    return false;
  }

  /** Every live record id, in id order. */
  *ids(): Generator<number> {
    for (let id = 0; id < this.high; id++) if (this.u32[id * U32 + LENGTH] !== 0) yield id;
  }

  private growRecords(capacity: number): void {
    const buffer = new ArrayBuffer(capacity * RECORD);
    const u8 = new Uint8Array(buffer);
    u8.set(this.u8);
    this.u8 = u8;
    this.u16 = new Uint16Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.capacity = capacity;
  }

  private rehash(slots: number): void {
    this.table = new Int32Array(slots).fill(EMPTY);
    this.mask = slots - 1;
    for (let id = 0; id < this.high; id++) {
      if (this.u32[id * U32 + LENGTH] === 0) continue;
      let slot = this.homeOf(this.u8, id * RECORD);
      while (this.table[slot] !== EMPTY) slot = (slot + 1) & this.mask;
      this.table[slot] = id;
    }
  }
}

function nextPow2(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}
