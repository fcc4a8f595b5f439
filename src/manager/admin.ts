import { StdchkError, invalid } from '../errors/index.ts';
import { HASH_BYTES } from '../hashing/index.ts';
import { REF_BYTES } from '../chunking/refs.ts';
import { KEYS, decodeVersion } from './records.ts';
import { isZeroAt, refLength } from './packed.ts';
import type { StoreContext } from './context.ts';
import type { Namespace } from './namespace.ts';
import type { LeaseTable } from './leases.ts';
import type { NodeInfo } from './types.ts';
import { removeChunks } from './gc.ts';
import { encodeBenefactor } from './records.ts';
import type { Benefactor } from './registry.ts';

/**
 * The operator's tools over the manager's state (the Admin service): a file's
 * chunks and their holders, the namespace checked against the chunk index, the
 * locations recorded per benefactor, forgetting copies found missing, and a
 * consistent dump of the database. Read-only except dropLocations.
 */

export interface ChunkPlacementInfo {
  hash: Buffer;
  length: number;
  refcount: number;
  target: number;
  holders: string[];
  liveHolders: string[];
  zero: boolean;
}

export interface VersionChunksInfo {
  version: number;
  size: number;
  replicas: number;
  mtimeMs: number;
  current: boolean;
  chunks: ChunkPlacementInfo[];
}

export type IndexProblemKind = 'missing-chunk' | 'refcount' | 'unavailable' | 'under-replicated';

export interface IndexProblem {
  kind: IndexProblemKind;
  path: string;
  hash: Buffer;
  detail: string;
}

export interface IndexCheck {
  files: number;
  versions: number;
  references: number;
  chunks: number;
  missingChunks: number;
  refcountErrors: number;
  unavailableChunks: number;
  underReplicatedChunks: number;
  problems: IndexProblem[];
}

/** Problems listed one by one in a check's reply (the counts cover all). */
export const MAX_LISTED_PROBLEMS = 1_000;
/** Hashes per ListLocations part. */
const LOCATIONS_PER_PART = 65_536;
/** Bytes of records per DumpMetadata part. */
const DUMP_PART_BYTES = 1 << 20;

export interface GcResult {
  chunks: number;
  bytes: number;
  releasedChunks: number;
  abandonedChunks: number;
  inProgressChunks: number;
  unknownWriterChunks: number;
  dryRun: boolean;
}

/** Writers remembered before the ones of chunks referenced (or gone) since are forgotten. */
const WRITERS_PRUNE_AT = 200_000;

export class AdminOps {
  /**
   * The connection (call.getPeer()) that last uploaded or deduplicated against
   * each unreferenced chunk, by hash (latin1): who is about to reference it.
   * Memory only: after a restart the writers are unknown.
   */
  private readonly writers = new Map<string, string>();
  /** Drain progress per benefactor number, as last counted (advanceDrains). */
  private readonly drains = new Map<number, { total: number; left: number }>();

  constructor(
    private readonly ctx: StoreContext,
    private readonly ns: Namespace,
    private readonly leases: LeaseTable,
  ) {}

  /** The current version of a file and its older versions still open by readers, chunk by chunk. */
  async fileChunks(path: string): Promise<{ info: NodeInfo; versions: VersionChunksInfo[] }> {
    this.ctx.checkOpen();
    const node = this.ns.require(path);
    const info = this.ns.info(node, path);
    const numbers = [...this.leases.retiredOf(node.ino), ...(node.version > 0 ? [node.version] : [])];
    const versions: VersionChunksInfo[] = [];
    const alive = this.ctx.registry.aliveMask(this.ctx.clock());
    for (const version of numbers.sort((a, b) => a - b)) {
      const key = KEYS.version(node.ino, version);
      const value = await this.ctx.kv.get(key);
      if (!value) continue; // released meanwhile
      const record = decodeVersion(key, value);
      const chunks: ChunkPlacementInfo[] = [];
      for (let i = 0, off = 0; off < record.refs.length; i++, off += REF_BYTES) {
        const hash = Buffer.from(record.refs.subarray(off, off + HASH_BYTES));
        const length = refLength(record.refs, i);
        if (isZeroAt(record.refs, off)) {
          chunks.push({ hash, length, refcount: 0, target: 0, holders: [], liveHolders: [], zero: true });
          continue;
        }
        chunks.push({ ...this.placement(hash, alive), length });
      }
      versions.push({
        version,
        size: record.size,
        replicas: record.replicas,
        mtimeMs: record.mtimeMs,
        current: version === node.version,
        chunks,
      });
    }
    return { info, versions };
  }

