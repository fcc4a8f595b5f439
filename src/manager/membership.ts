import { invalid } from '../errors/index.ts';
import { HASH_BYTES } from '../hashing/index.ts';
import { KEYS, encodeBenefactor } from './records.ts';
import { MAX_BENEFACTORS } from './registry.ts';
import type { Benefactor } from './registry.ts';
import type { ReplicationItem } from './commands.ts';
import type { StoreContext } from './context.ts';
import type {
  BenefactorStats,
  HeartbeatInput,
  HeartbeatResult,
  ManagerCommand,
  RegisterInput,
} from './types.ts';

/** After asking for an inventory, ask again only if none came within this long. */
const INVENTORY_REQUEST_RETRY_MS = 60_000;

/**
 * Benefactors' side of the conversation (HDFS DataNode style): registration,
 * heartbeats that carry commands back, liveness. Heartbeats update memory
 * only, so a slow commit on the writer queue never delays liveness.
 */
export class Membership {
  constructor(private readonly ctx: StoreContext) {}

  private beat(b: Benefactor, stats: BenefactorStats, now: number): void {
    b.capacityBytes = stats.capacityBytes;
    b.usedBytes = stats.usedBytes;
    b.freeBytes = stats.freeBytes;
    b.chunks = stats.chunks;
    b.lastHeartbeatMs = now;
    b.reservedBytes = 0;
    if (b.state === 'alive') return;
    if (b.state === 'lost') {
      // Its disk may have changed while away: ask for the inventory now.
      b.returned = true;
      b.lastReconcileMs = 0;
      b.inventoryRequestedMs = 0;
      this.ctx.logger.info({ benefactor: b.id, address: b.address }, 'benefactor returned');
    }
    b.state = 'alive';
    // Its copies count again, and it has room for repairs.
    this.ctx.repair.requestRescan();
  }

  async register(input: RegisterInput): Promise<{ heartbeatIntervalMs: number; sendInventory: boolean }> {
    const { registry } = this.ctx;
    return this.ctx.queue.run(async () => {
      const now = this.ctx.clock();
      const existing = registry.get(input.id);
      const num = existing?.num ?? registry.nextNum();
      if (num > MAX_BENEFACTORS) throw invalid(`too many benefactors (at most ${MAX_BENEFACTORS})`);
      const record = {
        num,
        id: input.id,
        host: input.host,
        address: input.address,
        dataAddress: input.dataAddress || undefined,
        dataSocket: input.dataSocket || undefined,
        dataSocketHost: input.dataSocketHost || undefined,
        capacityBytes: input.capacityBytes,
        usedBytes: input.usedBytes,
        freeBytes: input.freeBytes,
        chunks: input.chunks,
        ...(existing?.drain ? { drain: existing.drain } : {}),
      };
      await this.ctx.kv.batch(
        [{ type: 'put', key: KEYS.benefactor(input.id), value: encodeBenefactor(record) }],
        {
          sync: true,
        },
      );
      const b = existing ?? registry.add(record);
      b.host = input.host;
      b.address = input.address;
      b.dataAddress = input.dataAddress || undefined;
      b.dataSocket = input.dataSocket || undefined;
      b.dataSocketHost = input.dataSocketHost || undefined;
      this.ctx.logger.info(
        {
          benefactor: b.id,
          address: b.address,
          dataAddress: b.dataAddress ?? null,
          host: b.host,
          capacityBytes: input.capacityBytes,
          known: !!existing,
        },
        'benefactor registered',
      );
      this.beat(b, input, now);
      b.inventoryRequestedMs = now;
      return { heartbeatIntervalMs: this.ctx.settings.heartbeatIntervalMs, sendInventory: true };
    });
  }

