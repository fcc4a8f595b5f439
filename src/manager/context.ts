import { StdchkError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { KeyValueStore, KvOp } from './kv.ts';
import { ChunkIndex } from './chunk-index.ts';
import { BenefactorRegistry } from './registry.ts';
import type { Benefactor } from './registry.ts';
import { CommandQueues } from './commands.ts';
import type { CommandLimits } from './commands.ts';
import { RepairPlanner } from './repair.ts';
import { OrphanTracker, ZeroQueue } from './gc.ts';
import { DeleteLedger } from './delete-ledger.ts';
import { SerialQueue } from './serial-queue.ts';
import { KEYS, encodeChunk } from './records.ts';
import type { BenefactorAddress, InventorySession } from './types.ts';

export interface StoreSettings {
  heartbeatTimeoutMs: number;
  heartbeatIntervalMs: number;
  gcGraceMs: number;
  uploadGraceMs: number;
  leaseTtlMs: number;
  reconcileIntervalMs: number;
  repairRetryMs: number;
  commandLimits: CommandLimits;
  /** How long a sent delete is remembered per chunk before it folds into the benefactor's floor. */
  deleteRetainMs: number;
}

/**
 * The state the metadata store's parts share: the chunk index and registry,
 * the command queues and planners, the single writer queue. The parts
 * (namespace and versions, chunk operations, membership, inventory, GC) each
 * take this and keep their logic in their own file.
 */
export class StoreContext {
  readonly index = new ChunkIndex();
  readonly registry: BenefactorRegistry;
  readonly commands = new CommandQueues();
  readonly repair: RepairPlanner;
  /** Chunks whose refcount dropped to 0 (collected after gcGraceMs). */
  readonly zeroQueue = new ZeroQueue();
  /** Uploads no commit has referenced yet (collected after uploadGraceMs). */
  readonly uploadQueue = new ZeroQueue();
  readonly orphans = new OrphanTracker();
  /** Deletes sent, by bound: stale reports of deleted copies are refused (delete-ledger.ts). */
  readonly ledger: DeleteLedger;
  private boundWrites: Promise<void> = Promise.resolve();
  /** The single writer: every read-modify-write of persistent state runs here. */
  readonly queue = new SerialQueue();
  readonly inventories = new Map<number, InventorySession>();
  startedAt = 0;
  closed = false;

  constructor(
    readonly kv: KeyValueStore,
    readonly settings: StoreSettings,
    readonly logger: Logger,
    readonly clock: () => number,
    readonly random: () => number,
  ) {
    this.registry = new BenefactorRegistry(settings.heartbeatTimeoutMs);
    this.ledger = new DeleteLedger({ retainMs: settings.deleteRetainMs });
    this.repair = new RepairPlanner(this.index, this.registry, this.commands, random);
  }

  checkOpen(): void {
    if (this.closed) throw new StdchkError('UNAVAILABLE', 'the manager is shutting down');
  }

  addressOf(b: Benefactor): BenefactorAddress {
    return {
      id: b.id,
      address: b.address,
      host: b.host,
      dataAddress: b.dataAddress ?? '',
      dataSocket: b.dataSocket ?? '',
      dataSocketHost: b.dataSocketHost ?? '',
    };
  }

  /** The index record as a LevelDB put, with `counts` overriding what memory holds. */
  chunkPut(id: number, counts?: { refcount: number; target: number; zeroSince: number }): KvOp {
    const index = this.index;
    return {
      type: 'put',
      key: KEYS.chunk(index.hashHex(id)),
      value: encodeChunk({
        length: index.length(id),
        refcount: counts?.refcount ?? index.refcount(id),
        target: counts?.target ?? index.target(id),
        zeroSince: counts?.zeroSince ?? index.zeroSince(id),
        referenced: index.wasReferenced(id) || (counts?.refcount ?? 0) > 0,
        holders: index.holders(id),
      }),
    };
  }

  /**
   * Writes index records whose locations changed in memory. Not synced by
   * default: locations are soft state that inventory reconciliation
   * restores. Synced when a location was removed because a delete is about
   * to go there: a crash must not bring back a holder told to delete its copy.
   */
  async persistChunks(ids: Iterable<number>, sync = false): Promise<void> {
    const ops: KvOp[] = [];
    for (const id of ids) if (this.index.isLive(id)) ops.push(this.chunkPut(id));
    await this.kv.batch(ops, { sync });
  }

  /**
   * Makes `bound` durable as the lowest floor of `b` after a restart (see
   * delete-ledger.ts); resolves once it (or a higher one) is synced. Called
   * before a heartbeat reply carries deletes bounded by it. Writes for all
   * benefactors go one at a time, so the stored value only increases.
   */
  async saveDeleteBound(b: Benefactor, bound: number): Promise<void> {
    if (bound <= b.deleteBoundSaved) return;
    b.deleteBoundWanted = Math.max(b.deleteBoundWanted, bound);
    const run = this.boundWrites.then(async () => {
      const want = b.deleteBoundWanted;
      if (want <= b.deleteBoundSaved) return;
      await this.kv.batch([{ type: 'put', key: KEYS.deleteBound(b.id), value: Buffer.from(String(want)) }], {
        sync: true,
      });
      b.deleteBoundSaved = Math.max(b.deleteBoundSaved, want);
    });
    this.boundWrites = run.catch(() => undefined);
    await run;
  }

  /** A benefactor now holds the chunk: repairs planned there are done. True if it was a planned copy. */
  holderAdded(id: number, num: number): boolean {
    this.inventories.get(num)?.addedDuring.add(id);
    return this.repair.onStored(id, num);
  }

  /** A record left the index (its id may be reused): forget it wherever ids are remembered. */
  forgetRecord(id: number): void {
    this.repair.forget(id);
    for (const s of this.inventories.values()) {
      if (id < s.seen.length) s.seen[id] = 0;
      s.addedDuring.delete(id);
    }
  }

  /**
   * An unreferenced chunk a writer is about to reference (a dedup hit or a
   * fresh upload) gets its grace restarted, so GC does not take it from under
   * the commit that follows. In memory only: a restart restores the old time.
   */
  keepForCommit(id: number, now: number): void {
    const index = this.index;
    if (index.refcount(id) !== 0 || now - index.zeroSince(id) < this.graceOf(id) / 2) return;
    index.setCounts(id, 0, index.target(id), now);
    this.zeroQueueOf(id).push(id, now);
  }

  /** How long an unreferenced chunk is kept: uploads not committed yet get longer. */
  graceOf(id: number): number {
    return this.index.wasReferenced(id) ? this.settings.gcGraceMs : this.settings.uploadGraceMs;
  }

  zeroQueueOf(id: number): ZeroQueue {
    return this.index.wasReferenced(id) ? this.zeroQueue : this.uploadQueue;
  }
}