  private placement(hash: Buffer, alive: Uint8Array): ChunkPlacementInfo {
    const { index, registry } = this.ctx;
    const id = index.find(hash, 0);
    if (id < 0) return { hash, length: 0, refcount: 0, target: 0, holders: [], liveHolders: [], zero: false };
    const nums = Array.from(index.holders(id));
    const name = (num: number) => registry.at(num)?.id ?? `#${num}`;
    return {
      hash,
      length: index.length(id),
      refcount: index.refcount(id),
      target: index.target(id),
      holders: nums.map(name),
      liveHolders: nums.filter((n) => alive[n] === 1).map(name),
      zero: false,
    };
  }

  /**
   * Every version record against the chunk index: each referenced chunk is
   * indexed, each refcount equals the versions referencing the chunk, each
   * referenced chunk has a live copy and (else reported apart) its target
   * number of them. Runs on the writer queue, so it sees one consistent state
   * (writes wait meanwhile).
   */
  checkIndex(): Promise<IndexCheck> {
    return this.ctx.queue.run(async () => {
      this.ctx.checkOpen();
      const { index } = this.ctx;
      const counted = new Map<number, number>();
      /** A path referencing each chunk, for the report. */
      const pathOf = new Map<number, string>();
      const out: IndexCheck = {
        files: this.ns.files,
        versions: 0,
        references: 0,
        chunks: index.size,
        missingChunks: 0,
        refcountErrors: 0,
        unavailableChunks: 0,
        underReplicatedChunks: 0,
        problems: [],
      };
      const problem = (p: IndexProblem) => {
        if (out.problems.length < MAX_LISTED_PROBLEMS) out.problems.push(p);
      };
      for await (const [key, value] of this.ctx.kv.entries(KEYS.versionPrefix)) {
        const m = /^v:(\d+):/.exec(key);
        const ino = Number(m?.[1]);
        const path = this.ns.get(ino) ? this.ns.pathOf(ino) : `(inode ${ino}, no name)`;
        const { refs } = decodeVersion(key, value);
        out.versions++;
        const ids = index.findAll(refs, REF_BYTES);
        const seen = new Set<number>();
        for (let i = 0, off = 0; off < refs.length; i++, off += REF_BYTES) {
          if (isZeroAt(refs, off)) continue;
          out.references++;
          const id = ids[i]!;
          if (id < 0) {
            out.missingChunks++;
            problem({
              kind: 'missing-chunk',
              path,
              hash: Buffer.from(refs.subarray(off, off + HASH_BYTES)),
              detail: 'referenced by a version, absent from the chunk index',
            });
            continue;
          }
          if (seen.has(id)) continue;
          seen.add(id);
          counted.set(id, (counted.get(id) ?? 0) + 1);
          if (!pathOf.has(id)) pathOf.set(id, path);
        }
      }
      const alive = this.ctx.registry.aliveMask(this.ctx.clock());
      for (const id of index.ids()) {
        const refcount = index.refcount(id);
        const expected = counted.get(id) ?? 0;
        const path = pathOf.get(id) ?? '';
        if (refcount !== expected) {
          out.refcountErrors++;
          problem({
            kind: 'refcount',
            path,
            hash: index.hash(id),
            detail: `refcount ${refcount}, referenced by ${expected} version(s)`,
          });
        }
        if (expected === 0) continue;
        const live = index.liveCount(id, alive);
        if (live === 0) {
          out.unavailableChunks++;
          problem({ kind: 'unavailable', path, hash: index.hash(id), detail: 'no live copy' });
        } else if (live < index.target(id)) {
          out.underReplicatedChunks++;
          problem({
            kind: 'under-replicated',
            path,
            hash: index.hash(id),
            detail: `${live} live of ${index.target(id)} copies`,
          });
        }
      }
      return out;
    });
  }

  /**
   * Notes `peer` as the writer of the unreferenced chunks among `packed`
   * (entries of `stride` bytes starting with the hash): PrepareChunks' dedup
   * hits and ReportStored's uploads. A writer is about to commit them.
   */
  noteWriter(peer: string, packed: Uint8Array, stride: number): void {
    const { index } = this.ctx;
    for (let off = 0; off + HASH_BYTES <= packed.length; off += stride) {
      const id = index.find(packed, off);
      if (id < 0 || index.refcount(id) !== 0) continue;
      this.writers.set(
        Buffer.from(packed.buffer, packed.byteOffset + off, HASH_BYTES).toString('latin1'),
        peer,
      );
    }
    if (this.writers.size > WRITERS_PRUNE_AT) this.pruneWriters();
  }

