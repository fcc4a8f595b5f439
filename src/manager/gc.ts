import { KEYS } from './records.ts';
import type { StoreContext } from './context.ts';

/** Chunks collected per pass at most (one LevelDB batch). */
const GC_BATCH = 100_000;

/**
 * Removes unreferenced chunks from the index (one batch) and queues their
 * deletion on every live holder: chunks released by their last version after
 * gcGraceMs, uploads that no commit referenced after uploadGraceMs (a large
 * file's first chunks wait for its commit far longer than a short grace).
 * Lost holders are left to their inventory when they return (an unknown
 * chunk there is deleted after the grace). Returns the number collected.
 */
export async function collectGarbage(ctx: StoreContext): Promise<number> {
  const { index } = ctx;
  return ctx.queue.run(async () => {
    const now = ctx.clock();
    const stillDue = (id: number, t: number) =>
      index.isLive(id) && index.refcount(id) === 0 && index.zeroSince(id) === t;
    const released = ctx.zeroQueue.takeDue(now - ctx.settings.gcGraceMs, GC_BATCH, stillDue);
    released.push(
      ...ctx.uploadQueue.takeDue(now - ctx.settings.uploadGraceMs, GC_BATCH - released.length, stillDue),
    );
    // A chunk released in the same millisecond it was uploaded is due in both queues: once.
    const due = [...new Set(released)];
    if (due.length === 0) return 0;
    const { chunks, bytes, deletes } = await removeChunks(ctx, due, now);
    ctx.logger.info({ chunks, bytes, deletes }, 'garbage collected');
    return chunks;
  });
}

/**
 * Removes chunks from the index (one synced batch) and queues their deletion on
 * every live holder. Runs on the writer queue: the caller's (collectGarbage,
 * and `stdchk gc`, admin.ts).
 */
export async function removeChunks(
  ctx: StoreContext,
  due: readonly number[],
  now: number,
): Promise<{ chunks: number; bytes: number; deletes: number }> {
  const { index, registry, commands } = ctx;
  // Synced before any delete is queued: after a power loss the index must not list
  // chunks whose copies are being deleted (a writer would deduplicate against them).
  await ctx.kv.batch(
    due.map((id) => ({ type: 'del' as const, key: KEYS.chunk(index.hashHex(id)) })),
    { sync: true },
  );
  const alive = registry.aliveMask(now);
  let deletes = 0;
  let bytes = 0;
  for (const id of due) {
    const hash = index.hash(id);
    const holders = index.holders(id);
    for (let i = 0; i < holders.length; i++) {
      if (alive[holders[i] as number] !== 1) continue;
      commands.queueDelete(holders[i] as number, hash);
      deletes++;
    }
    bytes += index.length(id);
    index.remove(id);
    ctx.forgetRecord(id);
  }
  return { chunks: due.length, bytes, deletes };
}

/**
 * Chunks whose refcount reached 0, in the order it happened, so each GC pass
 * looks only at what is due instead of scanning the index. Entries go stale
 * when a chunk is referenced again (or removed); the caller's check skips them.
 */
export class ZeroQueue {
  private ids: number[] = [];
  private times: number[] = [];
  private head = 0;

  get length(): number {
    return this.ids.length - this.head;
  }

  push(id: number, zeroSince: number): void {
    this.ids.push(id);
    this.times.push(zeroSince);
  }

  /**
   * Removes and returns (up to `max`) entries whose time is <= cutoff and that
   * `stillDue` confirms.
   */
  takeDue(cutoff: number, max: number, stillDue: (id: number, zeroSince: number) => boolean): number[] {
    const out: number[] = [];
    while (this.head < this.ids.length && out.length < max) {
      const t = this.times[this.head]!;
      if (t > cutoff) break;
      const id = this.ids[this.head]!;
      this.head++;
      if (stillDue(id, t)) out.push(id);
    }
    if (this.head > 4096 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}

/**
 * Chunks a benefactor holds that the index does not know, with when each was
 * first seen. They may be uploads whose ReportStored is still in flight, so
 * they are deleted only once they stayed unknown for longer than the grace.
 */
export class OrphanTracker {
  private readonly firstSeen = new Map<number, Map<string, number>>();

  /** The first-seen time for a hash (latin1 key) on a benefactor, recorded now if new. */
  seen(num: number, key: string, now: number): number {
    let map = this.firstSeen.get(num);
    if (!map) this.firstSeen.set(num, (map = new Map()));
    const t = map.get(key);
    if (t !== undefined) return t;
    map.set(key, now);
    return now;
  }

  forget(num: number, key: string): void {
    this.firstSeen.get(num)?.delete(key);
  }

  /** Keeps only the keys listed in the latest complete inventory. */
  retainOnly(num: number, keys: ReadonlySet<string>): void {
    const map = this.firstSeen.get(num);
    if (!map) return;
    for (const k of map.keys()) if (!keys.has(k)) map.delete(k);
    if (map.size === 0) this.firstSeen.delete(num);
  }

  get size(): number {
    let n = 0;
    for (const m of this.firstSeen.values()) n += m.size;
    return n;
  }
}
