import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { StdchkError } from '../errors/index.ts';

/**
 * Store stamps: how a benefactor orders the deletion of a chunk against new
 * references to it (docs/reliability.md, "Deletion and new references").
 *
 * A stamp is `epoch * 2^32 + counter`, strictly increasing over the life of
 * the store folder: the epoch is kept in `<store>/boot`, raised (and fsynced)
 * at every start, and the counter goes up by one per StoreChunks request.
 *
 * - Every chunk of a store request, newly written or answered "existing",
 *   is recorded as stamped with that request's stamp (`stamp`).
 * - A heartbeat carries `current()`; the manager bounds the deletes of its
 *   reply by it. `mayDelete(h, B)` is true only if `h` was not stamped after
 *   B and B is not below `floor` (a bound from an earlier start: the stamps
 *   of that start are gone with its memory).
 *
 * Only stamps above `floor` are remembered. `prune(upTo)` forgets the older
 * ones and raises the floor to `upTo`: answers for bounds >= upTo do not
 * change (a forgotten stamp is <= upTo <= bound either way), and smaller
 * bounds are refused from then on, which is always safe (the copy stays an
 * orphan until inventory reconciliation removes it).
 */
export const EPOCH_FACTOR = 2 ** 32;
/** Highest epoch whose stamps stay exact in a double. */
const MAX_EPOCH = Math.floor(Number.MAX_SAFE_INTEGER / EPOCH_FACTOR) - 1;
export const BOOT_FILE = 'boot';
/** Stamped chunks remembered at most; beyond it the oldest are pruned (see prune). */
export const DEFAULT_MAX_TRACKED = 1_000_000;

const keyOf = (hash: Uint8Array): string =>
  Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('latin1');