  private pruneWriters(): void {
    const { index } = this.ctx;
    for (const key of this.writers.keys()) {
      const id = index.find(Buffer.from(key, 'latin1'), 0);
      if (id < 0 || index.refcount(id) !== 0) this.writers.delete(key);
    }
  }

  /**
   * `stdchk gc`: collects now, without the grace, every unreferenced chunk but
   * those a connected writer is about to reference: released chunks (no
   * writer, or a writer gone) and uploads whose writer's connection closed (a
   * failed put). Uploads whose writer is unknown (before this manager started)
   * are left to the upload grace.
   */
  collectNow(dryRun: boolean, isConnected: (peer: string) => boolean): Promise<GcResult> {
    return this.ctx.queue.run(async () => {
      this.ctx.checkOpen();
      const { index } = this.ctx;
      const out: GcResult = {
        chunks: 0,
        bytes: 0,
        releasedChunks: 0,
        abandonedChunks: 0,
        inProgressChunks: 0,
        unknownWriterChunks: 0,
        dryRun,
      };
      const due: number[] = [];
      for (const id of index.ids()) {
        if (index.refcount(id) !== 0) continue;
        const writer = this.writers.get(index.hash(id).toString('latin1'));
        if (writer !== undefined && isConnected(writer)) {
          out.inProgressChunks++;
          continue;
        }
        if (index.wasReferenced(id)) out.releasedChunks++;
        else if (writer !== undefined) out.abandonedChunks++;
        else {
          out.unknownWriterChunks++;
          continue;
        }
        due.push(id);
        out.bytes += index.length(id);
      }
      out.chunks = due.length;
      if (!dryRun && due.length) {
        for (const id of due) this.writers.delete(index.hash(id).toString('latin1'));
        const r = await removeChunks(this.ctx, due, this.ctx.clock());
        this.ctx.logger.info({ ...r, why: 'stdchk gc' }, 'garbage collected');
      }
      return out;
    });
  }

  /**
   * `stdchk benefactor drain ID`: no new copies go to it (placement skips it),
   * and its copies stop counting toward their chunks' replicas, so repair
   * copies each of them to other benefactors, reading from it while it serves.
   * advanceDrains() retires it once nothing depends on it. Idempotent.
   */
  startDrain(benefactorId: string): Promise<Benefactor> {
    return this.ctx.queue.run(async () => {
      this.ctx.checkOpen();
      const b = this.ctx.registry.get(benefactorId);
      if (!b) throw new StdchkError('NOT_FOUND', `no benefactor ${benefactorId}`);
      if (b.drain) return b;
      const others = this.ctx.registry
        .all()
        .filter((o) => o !== b && !o.drain && this.ctx.registry.isAlive(o, this.ctx.clock()));
      if (others.length === 0)
        throw new StdchkError('CONFLICT', `no other live benefactor to move ${benefactorId}'s chunks to`, {
          retryable: false,
        });
      await this.saveDrain(b, 'draining');
      this.countDrain(b);
      this.ctx.repair.requestRescan();
      this.ctx.logger.info(
        { benefactor: b.id, chunks: this.drains.get(b.num)?.total },
        'draining benefactor',
      );
      return b;
    });
  }

  private async saveDrain(b: Benefactor, state: 'draining' | 'retired'): Promise<void> {
    await this.ctx.kv.batch(
      [{ type: 'put', key: KEYS.benefactor(b.id), value: encodeBenefactor({ ...b, drain: state }) }],
      {
        sync: true,
      },
    );
    b.drain = state;
  }

  /** Counts a draining benefactor's referenced copies, and those not yet on enough others. */
  private countDrain(b: Benefactor): { total: number; left: number } {
    const { index } = this.ctx;
    const counted = this.ctx.registry.countedMask(this.ctx.clock());
    let total = 0;
    let left = 0;
    for (const id of index.ids()) {
      if (!index.hasHolder(id, b.num) || index.refcount(id) === 0) continue;
      total++;
      if (index.liveCount(id, counted) < index.target(id)) left++;
    }
    const p = { total: Math.max(total, this.drains.get(b.num)?.total ?? 0), left };
    this.drains.set(b.num, p);
    return p;
  }

  /** Status fields of a benefactor's drain. */
  drainProgress(b: Benefactor): { drain: string; drainChunksTotal: number; drainChunksLeft: number } {
    const p = this.drains.get(b.num);
    return {
      drain: b.drain ?? '',
      drainChunksTotal: p?.total ?? 0,
      drainChunksLeft: b.drain === 'draining' ? (p?.left ?? 0) : 0,
    };
  }

