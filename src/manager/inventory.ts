import { StdchkError } from '../errors/index.ts';
import { REF_BYTES } from '../chunking/refs.ts';
import type { Benefactor } from './registry.ts';
import type { StoreContext } from './context.ts';
import { checkPackedRefs, hashView, isZeroAt } from './packed.ts';
import type { InventoryResult, InventorySession } from './types.ts';

/**
 * Reconciliation against a benefactor's full inventory, streamed in parts.
 * Each part is handled on the writer queue as it arrives; the last one
 * drops the locations the inventory did not list.
 *
 * - held but unknown to the index: deleted there once unknown for longer
 *   than the GC grace (it may be an upload whose ReportStored is in flight);
 * - known with refcount 0 past the grace: the GC loop deletes it (now from
 *   this holder too);
 * - recorded there but not listed: location dropped, repair follows;
 * - listed but not recorded: location added;
 * - more live copies than the target on a benefactor that was lost and came
 *   back: the surplus copy there is deleted;
 * - a returned benefactor holding chunks unknown in their grace gets asked
 *   for another inventory once the grace is over, so what was collected while
 *   it was away leaves its disk within about one grace.
 */
export class InventoryReconciler {
  constructor(private readonly ctx: StoreContext) {}

  begin(benefactorId: string): InventorySession {
    const b = this.ctx.registry.get(benefactorId);
    if (!b) throw new StdchkError('NOT_FOUND', `unknown benefactor ${benefactorId}`);
    const session: InventorySession = {
      num: b.num,
      benefactorId,
      seen: new Uint8Array(this.ctx.index.highWater),
      addedDuring: new Set(),
      unknownKeys: new Set(),
      known: 0,
      orphaned: 0,
    };
    // A newer inventory from the same benefactor replaces an unfinished one.
    this.ctx.inventories.set(b.num, session);
    b.inventoryBegunMs = this.ctx.clock();
    return session;
  }

  abort(session: InventorySession): void {
    if (this.ctx.inventories.get(session.num) === session) this.ctx.inventories.delete(session.num);
  }

  private check(session: InventorySession): Benefactor {
    if (this.ctx.inventories.get(session.num) !== session) {
      throw new StdchkError('CONFLICT', `a newer inventory from ${session.benefactorId} replaced this one`);
    }
    return this.ctx.registry.at(session.num) as Benefactor;
  }

  async part(session: InventorySession, refs: Uint8Array): Promise<void> {
    checkPackedRefs(refs, 'inventory refs');
    const { index, commands, orphans, repair, settings } = this.ctx;
    await this.ctx.queue.run(async () => {
      const b = this.check(session);
      const now = this.ctx.clock();
      const alive = this.ctx.registry.aliveMask(now);
      const num = b.num;
      const touched = new Set<number>();
      const surplus: Buffer[] = [];
      for (let off = 0; off < refs.length; off += REF_BYTES) {
        if (isZeroAt(refs, off)) continue;
        // Already on its way out: listing it again must not bring the location back.
        if (commands.hasDelete(num, hashView(refs, off))) continue;
        const id = index.find(refs, off);
        if (id < 0) {
          const key = hashView(refs, off).toString('latin1');
          if (now - orphans.seen(num, key, now) > settings.gcGraceMs) {
            commands.queueDelete(num, Buffer.from(hashView(refs, off)));
            orphans.forget(num, key);
            session.orphaned++;
          } else {
            session.unknownKeys.add(key);
          }
          continue;
        }
        session.known++;
        if (id >= session.seen.length) {
          const grown = new Uint8Array(Math.max(index.highWater, id + 1));
          grown.set(session.seen);
          session.seen = grown;
        }
        session.seen[id] = 1;
        if (index.addHolder(id, num)) {
          touched.add(id);
          repair.onStored(id, num);
        }
        if (index.refcount(id) === 0) {
          if (now - index.zeroSince(id) > this.ctx.graceOf(id)) session.orphaned++;
          continue;
        }
        if (b.returned && index.liveCount(id, alive) > index.target(id)) {
          index.removeHolder(id, num);
          surplus.push(index.hash(id));
          touched.add(id);
          session.orphaned++;
        }
      }
      // Removed locations are durable before their deletes can leave.
      await this.ctx.persistChunks(touched, surplus.length > 0);
      for (const h of surplus) commands.queueDelete(num, h);
    });
  }

  async finish(session: InventorySession): Promise<InventoryResult> {
    const { index, repair } = this.ctx;
    return this.ctx.queue.run(async () => {
      const b = this.check(session);
      this.ctx.inventories.delete(session.num);
      const touched: number[] = [];
      for (const id of index.ids()) {
        if (!index.hasHolder(id, b.num)) continue;
        if ((id < session.seen.length && session.seen[id] === 1) || session.addedDuring.has(id)) continue;
        index.removeHolder(id, b.num);
        repair.markDirty(id);
        touched.push(id);
      }
      this.ctx.orphans.retainOnly(b.num, session.unknownKeys);
      const now = this.ctx.clock();
      b.lastReconcileMs = now;
      // Back from the dead with chunks nobody knows (most likely collected while it was away):
      // look again once their grace is over instead of at the next periodic reconciliation.
      b.recheckAtMs =
        b.returned && session.unknownKeys.size > 0
          ? now + this.ctx.settings.gcGraceMs + this.ctx.settings.heartbeatIntervalMs
          : 0;
      b.returned = false;
      await this.ctx.persistChunks(touched);
      const result: InventoryResult = {
        chunksKnown: session.known,
        chunksOrphaned: session.orphaned,
        replicasMissing: touched.length,
      };
      this.ctx.logger.info(
        { benefactor: b.id, ...result, unknownInGrace: session.unknownKeys.size },
        'inventory reconciled',
      );
      return result;
    });
  }
}
