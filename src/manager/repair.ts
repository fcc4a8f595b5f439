import type { ChunkIndex } from './chunk-index.ts';
import type { BenefactorRegistry } from './registry.ts';
import type { CommandQueues } from './commands.ts';
import { chooseTargets } from './placement.ts';
import type { Candidate } from './placement.ts';

/** Replication queued for one benefactor beyond this waits for the next pass. */
const QUEUE_CAP_BYTES = 256 * 1024 * 1024;
/** Records a rescan looks at per pass (a cheap loop over typed arrays). */
const SCAN_PER_PASS = 4_000_000;
const QUEUED = Number.POSITIVE_INFINITY;

export interface RepairSummary {
  queued: number;
  bytes: number;
  /** Referenced chunks with no live replica at all (nothing to copy from). */
  unrecoverable: number;
  /** Under-replicated chunks for which no eligible target exists now. */
  noTarget: number;
}

interface Budgeted extends Candidate {
  budget: number;
}

/**
 * Re-replication planning. Work is driven by events instead of a scan every
 * second: a benefactor lost/returned/registered requests a rescan (resumable,
 * bounded per pass); a corrupt report, a dropped location or a commit short
 * of its target marks single chunks dirty. Copies in flight are remembered
 * per (chunk, target) and planned again if no report arrives in time.
 */
export class RepairPlanner {
  private dirty = new Set<number>();
  /** Chunks that waited for queue budget; they become dirty again at the next pass. */
  private deferred = new Set<number>();
  private rescanCursor: number | undefined = 0;
  // record id -> target benefactor -> deadline for its report (QUEUED: not sent yet)
  private readonly inProgress = new Map<number, Map<number, number>>();
  private inProgressCount = 0;

  constructor(
    private readonly index: ChunkIndex,
    private readonly registry: BenefactorRegistry,
    private readonly commands: CommandQueues,
    private readonly random: () => number = Math.random,
  ) {}

  get repairsInProgress(): number {
    return this.inProgressCount;
  }

  get pendingWork(): boolean {
    return (
      this.dirty.size > 0 ||
      this.deferred.size > 0 ||
      this.rescanCursor !== undefined ||
      this.inProgressCount > 0
    );
  }

  markDirty(id: number): void {
    this.dirty.add(id);
  }

  requestRescan(): void {
    this.rescanCursor = 0;
  }

  /** The record was removed from the index (its id may be reused). */
  forget(id: number): void {
    this.dirty.delete(id);
    this.deferred.delete(id);
    const pending = this.inProgress.get(id);
    if (pending) {
      this.inProgressCount -= pending.size;
      this.inProgress.delete(id);
    }
  }

  /** A benefactor reported holding the chunk: a copy planned there is done. True if one was planned. */
  onStored(id: number, num: number): boolean {
    const pending = this.inProgress.get(id);
    if (!pending?.delete(num)) return false;
    this.inProgressCount--;
    if (pending.size === 0) this.inProgress.delete(id);
    return true;
  }

  /** Copies handed to a benefactor: the report clock starts now. */
  onSent(items: readonly { record: number; target: number }[], deadline: number): void {
    for (const { record, target } of items) {
      const pending = this.inProgress.get(record);
      if (pending?.has(target)) pending.set(target, deadline);
    }
  }

  /** Queued copies that will not happen (benefactor lost, source gone): plan them again. */
  onDropped(items: readonly { record: number; target: number }[]): void {
    for (const { record, target } of items) {
      const pending = this.inProgress.get(record);
      if (pending?.delete(target)) {
        this.inProgressCount--;
        if (pending.size === 0) this.inProgress.delete(record);
      }
      this.dirty.add(record);
    }
  }

  run(now: number): RepairSummary {
    const summary: RepairSummary = { queued: 0, bytes: 0, unrecoverable: 0, noTarget: 0 };
    this.expire(now);
    for (const id of this.deferred) this.dirty.add(id);
    this.deferred.clear();
    const cands: Budgeted[] = this.registry
      .candidates(now)
      .map((c) => ({ ...c, budget: QUEUE_CAP_BYTES - this.commands.queuedReplicationBytes(c.num) }));
    const hasBudget = () => cands.some((c) => c.budget > 0 && c.freeBytes > 0);
    if (!hasBudget()) return summary;
    const alive = this.registry.aliveMask(now);
    const counted = this.registry.countedMask(now);

    for (const id of [...this.dirty]) {
      if (!hasBudget()) break;
      this.dirty.delete(id);
      this.consider(id, alive, counted, cands, summary);
    }
    if (this.rescanCursor !== undefined) {
      let id = this.rescanCursor;
      const end = this.index.highWater;
      for (let scanned = 0; id < end && scanned < SCAN_PER_PASS && hasBudget(); id++, scanned++) {
        if (this.index.isLive(id)) this.consider(id, alive, counted, cands, summary);
      }
      this.rescanCursor = id >= end ? undefined : id;
    }
    return summary;
  }

  private expire(now: number): void {
    for (const [id, pending] of this.inProgress) {
      for (const [target, deadline] of pending) {
        if (deadline > now) continue;
        pending.delete(target);
        this.inProgressCount--;
        this.dirty.add(id);
      }
      if (pending.size === 0) this.inProgress.delete(id);
    }
  }

  /**
   * `alive`: holders that can be copied from; `counted`: those whose copies
   * count toward the target (alive, not being drained).
   */
  private consider(
    id: number,
    alive: Uint8Array,
    counted: Uint8Array,
    cands: Budgeted[],
    summary: RepairSummary,
  ): void {
    const index = this.index;
    if (!index.isLive(id) || index.refcount(id) === 0) return;
    const pending = this.inProgress.get(id);
    // The common case, a healthy chunk, costs no allocation.
    if (index.liveCount(id, counted) + (pending?.size ?? 0) >= index.target(id)) return;
    const holders = index.holders(id);
    const live: number[] = [];
    for (let i = 0; i < holders.length; i++) if (alive[holders[i]!] === 1) live.push(holders[i]!);
    const need = index.target(id) - index.liveCount(id, counted) - (pending?.size ?? 0);
    if (need <= 0) return;
    if (live.length === 0) {
      summary.unrecoverable++;
      return;
    }
    const length = index.length(id);
    const possible = cands.filter((c) => !index.hasHolder(id, c.num) && !pending?.has(c.num));
    const eligible = possible.filter((c) => c.budget >= length);
    if (eligible.length === 0 && possible.some((c) => c.freeBytes >= length)) {
      // Only this pass's queue budget is short: plan it again once the queues drain.
      this.deferred.add(id);
      return;
    }
    const avoidHosts = live.map((num) => this.registry.at(num)?.host ?? '');
    const chosen = chooseTargets(eligible, need, length, { avoidHosts, random: this.random }) as Budgeted[];
    if (chosen.length === 0) {
      summary.noTarget++;
      return;
    }
    const source = live[Math.floor(this.random() * live.length)] as number;
    const hash = index.hash(id);
    let slots = pending;
    if (!slots) this.inProgress.set(id, (slots = new Map()));
    for (const c of chosen) {
      this.commands.queueReplication(c.num, { record: id, hash, length, source });
      slots.set(c.num, QUEUED);
      this.inProgressCount++;
      c.budget -= length;
      c.freeBytes -= length;
      summary.queued++;
      summary.bytes += length;
    }
  }
}