  /**
   * Counts each drain's progress; a benefactor none of whose referenced copies
   * is needed any more (each has its replicas on other benefactors) is
   * retired: its copies are forgotten and deleted there, and it is out of
   * service (no placement, not in capacity or health).
   */
  async advanceDrains(): Promise<void> {
    if (this.ctx.closed) return;
    for (const b of this.ctx.registry.all()) {
      if (b.drain !== 'draining') continue;
      if (this.countDrain(b).left > 0) continue;
      await this.ctx.queue.run(async () => {
        if (b.drain !== 'draining' || this.countDrain(b).left > 0) return;
        const { index, commands } = this.ctx;
        const alive = this.ctx.registry.isAlive(b, this.ctx.clock());
        const touched: number[] = [];
        for (const id of index.ids()) {
          if (!index.removeHolder(id, b.num)) continue;
          touched.push(id);
          if (alive) commands.queueDelete(b.num, index.hash(id));
        }
        if (touched.length) await this.ctx.persistChunks(touched, true);
        await this.saveDrain(b, 'retired');
        this.ctx.logger.info({ benefactor: b.id, chunks: touched.length }, 'benefactor drained and retired');
      });
    }
  }

  /** The chunks recorded on a benefactor, as packed hashes in parts. */
  *locations(benefactorId: string): Generator<Buffer> {
    this.ctx.checkOpen();
    const b = this.ctx.registry.get(benefactorId);
    if (!b) throw new StdchkError('NOT_FOUND', `no benefactor ${benefactorId}`);
    const { index } = this.ctx;
    let part: Buffer[] = [];
    for (const id of index.ids()) {
      if (!index.hasHolder(id, b.num)) continue;
      part.push(index.hash(id));
      if (part.length === LOCATIONS_PER_PART) {
        yield Buffer.concat(part);
        part = [];
      }
    }
    if (part.length) yield Buffer.concat(part);
  }

  /**
   * Forgets the copies of `hashes` recorded on a benefactor (an operator found
   * them missing there); repair then copies them again from the other holders.
   */
  dropLocations(benefactorId: string, hashes: Uint8Array): Promise<number> {
    if (hashes.length % HASH_BYTES !== 0) throw invalid('hashes: not a whole number of 32-byte hashes');
    return this.ctx.queue.run(async () => {
      this.ctx.checkOpen();
      const b = this.ctx.registry.get(benefactorId);
      if (!b) throw new StdchkError('NOT_FOUND', `no benefactor ${benefactorId}`);
      const { index, repair } = this.ctx;
      const touched: number[] = [];
      for (let off = 0; off < hashes.length; off += HASH_BYTES) {
        const id = index.find(hashes, off);
        if (id < 0 || !index.removeHolder(id, b.num)) continue;
        touched.push(id);
        repair.markDirty(id);
      }
      if (touched.length) {
        this.ctx.logger.warn(
          { benefactor: b.id, chunks: touched.length, why: 'fsck' },
          'dropped chunk locations',
        );
        await this.ctx.persistChunks(touched, true);
      }
      return touched.length;
    });
  }

  /**
   * Every record of the database, from one snapshot: the iterator is opened on
   * the writer queue (between two batches), and LevelDB iterators read from the
   * snapshot taken when they open, so writes that follow do not show.
   */
  async *dump(): AsyncGenerator<{ records: Buffer; count: number }> {
    this.ctx.checkOpen();
    const it = await this.ctx.queue.run(async () => {
      const iter = this.ctx.kv.entries('')[Symbol.asyncIterator]();
      // Reading the first entry opens the underlying iterator, and with it the snapshot.
      const first = await iter.next();
      return { iter, first };
    });
    let bufs: Buffer[] = [];
    let bytes = 0;
    let count = 0;
    const add = (key: string, value: Buffer) => {
      const k = Buffer.from(key, 'utf8');
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32LE(k.length);
      const vhead = Buffer.allocUnsafe(4);
      vhead.writeUInt32LE(value.length);
      bufs.push(head, k, vhead, value);
      bytes += 8 + k.length + value.length;
      count++;
    };
    for (let r = it.first; !r.done; r = await it.iter.next()) {
      add(r.value[0], r.value[1]);
      if (bytes >= DUMP_PART_BYTES) {
        yield { records: Buffer.concat(bufs), count };
        bufs = [];
        bytes = 0;
        count = 0;
      }
    }
    if (count) yield { records: Buffer.concat(bufs), count };
  }
}