  async heartbeat(input: HeartbeatInput): Promise<HeartbeatResult> {
    const { registry, commands, settings, ledger } = this.ctx;
    const b = registry.get(input.id);
    if (!b) return { commands: [], reregister: true, sendInventory: false };
    const now = this.ctx.clock();
    this.beat(b, input, now);
    if (input.scrub) b.scrub = { ...input.scrub };
    // Deletes in the reply are bounded by this beat's stamp; the bound is durable before
    // they leave, so a restarted manager still refuses reports older than them.
    const stamp = input.stamp ?? 0;
    const corrupt = input.corruptHashes?.length ? input.corruptHashes : undefined;
    if (stamp > 0 && (corrupt || commands.deletesFor(b.num) > 0)) await this.ctx.saveDeleteBound(b, stamp);
    if (corrupt) {
      b.corruptReported += Math.floor(corrupt.length / HASH_BYTES);
      // Dropped there before this beat: a report of such a copy made before it is stale too.
      const hashes: Buffer[] = [];
      for (let off = 0; off + HASH_BYTES <= corrupt.length; off += HASH_BYTES) {
        hashes.push(Buffer.from(corrupt.subarray(off, off + HASH_BYTES)));
      }
      ledger.sent(b.num, hashes, stamp, now);
      await this.ctx.queue.run(() => this.dropLocations(b, corrupt, 'corrupt'));
    }
    const { deletes, replications } = commands.take(b.num, settings.commandLimits);
    const out: ManagerCommand[] = [];
    if (deletes.length) {
      // Taken and recorded in one tick: a report judged after this sees the record.
      ledger.sent(b.num, deletes, stamp, now);
      out.push({ kind: 'delete', hashes: Buffer.concat(deletes), bound: stamp });
    }
    ledger.expire(now);
    out.push(...this.replicationCommands(b, replications, now));
    let sendInventory = false;
    const due =
      now - b.lastReconcileMs > settings.reconcileIntervalMs || (b.recheckAtMs > 0 && now >= b.recheckAtMs);
    // One request at a time: asked again once it came, or after a while without it. A
    // benefactor sends its inventory before its next heartbeat, so beats that keep coming
    // without one having begun mean the request was lost with its reply (a dropped
    // connection, a partition healing): then ask again after two beats, not a minute.
    const begun = b.inventoryBegunMs >= b.inventoryRequestedMs;
    const patience = begun
      ? Math.min(settings.reconcileIntervalMs, INVENTORY_REQUEST_RETRY_MS)
      : 2 * settings.heartbeatIntervalMs;
    const awaiting = b.inventoryRequestedMs > b.lastReconcileMs && now - b.inventoryRequestedMs <= patience;
    if (due && !awaiting) {
      sendInventory = true;
      b.inventoryRequestedMs = now;
    }
    return { commands: out, reregister: false, sendInventory };
  }

  /** Queued copies for `target`, grouped by source; stale ones dropped (and re-planned if still needed). */
  private replicationCommands(target: Benefactor, items: ReplicationItem[], now: number): ManagerCommand[] {
    const { index, registry, repair } = this.ctx;
    const alive = registry.aliveMask(now);
    // Copies on a benefactor being drained do not count (stdchk benefactor drain); it is still a source.
    const counted = registry.countedMask(now);
    const bySource = new Map<number, Buffer[]>();
    const sent: { record: number; target: number }[] = [];
    const dropped: { record: number; target: number }[] = [];
    for (const item of items) {
      const entry = { record: item.record, target: target.num };
      // The record may have been collected (and its id reused) since the copy was planned.
      if (index.find(item.hash, 0) !== item.record) continue;
      // Held there already, or no longer needed (a holder came back meanwhile): not sent.
      if (
        index.hasHolder(item.record, target.num) ||
        index.liveCount(item.record, counted) >= index.target(item.record)
      ) {
        repair.onStored(item.record, target.num);
        continue;
      }
      if (alive[item.source] !== 1 || !index.hasHolder(item.record, item.source)) {
        dropped.push(entry);
        continue;
      }
      let list = bySource.get(item.source);
      if (!list) bySource.set(item.source, (list = []));
      list.push(item.hash);
      sent.push(entry);
    }
    repair.onDropped(dropped);
    repair.onSent(sent, now + this.ctx.settings.repairRetryMs);
    return [...bySource].map(([source, hashes]) => ({
      kind: 'replicate' as const,
      hashes: Buffer.concat(hashes),
      source: this.ctx.addressOf(registry.at(source) as Benefactor),
    }));
  }

  /** Forgets copies a benefactor says are bad; repair restores the replica count. */
  private async dropLocations(b: Benefactor, hashes: Uint8Array, why: string): Promise<void> {
    const { index, repair } = this.ctx;
    const touched: number[] = [];
    for (let off = 0; off + HASH_BYTES <= hashes.length; off += HASH_BYTES) {
      const id = index.find(hashes, off);
      if (id < 0 || !index.removeHolder(id, b.num)) continue;
      touched.push(id);
      repair.markDirty(id);
    }
    if (touched.length) {
      this.ctx.logger.warn({ benefactor: b.id, chunks: touched.length, why }, 'dropped chunk locations');
      await this.ctx.persistChunks(touched);
    }
  }

  /** Declares silent benefactors lost (logged) and re-plans what involved them. */
  checkLiveness(): void {
    const { registry, commands, repair, settings, logger } = this.ctx;
    const now = this.ctx.clock();
    for (const b of registry.all()) {
      if (registry.isAlive(b, now)) continue;
      if (b.state === 'alive') {
        b.state = 'lost';
        logger.warn(
          { benefactor: b.id, address: b.address, silentMs: now - b.lastHeartbeatMs },
          'benefactor lost: no heartbeat within the timeout',
        );
        const dropped = commands.dropBenefactor(b.num);
        repair.onDropped(dropped.map((d) => ({ record: d.item.record, target: d.target })));
        repair.requestRescan();
      } else if (b.state === 'unknown' && now - this.ctx.startedAt > settings.heartbeatTimeoutMs) {
        b.state = 'lost';
        logger.warn(
          { benefactor: b.id, address: b.address },
          'benefactor lost: silent since the manager started',
        );
      }
    }
  }
}
