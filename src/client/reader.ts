import type { StorageClient } from './storage-client.ts';
import { decodeRefs, encodeHashes, isHole } from '../chunking/refs.ts';
import type { ChunkRef } from '../chunking/refs.ts';
import { hex } from '../hashing/index.ts';
import { StdchkError, errorMessage, isStdchkError } from '../errors/index.ts';
import { ENCRYPTION_KEY_ENV, encryptedKeyId } from './encryption.ts';
import { unary } from '../rpc/index.ts';
import type { ChunkTarget } from './chunks.ts';
import type { FileInfo__Output } from '../generated/stdchk/v1/FileInfo.ts';

export interface ReadOptions {
  /** 0 or absent: the newest version. */
  version?: number;
  /** Bytes per fetch while streaming (many chunks per request). */
  segmentBytes?: number;
  /** Segments fetched ahead of the consumer. */
  readAhead?: number;
}

const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;
const DEFAULT_READ_AHEAD = 4;
const LOCATE_BATCH = 4096;

/**
 * Reads one pinned version of a file. The manager keeps the version's chunks
 * alive while this reader holds its lease, even if a newer version is committed.
 */
export class FileReader {
  private readonly offsets: number[];
  private renewTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly client: StorageClient,
    readonly info: FileInfo__Output,
    readonly refs: ChunkRef[],
    private readonly leaseId: string,
    leaseTtlMs: number,
    private readonly opts: ReadOptions,
  ) {
    this.offsets = new Array(refs.length + 1);
    let off = 0;
    refs.forEach((r, i) => {
      this.offsets[i] = off;
      off += r.length;
    });
    this.offsets[refs.length] = off;
    if (leaseId && leaseTtlMs > 0) {
      this.renewTimer = setInterval(
        () => {
          unary(client.manager, 'renewLeases', { leaseIds: [leaseId] }).catch(() => undefined);
        },
        Math.max(1000, leaseTtlMs / 3),
      );
      this.renewTimer.unref();
    }
  }

  static async open(client: StorageClient, path: string, opts: ReadOptions = {}): Promise<FileReader> {
    const reply = await client.withRetry(() =>
      unary(client.manager, 'openVersion', { path, version: opts.version ?? 0 }),
    );
    if (!reply.info) throw new StdchkError('INTERNAL', 'manager sent no file info');
    return new FileReader(client, reply.info, decodeRefs(reply.refs), reply.leaseId, reply.leaseTtlMs, opts);
  }

  get size(): number {
    return this.offsets[this.refs.length] ?? 0;
  }

  /** Reads up to `length` bytes at `position` (fewer at the end of the file). */
  async read(position: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, position + length);
    if (position >= end) return Buffer.alloc(0);
    const first = this.chunkIndexAt(position);
    const last = this.chunkIndexAt(end - 1);
    const datas = await this.fetch(this.refs.slice(first, last + 1));
    const whole = datas.length === 1 ? (datas[0] as Buffer) : Buffer.concat(datas);
    const base = this.offsets[first] as number;
    return whole.subarray(position - base, end - base);
  }

  /** The whole version in order, with segments fetched ahead of the consumer. */
  async *stream(): AsyncGenerator<Buffer> {
    const segments: ChunkRef[][] = [];
    let current: ChunkRef[] = [];
    let bytes = 0;
    const segmentBytes = this.opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    for (const r of this.refs) {
      current.push(r);
      bytes += r.length;
      if (bytes >= segmentBytes) {
        segments.push(current);
        current = [];
        bytes = 0;
      }
    }
    if (current.length) segments.push(current);
    const ahead = this.opts.readAhead ?? DEFAULT_READ_AHEAD;
    const queue: Promise<Buffer[]>[] = [];
    let next = 0;
    const fill = () => {
      while (queue.length < ahead && next < segments.length) {
        const p = this.fetch(segments[next++] as ChunkRef[]);
        p.catch(() => undefined); // observed when awaited below
        queue.push(p);
      }
    };
    fill();
    while (queue.length) {
      const datas = await (queue.shift() as Promise<Buffer[]>);
      fill();
      for (const d of datas) yield d;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.renewTimer);
    if (this.leaseId) {
      await unary(this.client.manager, 'releaseLeases', { leaseIds: [this.leaseId] }).catch(() => undefined);
    }
  }

  private chunkIndexAt(offset: number): number {
    let lo = 0;
    let hi = this.refs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.offsets[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Data of each ref, in order; holes are zeros. */
  private async fetch(refs: ChunkRef[]): Promise<Buffer[]> {
    const stored = refs.filter((r) => !isHole(r));
    const found = await this.client.fetchChunks(
      stored.map((r) => r.hash),
      stored.map((r) => r.length),
    );
    return refs.map((r) => {
      if (isHole(r)) return Buffer.alloc(r.length);
      const d = found.get(hex(r.hash));
      if (!d) throw new StdchkError('UNAVAILABLE', `chunk ${hex(r.hash)} is unavailable`);
      return d;
    });
  }
}

/**
 * Fetches verified chunk data, trying replicas in the manager's order; throws
 * if any chunk is on no live replica. With `lengths` (one per hash: the
 * length the version records), a chunk of another length is not accepted
 * from a replica (its hash checks, but the version would be read misaligned):
 * the next replica is tried, and if none has it at that length the read fails.
 */
export async function fetchChunks(
  client: StorageClient,
  hashes: readonly Buffer[],
  lengths?: readonly number[],
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const unique = new Map<string, Buffer>();
  const expected = new Map<string, number>();
  hashes.forEach((h, i) => {
    const k = hex(h);
    unique.set(k, h);
    const length = lengths?.[i];
    if (length !== undefined) expected.set(k, length);
  });
  const all = [...unique.values()];
  for (let i = 0; i < all.length; i += LOCATE_BATCH) {
    const part = all.slice(i, i + LOCATE_BATCH);
    const loc = await client.withRetry(() =>
      unary(client.manager, 'locateChunks', { hashes: encodeHashes(part) }),
    );
    // Candidates per chunk in the manager's order: live replicas first, lost ones last.
    let remaining = part.map((hash, j) => ({
      hash,
      candidates: (loc.locations[j]?.benefactors ?? [])
        .map((b) => loc.benefactors[b])
        .filter((b): b is NonNullable<typeof b> => !!b?.address) as ChunkTarget[],
      tried: 0,
    }));
    const errors: string[] = [];
    while (remaining.length) {
      const byAddress = new Map<string, { target: ChunkTarget; hashes: Buffer[] }>();
      const exhausted: string[] = [];
      for (const r of remaining) {
        const target = r.candidates[r.tried];
        if (!target) {
          exhausted.push(hex(r.hash));
          continue;
        }
        const entry = byAddress.get(target.address) ?? { target, hashes: [] };
        entry.hashes.push(r.hash);
        byAddress.set(target.address, entry);
      }
      if (exhausted.length) {
        const why = errors.length ? ` (${errors.slice(-2).join('; ')})` : '';
        throw new StdchkError('UNAVAILABLE', `chunk ${exhausted[0]} is not readable on any replica${why}`);
      }
      await Promise.all(
        [...byAddress].map(async ([addr, { target, hashes: hs }]) => {
          try {
            const got = await client.chunks.read(target, hs);
            for (const [k, v] of got) {
              const want = expected.get(k);
              if (want !== undefined && v.length !== want) {
                // Encrypted chunks are longer than the plaintext the version records: say so once.
                if (!client.chunks.encrypted && encryptedKeyId(v, want) !== undefined) {
                  throw new StdchkError(
                    'PERMISSION_DENIED',
                    `chunk ${k} is encrypted with a cluster key (key id ${encryptedKeyId(v, want)}) and this client has none: give --encryption-key-file (or ${ENCRYPTION_KEY_ENV})`,
                  );
                }
                errors.push(`${addr}: chunk ${k} has ${v.length} bytes, the version records ${want}`);
                continue;
              }
              out.set(k, v);
            }
          } catch (e) {
            if (isStdchkError(e, 'PERMISSION_DENIED')) throw e;
            errors.push(`${addr}: ${errorMessage(e)}`);
          }
        }),
      );
      remaining = remaining.filter((r) => !out.has(hex(r.hash)));
      for (const r of remaining) r.tried++;
    }
  }
  return out;
}
