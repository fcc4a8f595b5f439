/**
 * What the manager remembers of the deletes it sent, so that a report of a
 * copy older than a delete sent there since cannot bring that copy back into
 * the index (docs/reliability.md, "Deletion and new references").
 *
 * A delete of chunk h sent to benefactor b answers one of b's heartbeats and
 * carries that beat's store stamp as its bound B. b applies it only if h was
 * not stored (or answered "existing") after B. So a report (b, h, s) proves
 * that b still holds h only if s > B: with s <= B the copy it vouches for may
 * be the one the delete removes.
 *
 * - Each sent delete is kept as a record (b, h) -> B for `retainMs`, then
 *   folded into a per-benefactor floor F_b = the highest bound forgotten.
 * - `refuses(b, h, s)`: s <= B of a record, or s <= F_b. Callers ask only
 *   for chunks b is not already recorded as holding.
 * - After a manager restart the records are gone; the floor starts at the
 *   highest bound ever sent to b, which is persisted before the reply that
 *   carries it leaves (see Membership.heartbeat).
 * - Stamps from older writers or benefactors are 0 (the oldest): refused as
 *   soon as any delete was sent to b, accepted before.
 *
 * Records are kept long enough that a prompt report (a writer reports right
 * after its store) is judged by its own chunk's record, not by the floor; a
 * report older than that is refused if some delete went to b after its
 * store, and the writer's commit recovers by uploading the chunk again.
 */
export interface DeleteLedgerOptions {
  /** How long a sent delete is remembered per chunk (default 2 min). */
  retainMs?: number;
  /** Records kept at most; beyond it the oldest are folded into the floor early (default 500k). */
  maxRecords?: number;
}

export const DEFAULT_DELETE_RETAIN_MS = 120_000;
export const DEFAULT_MAX_DELETE_RECORDS = 500_000;

export class DeleteLedger {
  private readonly records = new Map<number, Map<string, number>>();
  private readonly floors = new Map<number, number>();
  // FIFO of records in the order they were sent, for expiry.
  private nums: number[] = [];
  private keys: string[] = [];
  private bounds: number[] = [];
  private times: number[] = [];
  private head = 0;
  private readonly retainMs: number;
  private readonly maxRecords: number;

  constructor(opts: DeleteLedgerOptions = {}) {
    this.retainMs = opts.retainMs ?? DEFAULT_DELETE_RETAIN_MS;
    this.maxRecords = opts.maxRecords ?? DEFAULT_MAX_DELETE_RECORDS;
  }

  /** Records kept now. */
  get size(): number {
    return this.keys.length - this.head;
  }

  /** Reports with a stamp at or below this are refused for chunks `num` does not hold (0: none). */
  floor(num: number): number {
    return this.floors.get(num) ?? 0;
  }

  raiseFloor(num: number, bound: number): void {
    if (bound > this.floor(num)) this.floors.set(num, bound);
  }

  /**
   * Deletes of these hashes (latin1 keys or buffers) went to `num` bounded by
   * `bound` (also used for copies `num` reported corrupt: dropped there as of
   * that heartbeat).
   */
  sent(num: number, hashes: readonly (Buffer | string)[], bound: number, now: number): void {
    if (hashes.length === 0) return;
    let map = this.records.get(num);
    if (!map) this.records.set(num, (map = new Map()));
    for (const h of hashes) {
      const key = typeof h === 'string' ? h : h.toString('latin1');
      map.set(key, Math.max(map.get(key) ?? 0, bound));
      this.nums.push(num);
      this.keys.push(key);
      this.bounds.push(bound);
      this.times.push(now);
    }
    if (this.size > this.maxRecords) this.forget(this.size - this.maxRecords);
  }

  /** Is a report that `num` holds the chunk (32 bytes at buf[off..]), made at `stamp`, stale? */
  refuses(num: number, buf: Uint8Array, off: number, stamp: number): boolean {
    const f = this.floor(num);
    if (f > 0 && stamp <= f) return true;
    const map = this.records.get(num);
    if (!map || map.size === 0) return false;
    const key = Buffer.from(buf.buffer, buf.byteOffset + off, 32).toString('latin1');
    const bound = map.get(key);
    return bound !== undefined && stamp <= bound;
  }

  /** Folds records older than the retention into their benefactor's floor. */
  expire(now: number): void {
    let n = 0;
    for (let i = this.head; i < this.times.length && (this.times[i] as number) <= now - this.retainMs; i++)
      n++;
    if (n > 0) this.forget(n);
  }

  private forget(count: number): void {
    for (let i = 0; i < count && this.head < this.keys.length; i++, this.head++) {
      const num = this.nums[this.head] as number;
      const key = this.keys[this.head] as string;
      const bound = this.bounds[this.head] as number;
      this.raiseFloor(num, bound);
      const map = this.records.get(num);
      if (map?.get(key) === bound) map.delete(key);
      if (map?.size === 0) this.records.delete(num);
    }
    if (this.head > 4096 && this.head * 2 > this.keys.length) {
      this.nums = this.nums.slice(this.head);
      this.keys = this.keys.slice(this.head);
      this.bounds = this.bounds.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
