/**
 * The nonces of accepted tokens, each remembered until its token expires,
 * in bounded memory: a replayed token is recognised for as long as it could
 * be accepted at all.
 *
 * An open-addressing hash table over typed arrays: 64 bits of each nonce
 * (nonces are 128 random bits, and only tokens with a valid HMAC get here, so
 * no one can choose them to collide) and the second its token expires, 12
 * bytes a slot. The table doubles while it fills, up to `maxEntries` live
 * entries; expired entries are dropped whenever it is rebuilt. When that
 * many live tokens are remembered the cache is full: `add` answers 'full'
 * and the caller refuses the call, rather than forgetting a nonce that
 * could still be replayed.
 */
export type NonceResult = 'added' | 'replay' | 'full';

const MIN_SLOTS = 1024;
/** Rebuild (drop expired entries, grow) when this share of slots is in use. */
const MAX_LOAD = 0.7;

export class NonceCache {
  private hi: Uint32Array;
  private lo: Uint32Array;
  /** Expiry in seconds since `base`, 0 = an empty slot. */
  private expiry: Uint32Array;
  private used = 0;
  /** The second the cache was last found full (-1: not full). */
  private fullAt = -1;
  private readonly base: number;
  private readonly maxSlots: number;

  constructor(
    readonly maxEntries: number,
    now = Date.now(),
  ) {
    this.base = now;
    this.maxSlots = slotsFor(maxEntries / MAX_LOAD);
    this.hi = new Uint32Array(MIN_SLOTS);
    this.lo = new Uint32Array(MIN_SLOTS);
    this.expiry = new Uint32Array(MIN_SLOTS);
  }

  /** Slots in the table (memory: 12 bytes each). */
  get capacity(): number {
    return this.expiry.length;
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.used;
  }

  /**
   * Remembers `nonce` (at least 8 bytes) until `expiresAtMs`. 'replay' if it
   * is already remembered and not expired; 'full' if `maxEntries` live
   * nonces are remembered.
   */
  add(nonce: Uint8Array, expiresAtMs: number, now = Date.now()): NonceResult {
    const h = readU32(nonce, 0);
    const l = readU32(nonce, 4);
    const nowSec = this.seconds(now);
    // Rounded up, and at least 1 (0 marks an empty slot): kept a little longer, never shorter.
    const exp = Math.max(1, Math.ceil((expiresAtMs - this.base) / 1000) + 1);
    const found = this.find(h, l, nowSec);
    if (found.match) return 'replay';
    if (found.reuse < 0 && (this.used + 1 > this.capacity * MAX_LOAD || this.used + 1 > this.maxEntries)) {
      // Full: not rebuilt again within the same second (a rebuild scans the whole table).
      if (this.fullAt === nowSec || !this.rebuild(nowSec)) {
        this.fullAt = nowSec;
        return 'full';
      }
      this.fullAt = -1;
      return this.add(nonce, expiresAtMs, now);
    }
    const slot = found.reuse >= 0 ? found.reuse : found.empty;
    if (this.expiry[slot] === 0) this.used++;
    this.hi[slot] = h;
    this.lo[slot] = l;
    this.expiry[slot] = exp;
    return 'added';
  }

  /** Is `nonce` remembered and its token not yet expired? */
  has(nonce: Uint8Array, now = Date.now()): boolean {
    return this.find(readU32(nonce, 0), readU32(nonce, 4), this.seconds(now)).match;
  }

  private seconds(now: number): number {
    return Math.floor((now - this.base) / 1000);
  }

  /** Probes for the key: a live match, else the first expired slot to reuse and the empty slot ending the probe. */
  private find(h: number, l: number, nowSec: number): { match: boolean; reuse: number; empty: number } {
    const mask = this.capacity - 1;
    let reuse = -1;
    for (let i = 0, slot = (l ^ Math.imul(h, 0x9e3779b1)) & mask; i <= mask; i++, slot = (slot + 1) & mask) {
      const e = this.expiry[slot] as number;
      if (e === 0) return { match: false, reuse, empty: slot };
      const live = e > nowSec;
      if (this.hi[slot] === h && this.lo[slot] === l) {
        if (live) return { match: true, reuse, empty: -1 };
        return { match: false, reuse: reuse >= 0 ? reuse : slot, empty: -1 };
      }
      if (!live && reuse < 0) reuse = slot;
    }
    return { match: false, reuse, empty: -1 };
  }

  /** Rehashes the live entries into a table sized for them (growing up to maxSlots); false if that is full. */
  private rebuild(nowSec: number): boolean {
    let live = 0;
    for (let i = 0; i < this.capacity; i++) if ((this.expiry[i] as number) > nowSec) live++;
    if (live + 1 > this.maxEntries) return false;
    const slots = Math.min(this.maxSlots, Math.max(MIN_SLOTS, slotsFor((live + 1) / (MAX_LOAD / 2))));
    const old = { hi: this.hi, lo: this.lo, expiry: this.expiry };
    this.hi = new Uint32Array(slots);
    this.lo = new Uint32Array(slots);
    this.expiry = new Uint32Array(slots);
    this.used = 0;
    const mask = slots - 1;
    for (let i = 0; i < old.expiry.length; i++) {
      const e = old.expiry[i] as number;
      if (e <= nowSec) continue;
      const h = old.hi[i] as number;
      const l = old.lo[i] as number;
      let slot = (l ^ Math.imul(h, 0x9e3779b1)) & mask;
      while (this.expiry[slot] !== 0) slot = (slot + 1) & mask;
      this.hi[slot] = h;
      this.lo[slot] = l;
      this.expiry[slot] = e;
      this.used++;
    }
    // At the largest size the table may still be too full to take one more: then it is full.
    return this.used + 1 <= slots * MAX_LOAD;
  }
}

function slotsFor(n: number): number {
  let s = MIN_SLOTS;
  while (s < n) s *= 2;
  return s;
}

function readU32(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  );
}
