import type { StorageClient } from '../client/storage-client.ts';
import { hex } from '../hashing/index.ts';
import { StdchkError } from '../errors/index.ts';
import { chunkKey } from './chunk-cache.ts';
import type { DiskChunkCache, MemoryChunkCache } from './chunk-cache.ts';

export interface ChunkSourceStats {
  memoryHits: number;
  diskHits: number;
  fetched: number;
  fetchedBytes: number;
  /** Requests to the benefactors (each for many chunks). */
  fetches: number;
}

/**
 * Where the mount gets chunk bytes: memory (recent and read-ahead chunks),
 * then the on-disk cache, then the benefactors (many chunks per request).
 * Concurrent requests for one chunk share a single fetch.
 */
export class ChunkSource {
  private readonly inflight = new Map<string, Promise<Buffer>>();
  readonly stats: ChunkSourceStats = { memoryHits: 0, diskHits: 0, fetched: 0, fetchedBytes: 0, fetches: 0 };

  constructor(
    private readonly client: StorageClient,
    readonly memory: MemoryChunkCache,
    readonly disk: DiskChunkCache | undefined,
  ) {}

  /**
   * The data of each hash, in order (no holes here: callers skip zero refs).
   * With `lengths` (the version's, one per hash), a fetched replica of another
   * length is refused as corrupt and another replica is read.
   */
  async get(hashes: Buffer[], lengths?: readonly number[]): Promise<Buffer[]> {
    const out: (Buffer | Promise<Buffer>)[] = new Array(hashes.length);
    const misses: { i: number; key: string; hash: Buffer; length: number | undefined }[] = [];
    hashes.forEach((hash, i) => {
      const key = chunkKey(hash);
      const m = this.memory.get(key);
      if (m) {
        this.stats.memoryHits++;
        out[i] = m;
        return;
      }
      const p = this.inflight.get(key);
      if (p) {
        out[i] = p;
        return;
      }
      misses.push({ i, key, hash, length: lengths?.[i] });
    });
    if (misses.length) {
      // One shared promise per missing chunk, resolved by a single batched load.
      const resolvers = new Map<string, { resolve(b: Buffer): void; reject(e: unknown): void }>();
      for (const m of misses) {
        if (this.inflight.has(m.key)) {
          out[m.i] = this.inflight.get(m.key) as Promise<Buffer>;
          continue;
        }
        const p = new Promise<Buffer>((resolve, reject) => resolvers.set(m.key, { resolve, reject }));
        p.catch(() => undefined);
        this.inflight.set(m.key, p);
        out[m.i] = p;
      }
      const todo = misses.filter((m) => resolvers.has(m.key));
      const unique = new Map(todo.map((m) => [m.key, { hash: m.hash, length: m.length }]));
      void this.load([...unique]).then(
        (found) => {
          for (const [key, r] of resolvers) {
            this.inflight.delete(key);
            const d = found.get(key);
            if (d) r.resolve(d);
            else r.reject(new StdchkError('UNAVAILABLE', `chunk ${key}... is unavailable`));
          }
        },
        (e: unknown) => {
          for (const [key, r] of resolvers) {
            this.inflight.delete(key);
            r.reject(e);
          }
        },
      );
    }
    return Promise.all(out);
  }

  /** Loads chunks from disk or network into memory; keyed by chunkKey. */
  private async load(
    wanted: [string, { hash: Buffer; length: number | undefined }][],
  ): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    let remote = wanted;
    if (this.disk) {
      const disk = this.disk;
      const local = await Promise.all(wanted.map(([, w]) => disk.get(w.hash)));
      remote = [];
      wanted.forEach(([key, w], i) => {
        const d = local[i];
        if (d) {
          this.stats.diskHits++;
          found.set(key, d);
          this.memory.set(key, d);
        } else remote.push([key, w]);
      });
    }
    if (remote.length) {
      this.stats.fetches++;
      const lengths = remote.every(([, w]) => w.length !== undefined)
        ? remote.map(([, w]) => w.length as number)
        : undefined;
      const got = await this.client.fetchChunks(
        remote.map(([, w]) => w.hash),
        lengths,
      );
      for (const [key, { hash: h }] of remote) {
        const d = got.get(hex(h));
        if (!d) continue;
        // gRPC may hand us a slice of a larger message buffer; keep only this chunk.
        const own = d.byteOffset === 0 && d.buffer.byteLength === d.length ? d : Buffer.from(d);
        found.set(key, own);
        this.memory.set(key, own);
        this.disk?.put(h, own);
        this.stats.fetched++;
        this.stats.fetchedBytes += own.length;
      }
    }
    return found;
  }
}
