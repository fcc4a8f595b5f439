/** One chunk to copy onto a benefactor from `source`. */
export interface ReplicationItem {
  record: number;
  hash: Buffer;
  length: number;
  source: number;
}

export interface CommandLimits {
  maxReplicationBytes: number;
  maxDeletes: number;
}

/** Per heartbeat: a beat every second moves at most this much repair traffic to one benefactor. */
export const DEFAULT_COMMAND_LIMITS: CommandLimits = {
  maxReplicationBytes: 64 * 1024 * 1024,
  maxDeletes: 20_000,
};

/**
 * Commands waiting for a benefactor's next heartbeat (HDFS style: the
 * benefactor asks, the reply carries the work). Memory only: after a restart
 * GC and repair recompute what is needed.
 */
export class CommandQueues {
  // Hashes as latin1 strings: a Set dedups and lets a fresh upload cancel a queued delete.
  private readonly deletes = new Map<number, Set<string>>();
  private readonly replications = new Map<number, ReplicationItem[]>();
  private deleteCount = 0;

  get pendingDeletions(): number {
    return this.deleteCount;
  }

  queueDelete(num: number, hash: Buffer): void {
    let set = this.deletes.get(num);
    if (!set) this.deletes.set(num, (set = new Set()));
    const k = hash.toString('latin1');
    if (set.has(k)) return;
    set.add(k);
    this.deleteCount++;
  }

  /** The chunk was stored there again: the old delete must not remove the new copy. */
  cancelDelete(num: number, hash: Buffer): void {
    const set = this.deletes.get(num);
    if (set?.delete(hash.toString('latin1'))) this.deleteCount--;
  }

  /** Deletes queued (not sent yet) for one benefactor. */
  deletesFor(num: number): number {
    return this.deletes.get(num)?.size ?? 0;
  }

  hasDelete(num: number, hash: Buffer): boolean {
    return this.deletes.get(num)?.has(hash.toString('latin1')) ?? false;
  }

  queueReplication(target: number, item: ReplicationItem): void {
    let list = this.replications.get(target);
    if (!list) this.replications.set(target, (list = []));
    list.push(item);
  }

  queuedReplicationBytes(target: number): number {
    let n = 0;
    for (const item of this.replications.get(target) ?? []) n += item.length;
    return n;
  }

  /** Takes the next batch for `num` within the limits (always at least one item if any). */
  take(num: number, limits: CommandLimits): { deletes: Buffer[]; replications: ReplicationItem[] } {
    const deletes: Buffer[] = [];
    const set = this.deletes.get(num);
    if (set) {
      for (const k of set) {
        if (deletes.length >= limits.maxDeletes) break;
        deletes.push(Buffer.from(k, 'latin1'));
        set.delete(k);
      }
      this.deleteCount -= deletes.length;
      if (set.size === 0) this.deletes.delete(num);
    }
    const list = this.replications.get(num) ?? [];
    let bytes = 0;
    let n = 0;
    while (n < list.length && (n === 0 || bytes + list[n]!.length <= limits.maxReplicationBytes)) {
      bytes += list[n]!.length;
      n++;
    }
    const replications = list.splice(0, n);
    if (list.length === 0) this.replications.delete(num);
    return { deletes, replications };
  }

  /**
   * Forgets everything involving a lost benefactor: deletes for it (its next
   * inventory finds the orphans) and copies to or from it. Returns the
   * dropped copies so their chunks can be planned again.
   */
  dropBenefactor(num: number): { target: number; item: ReplicationItem }[] {
    const set = this.deletes.get(num);
    if (set) {
      this.deleteCount -= set.size;
      this.deletes.delete(num);
    }
    const dropped = (this.replications.get(num) ?? []).map((item) => ({ target: num, item }));
    this.replications.delete(num);
    for (const [target, list] of this.replications) {
      const keep = list.filter((item) => item.source !== num);
      if (keep.length === list.length) continue;
      for (const item of list) if (item.source === num) dropped.push({ target, item });
      if (keep.length) this.replications.set(target, keep);
      else this.replications.delete(target);
    }
    return dropped;
  }
}