/** Writes `text` to `file` atomically and durably (temp file, fsync, rename, fsync of the folder). */
function writeDurably(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** Reads the last epoch from `file` (0 if none), stores the next one durably and returns it. */
export function nextEpoch(file: string): number {
  let last = 0;
  try {
    const text = readFileSync(file, 'utf8').trim();
    last = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(last)) {
      throw new StdchkError('CORRUPT', `${file}: not a boot number (${JSON.stringify(text.slice(0, 40))})`, {
        retryable: false,
      });
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const epoch = last + 1;
  if (epoch > MAX_EPOCH) {
    throw new StdchkError('CORRUPT', `${file}: boot number ${last} is at its limit`, { retryable: false });
  }
  writeDurably(file, `${epoch}\n`);
  return epoch;
}

export interface StoreStampsOptions {
  /** Stamped chunks remembered at most (default 1M, ~100 MB at worst). */
  maxTracked?: number;
  /** Stamps per epoch before a new epoch is taken (tests lower it). */
  epochSpan?: number;
}

export class StoreStamps {
  private epoch: number;
  private counter = 0;
  /** Bounds below this are refused. */
  private floor_: number;
  /** hash (latin1) -> last stamp, in stamp order (an update moves the key to the end). */
  private readonly last = new Map<string, number>();
  private readonly maxTracked: number;
  private readonly epochSpan: number;

  /**
   * @param bootFile where the epoch is kept (`<store>/boot`); undefined keeps it in memory
   *   only (tests). A new epoch is taken at construction.
   */
  constructor(
    private readonly bootFile: string | undefined,
    opts: StoreStampsOptions = {},
  ) {
    this.epoch = bootFile ? nextEpoch(bootFile) : 1;
    this.floor_ = this.epoch * EPOCH_FACTOR;
    this.maxTracked = opts.maxTracked ?? DEFAULT_MAX_TRACKED;
    this.epochSpan = Math.min(opts.epochSpan ?? EPOCH_FACTOR, EPOCH_FACTOR);
  }

  /** Opens the stamps of a store folder (its lock must be held): a new epoch per start. */
  static open(storeDir: string, opts: StoreStampsOptions = {}): StoreStamps {
    return new StoreStamps(path.join(storeDir, BOOT_FILE), opts);
  }

  /** The stamp of the latest store (or the start of this epoch): what a heartbeat carries. */
  current(): number {
    return this.epoch * EPOCH_FACTOR + this.counter;
  }

  /** Lowest bound a delete may carry and still be applied. */
  get floor(): number {
    return this.floor_;
  }

  /** Chunks whose stamp is remembered. */
  get tracked(): number {
    return this.last.size;
  }

  /**
   * A new stamp, recorded for every hash (stored or found held at this very
   * moment, in the same tick as the store's own check). Returns it.
   */
  stamp(hashes: Iterable<Uint8Array>): number {
    if (this.counter + 1 >= this.epochSpan) {
      // ~4 billion requests in one run: take the next epoch (stamps keep increasing).
      this.epoch = this.bootFile ? nextEpoch(this.bootFile) : this.epoch + 1;
      this.counter = 0;
    }
    const s = this.epoch * EPOCH_FACTOR + ++this.counter;
    for (const h of hashes) {
      const k = keyOf(h);
      this.last.delete(k);
      this.last.set(k, s);
    }
    if (this.last.size > this.maxTracked) this.pruneOldest(this.last.size - Math.floor(this.maxTracked / 2));
    return s;
  }

  /** The stamp remembered for a hash (0: not stamped since the floor). */
  stampOf(hash: Uint8Array): number {
    return this.last.get(keyOf(hash)) ?? 0;
  }

  /** May a delete bounded by `bound` remove this chunk now? */
  mayDelete(hash: Uint8Array, bound: number): boolean {
    return bound >= this.floor_ && this.stampOf(hash) <= bound;
  }

  /** Forgets stamps <= upTo and refuses bounds below it from now on (no delete with such a bound is expected). */
  prune(upTo: number): void {
    if (upTo <= this.floor_) return;
    this.floor_ = Math.min(upTo, this.current());
    for (const [k, s] of this.last) {
      if (s > this.floor_) break;
      this.last.delete(k);
    }
  }

  private pruneOldest(count: number): void {
    let highest = this.floor_;
    for (const [k, s] of this.last) {
      if (count-- <= 0) break;
      this.last.delete(k);
      highest = s;
    }
    this.floor_ = Math.max(this.floor_, highest);
  }
}

/**
 * Delete commands a benefactor received and has not applied yet (they wait
 * behind other commands). Its inventory must leave out the chunks they are
 * about to remove: listed, the manager would record the copy again just
 * before it goes. Their bounds also tell which stamps are still needed.
 */
export class PendingDeletes {
  /** Oldest first; bounds come from successive heartbeats, so they increase. */
  private readonly list: { keys: string[]; bound: number }[] = [];
  /** Per hash: the highest bound of its pending deletes and how many there are. */
  private readonly byHash = new Map<string, { bound: number; n: number }>();

  get size(): number {
    return this.byHash.size;
  }

  /** The lowest bound still pending (Infinity: none). */
  get lowestBound(): number {
    return this.list[0]?.bound ?? Infinity;
  }

  /** Records a delete command; returns the token to pass to `done` once it ran. */
  add(hashes: readonly Uint8Array[], bound: number): object {
    const entry = { keys: hashes.map(keyOf), bound };
    this.list.push(entry);
    for (const k of entry.keys) {
      const e = this.byHash.get(k);
      if (e) {
        e.n++;
        e.bound = Math.max(e.bound, bound);
      } else this.byHash.set(k, { bound, n: 1 });
    }
    return entry;
  }

  done(token: object): void {
    const i = this.list.indexOf(token as { keys: string[]; bound: number });
    if (i < 0) return;
    const [entry] = this.list.splice(i, 1);
    for (const k of entry!.keys) {
      const e = this.byHash.get(k);
      if (e && --e.n === 0) this.byHash.delete(k);
    }
  }

  /** Would a pending delete remove this chunk if it ran now? */
  aboutToDelete(hash: Uint8Array, stamps: StoreStamps): boolean {
    if (this.byHash.size === 0) return false;
    const e = this.byHash.get(keyOf(hash));
    return e !== undefined && stamps.mayDelete(hash, e.bound);
  }
}
