import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ChunkStore, ChunkStoreStats, StoredChunk } from '../benefactor/chunk-store.ts';
import type { ScrubProgress } from '../benefactor/scrub.ts';
import { LATENCY_BUCKETS, gaugeFrom, rpcMetrics } from './index.ts';
import type { RpcObserver } from './index.ts';

export interface BenefactorMetrics {
  observeRpc: RpcObserver;
  /** One fdatasync of chunk data (a group commit), in seconds. */
  onSync(seconds: number): void;
  /** A chunk found corrupt (on a read or by the scrub). */
  onCorrupt(): void;
  /** The store as the gRPC service sees it: counts what peers write and read. */
  wrapStore(store: ChunkStore): ChunkStore;
  /** Gives the gauges their sources once the daemon has them. */
  attach(store: ChunkStore, scrub: () => ScrubProgress): void;
}

/**
 * The benefactor's families: capacity and use, chunks, bytes written and
 * read by peers, fsync latency, scrub progress, corrupt chunks found, RPC
 * latency.
 */
export function benefactorMetrics(registry: Registry): BenefactorMetrics {
  let stats: (() => ChunkStoreStats) | undefined;
  let scrub: (() => ScrubProgress) | undefined;
  const s = (name: string, help: string, read: (st: ChunkStoreStats) => number) =>
    gaugeFrom(registry, `stdchk_benefactor_${name}`, help, () => (stats ? read(stats()) : 0));
  s('capacity_bytes', 'Disk space donated (--capacity)', (st) => st.capacityBytes);
  s(
    'used_bytes',
    'Disk space the chunk store occupies (dead bytes awaiting compaction included)',
    (st) => st.usedBytes,
  );
  s(
    'free_bytes',
    'Space left for chunks: min(capacity - used, free space of the file system)',
    (st) => st.freeBytes,
  );
  s('chunks', 'Chunks held', (st) => st.chunks);
  const sc = (name: string, help: string, read: (p: ScrubProgress) => number) =>
    gaugeFrom(registry, `stdchk_benefactor_scrub_${name}`, help, () => (scrub ? read(scrub()) : 0));
  sc('progress_ratio', 'Share of the current scrub pass done, 0 to 1 (0 when idle)', (p) => p.progress);
  sc('passes', 'Scrub passes completed since the benefactor started', (p) => p.passes);
  sc('verified_bytes', 'Bytes verified by the current or last scrub pass', (p) => p.verifiedBytes);
  sc(
    'last_completed_timestamp_seconds',
    'When the last complete scrub pass ended (Unix time)',
    (p) => p.lastCompletedMs / 1000,
  );
  const fsync = new Histogram({
    name: 'stdchk_benefactor_fsync_seconds',
    help: 'Time of one fdatasync of chunk data (one per group of store requests)',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const corrupt = new Counter({
    name: 'stdchk_benefactor_corrupt_chunks_total',
    help: 'Chunks found not matching their hash (on a read or by the scrub), dropped and reported',
    registers: [registry],
  });
  const written = new Counter({
    name: 'stdchk_benefactor_written_bytes_total',
    help: 'Bytes of chunks in store requests acknowledged (new and already held)',
    registers: [registry],
  });
  const stored = new Counter({
    name: 'stdchk_benefactor_stored_chunks_total',
    help: 'Chunks in store requests acknowledged, by result (new: written; existing: already held)',
    labelNames: ['result'],
    registers: [registry],
  });
  stored.inc({ result: 'new' }, 0);
  stored.inc({ result: 'existing' }, 0);
  const read = new Counter({
    name: 'stdchk_benefactor_read_bytes_total',
    help: 'Bytes of chunks served to readers and peers',
    registers: [registry],
  });
  const counted = (bufs: (Buffer | undefined)[]) => {
    let n = 0;
    for (const b of bufs) n += b?.length ?? 0;
    read.inc(n);
    return bufs;
  };
  return {
    observeRpc: rpcMetrics(registry),
    onSync: (seconds) => fsync.observe(seconds),
    onCorrupt: () => corrupt.inc(),
    attach(store, scrubReport) {
      stats = () => store.stats();
      scrub = scrubReport;
    },
    wrapStore(store) {
      const wrapped: ChunkStore = {
        has: (hash) => store.has(hash),
        sizeOf: (hash) => store.sizeOf(hash),
        get: async (hash) => counted([await store.get(hash)])[0],
        getMany: async (hashes) => counted(await store.getMany(hashes)),
        putBatch: async (chunks: StoredChunk[]) => {
          const r = await store.putBatch(chunks);
          let n = 0;
          for (const c of chunks) n += c.data.length;
          written.inc(n);
          stored.inc({ result: 'new' }, r.stored);
          stored.inc({ result: 'existing' }, r.existing);
          return r;
        },
        delete: (hashes, mayDelete) => store.delete(hashes, mayDelete),
        list: () => store.list(),
        stats: () => store.stats(),
        close: () => store.close(),
      };
      return wrapped;
    },
  };
}
