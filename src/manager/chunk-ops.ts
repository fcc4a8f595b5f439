import { StdchkError, invalid } from '../errors/index.ts';
import { HASH_BYTES } from '../hashing/index.ts';
import { REF_BYTES } from '../chunking/refs.ts';
import { chooseTargets } from './placement.ts';
import type { Benefactor } from './registry.ts';
import type { StoreContext } from './context.ts';
import { checkPackedRefs, hashView, isZeroAt, refLength } from './packed.ts';
import { MAX_REPLICAS } from './types.ts';
import type { BenefactorAddress, LocateResult, PrepareResult, StoredReport } from './types.ts';

/**
 * The chunk side of the write and read paths: batched dedup lookups with
 * placement, replacement targets, locations, and stored-chunk reports.
 * Lookups are answered from memory without queueing.
 */
export class ChunkOps {
  constructor(private readonly ctx: StoreContext) {}

  /** `count` live targets with room for `bytes`, reserving that space until their next heartbeat. */
  private place(
    count: number,
    bytes: number,
    exclude: ReadonlySet<number>,
    now: number,
  ): BenefactorAddress[] {
    const { registry } = this.ctx;
    const candidates = registry.candidates(now, exclude);
    if (candidates.length === 0) {
      throw new StdchkError('UNAVAILABLE', exclude.size ? 'no other live benefactor' : 'no live benefactor');
    }
    const chosen = chooseTargets(candidates, count, bytes, { random: this.ctx.random });
    if (chosen.length === 0) throw new StdchkError('NO_SPACE', 'no benefactor has free space');
    return chosen.map((c) => {
      const b = registry.at(c.num) as Benefactor;
      b.reservedBytes += bytes;
      return this.ctx.addressOf(b);
    });
  }

  prepare(refs: Uint8Array, replicas: number, lookupOnly = false): PrepareResult {
    const { index, registry } = this.ctx;
    if (!(replicas >= 1 && replicas <= MAX_REPLICAS)) {
      throw invalid(`replicas must be 1 to ${MAX_REPLICAS}, not ${replicas}`);
    }
    const now = this.ctx.clock();
    const alive = registry.aliveMask(now);
    const n = refs.length / REF_BYTES;
    const present = Buffer.alloc(n);
    const ids = new Int32Array(n);
    index.findMany(refs, 0, REF_BYTES, n, ids);
    let missingBytes = 0;
    for (let i = 0, off = 0; i < n; i++, off += REF_BYTES) {
      if (isZeroAt(refs, off)) {
        present[i] = 1;
        continue;
      }
      const id = ids[i]!;
      if (id >= 0 && index.liveCount(id, alive) >= replicas) {
        present[i] = 1;
        this.ctx.keepForCommit(id, now);
      } else {
        missingBytes += refLength(refs, i);
      }
    }
    const targets = missingBytes > 0 && !lookupOnly ? this.place(replicas, missingBytes, new Set(), now) : [];
    return { present, targets };
  }

  allocate(count: number, bytes: number, excludeIds: readonly string[]): BenefactorAddress[] {
    const exclude = new Set<number>();
    for (const id of excludeIds) {
      const b = this.ctx.registry.get(id);
      if (b) exclude.add(b.num);
    }
    return this.place(count, bytes, exclude, this.ctx.clock());
  }

  locate(hashes: Uint8Array): LocateResult {
    const { index, registry } = this.ctx;
    const alive = registry.aliveMask(this.ctx.clock());
    const table = new Map<number, number>();
    const benefactors: BenefactorAddress[] = [];
    const slot = (num: number): number => {
      let i = table.get(num);
      if (i === undefined) {
        i = benefactors.length;
        table.set(num, i);
        benefactors.push(this.ctx.addressOf(registry.at(num) as Benefactor));
      }
      return i;
    };
    const locations: number[][] = [];
    const ids = new Int32Array(hashes.length / HASH_BYTES);
    index.findMany(hashes, 0, HASH_BYTES, ids.length, ids);
    for (let i = 0, off = 0; off < hashes.length; i++, off += HASH_BYTES) {
      const id = isZeroAt(hashes, off) ? -1 : ids[i]!;
      if (id < 0) {
        locations.push([]);
        continue;
      }
      const holders = index.holders(id);
      const live: number[] = [];
      const dead: number[] = [];
      for (let i = 0; i < holders.length; i++) {
        const num = holders[i] as number;
        if (!registry.at(num)) continue;
        (alive[num] === 1 ? live : dead).push(slot(num));
      }
      locations.push(live.concat(dead));
    }
    return { benefactors, locations };
  }

