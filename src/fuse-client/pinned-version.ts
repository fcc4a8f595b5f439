import type { StorageClient } from '../client/storage-client.ts';
import { MAX_CHUNK_BYTES, REF_BYTES, encodeRefs } from '../chunking/refs.ts';
import type { ChunkRef } from '../chunking/refs.ts';
import { HASH_BYTES, isZeroHash } from '../hashing/index.ts';
import { StdchkError } from '../errors/index.ts';
import { unary } from '../rpc/index.ts';
import type { FileInfo__Output } from '../generated/stdchk/v1/FileInfo.ts';

const RENEW_BATCH = 1000;
const RELEASE_DELAY_MS = 200;

/**
 * Keeps the manager's read leases of every open file alive with one
 * RenewLeases call per interval (instead of a timer per open file).
 */
export class LeaseKeeper {
  private readonly leases = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private intervalMs = 20_000;
  private releasing: string[] = [];
  private releaseTimer: NodeJS.Timeout | undefined;

  constructor(private readonly client: StorageClient) {}

  add(leaseId: string, ttlMs: number): void {
    if (!leaseId) return;
    this.leases.add(leaseId);
    const wanted = Math.max(1000, Math.floor(ttlMs / 3));
    if (!this.timer || wanted < this.intervalMs) {
      this.intervalMs = Math.min(this.intervalMs, wanted);
      clearInterval(this.timer);
      this.timer = setInterval(() => void this.renew(), this.intervalMs);
      this.timer.unref();
    }
  }

  /**
   * Lets a lease go. Releases are sent in batches in the background (closing
   * a file costs no round trip); a lease not released simply expires.
   */
  release(leaseId: string): Promise<void> {
    if (!leaseId || !this.leases.delete(leaseId)) return Promise.resolve();
    this.releasing.push(leaseId);
    this.releaseTimer ??= setTimeout(() => void this.flushReleases(), RELEASE_DELAY_MS).unref();
    return Promise.resolve();
  }

  private async flushReleases(): Promise<void> {
    this.releaseTimer = undefined;
    while (this.releasing.length) {
      const batch = this.releasing.splice(0, RENEW_BATCH);
      await unary(this.client.manager, 'releaseLeases', { leaseIds: batch }).catch(() => undefined);
    }
  }

  private async renew(): Promise<void> {
    const all = [...this.leases];
    for (let i = 0; i < all.length; i += RENEW_BATCH) {
      await unary(this.client.manager, 'renewLeases', { leaseIds: all.slice(i, i + RENEW_BATCH) }).catch(
        () => undefined,
      );
    }
  }

  /** Stops renewing and sends the releases still queued. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.releaseTimer);
    await this.flushReleases();
  }
}

/**
 * One committed version of a file, pinned by a lease so its chunks outlive a
 * newer commit while it is open. The chunk list stays packed (36 bytes per
 * chunk) with an offset table, so a 10 GiB file costs ~30 MB here rather than
 * hundreds of thousands of objects.
 */
export class PinnedVersion {
  readonly count: number;
  /** offsets[i] = file offset of chunk i; offsets[count] = size. */
  private readonly offsets: Float64Array;

  private constructor(
    readonly info: FileInfo__Output,
    private readonly packed: Buffer,
    private readonly leaseId: string,
    private readonly keeper: LeaseKeeper | undefined,
  ) {
    this.count = packed.length / REF_BYTES;
    this.offsets = new Float64Array(this.count + 1);
    let off = 0;
    for (let i = 0; i < this.count; i++) {
      this.offsets[i] = off;
      const length = packed.readUInt32LE(i * REF_BYTES + HASH_BYTES);
      if (length === 0 || length > MAX_CHUNK_BYTES)
        throw new StdchkError('CORRUPT', `chunk ${i} has length ${length}`);
      off += length;
    }
    this.offsets[this.count] = off;
  }

  /** Uncommitted chunks (e.g. streamed so far by a writer) seen as a version, without a lease. */
  static fromRefs(info: FileInfo__Output, refs: readonly ChunkRef[]): PinnedVersion {
    return new PinnedVersion(info, encodeRefs(refs), '', undefined);
  }

  static async open(client: StorageClient, keeper: LeaseKeeper, path: string): Promise<PinnedVersion> {
    const reply = await client.withRetry(() => unary(client.manager, 'openVersion', { path, version: 0 }));
    if (!reply.info) throw new StdchkError('INTERNAL', 'manager sent no file info');
    const packed = Buffer.from(reply.refs);
    if (packed.length % REF_BYTES !== 0) throw new StdchkError('CORRUPT', `refs of ${path} are malformed`);
    keeper.add(reply.leaseId, reply.leaseTtlMs);
    const v = new PinnedVersion(reply.info, packed, reply.leaseId, keeper);
    if (v.size !== reply.info.size && reply.info.type === 'FILE') {
      await v.release();
      throw new StdchkError('CORRUPT', `${path}: chunk lengths add up to ${v.size}, not ${reply.info.size}`);
    }
    return v;
  }

  get size(): number {
    return this.offsets[this.count] as number;
  }

  offsetOf(i: number): number {
    return this.offsets[i] as number;
  }

  lengthAt(i: number): number {
    return this.packed.readUInt32LE(i * REF_BYTES + HASH_BYTES);
  }

  /** A view of chunk i's hash (valid while this object lives). */
  hashAt(i: number): Buffer {
    return this.packed.subarray(i * REF_BYTES, i * REF_BYTES + HASH_BYTES);
  }

  isHoleAt(i: number): boolean {
    return isZeroHash(this.hashAt(i));
  }

  /** Index of the chunk holding byte `offset` (offset < size). */
  indexAt(offset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.offsets[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The packed chunk list (36 bytes per chunk), as CommitVersion takes it. */
  get packedRefs(): Buffer {
    return this.packed;
  }

  /** Chunk refs [from, to) as objects (copies of the hashes). */
  refs(from = 0, to = this.count): ChunkRef[] {
    const out: ChunkRef[] = [];
    for (let i = from; i < to; i++) out.push({ hash: Buffer.from(this.hashAt(i)), length: this.lengthAt(i) });
    return out;
  }

  async release(): Promise<void> {
    await this.keeper?.release(this.leaseId);
  }
}