  /**
   * A repair copy just reported on `num` is surplus when the chunk has more
   * live copies than its target without it, every other holder's copy
   * confirmed (none of them came back from the dead and awaits reconciliation).
   */
  private isSurplus(id: number, num: number, alive: Uint8Array): boolean {
    const { index, registry } = this.ctx;
    if (index.liveCount(id, alive) <= index.target(id)) return false;
    const holders = index.holders(id);
    for (let i = 0; i < holders.length; i++) {
      const h = holders[i] as number;
      if (h !== num && alive[h] === 1 && registry.at(h)?.returned) return false;
    }
    return true;
  }

  /**
   * Benefactors hold these chunks. A chunk a benefactor is not yet recorded
   * as holding is added only if the report is not older than a delete sent
   * there since (delete-ledger.ts): such a copy may be gone, and recording
   * it would let a commit reference a chunk stored nowhere. A refused report
   * changes nothing; the writer's commit then finds the chunk missing and
   * uploads it again.
   */
  async reportStored(replicas: readonly StoredReport[]): Promise<void> {
    const { index, registry, commands, ledger } = this.ctx;
    await this.ctx.queue.run(async () => {
      const now = this.ctx.clock();
      const resolved = replicas.map((r) => {
        const b = registry.get(r.benefactorId);
        if (!b) throw new StdchkError('NOT_FOUND', `unknown benefactor ${r.benefactorId}`);
        checkPackedRefs(r.refs);
        return { b, refs: r.refs, stamp: r.stamp ?? 0 };
      });
      // Validate everything before changing anything.
      for (const { refs } of resolved) {
        for (let off = 0, i = 0; off < refs.length; off += REF_BYTES, i++) {
          if (isZeroAt(refs, off)) continue;
          const id = index.find(refs, off);
          if (id >= 0 && index.length(id) !== refLength(refs, i)) {
            throw invalid(
              `chunk ${hashView(refs, off).toString('hex')}: length ${refLength(refs, i)} does not match the recorded ${index.length(id)}`,
            );
          }
        }
      }
      const touched = new Set<number>();
      const alive = registry.aliveMask(now);
      const surplus: { num: number; hash: Buffer }[] = [];
      const refused = new Map<string, number>();
      for (const { b, refs, stamp } of resolved) {
        for (let off = 0, i = 0; off < refs.length; off += REF_BYTES, i++) {
          if (isZeroAt(refs, off)) continue;
          let id = index.find(refs, off);
          if (id >= 0) this.ctx.keepForCommit(id, now);
          if (id >= 0 && index.hasHolder(id, b.num)) continue;
          if (ledger.refuses(b.num, refs, off, stamp)) {
            refused.set(b.id, (refused.get(b.id) ?? 0) + 1);
            continue;
          }
          if (id < 0) {
            id = index.insert(refs, off, refLength(refs, i), 0, now);
            this.ctx.uploadQueue.push(id, now);
            touched.add(id);
          }
          // A delete still queued there (not sent) would remove the copy just stored.
          commands.cancelDelete(b.num, hashView(refs, off));
          if (index.addHolder(id, b.num)) {
            touched.add(id);
            if (this.ctx.holderAdded(id, b.num) && this.isSurplus(id, b.num, alive)) {
              index.removeHolder(id, b.num);
              surplus.push({ num: b.num, hash: index.hash(id) });
            }
          }
        }
      }
      for (const [benefactor, chunks] of refused) {
        this.ctx.logger.info(
          { benefactor, chunks },
          'stale chunk reports refused: a delete was sent there after those stores',
        );
      }
      // The removed locations are durable before their deletes can leave.
      await this.ctx.persistChunks(touched, surplus.length > 0);
      for (const d of surplus) commands.queueDelete(d.num, d.hash);
      if (surplus.length > 0) {
        this.ctx.logger.info(
          { chunks: surplus.length },
          'repair copies no longer needed (a holder came back): deleted',
        );
      }
    });
  }
}
