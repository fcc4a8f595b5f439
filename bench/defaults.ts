import { DEFAULT_CHUNK_TRANSPORT } from '../src/client/transport-kind.ts';
import type { ChunkTransportKind } from '../src/client/transport-kind.ts';
import { DEFAULT_CHUNKER_PARAMS, formatChunkerSpec } from '../src/chunking/params.ts';
import type { WriteBenchOptions } from './write.ts';
import type { DedupBenchOptions } from './dedup.ts';
import type { RestoreBenchOptions } from './restore.ts';
import type { FailoverBenchOptions } from './failover.ts';
import type { MetadataBenchOptions } from './metadata.ts';
import type { SmallBenchOptions } from './small.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

// Each benchmark's defaults, apart from the benchmarks themselves so that
// `stdchk --help` and `stdchk bench --help` show them without loading the
// benchmarks (grids, gRPC, CRIU helpers).

export const DEFAULT_OFFLINE_CHUNKERS = [
  'fixed:4k',
  'fastcdc:4k',
  'fastcdc:8k',
  'fastcdc:16k',
  'fastcdc:64k',
  'fastcdc:256k',
  'pages:8k',
  'pages:16k',
  'pages:64k',
  'fixed:64k',
];

export const WRITE_DEFAULTS: WriteBenchOptions = {
  sizeBytes: 2 * GiB,
  replicas: [1, 2],
  syncReplicas: ['all', 1],
  writeModes: ['writeback', 'sync'],
  blockBytes: MiB,
  smallBlockBytes: 4 * KiB,
  smallSizeBytes: 2 * GiB,
  criuBytes: 512 * MiB,
  clientRows: true,
  transports: ['framed', 'grpc'],
  encryption: ['off'],
};

export type WriteMode = 'writeback' | 'sync';

/**
 * One way of writing to stdchk: r replicas, of which `sync` are durable when the data is
 * (close() in the sync mode, fsync in write-back), with chunk bytes on a transport.
 */
export interface WriteConfig {
  replicas: number;
  sync: number;
  mode: WriteMode;
  transport: ChunkTransportKind;
  encrypted: boolean;
}

/**
 * The configurations measured, on each transport: write-back at each replica count (all
 * replicas durable at fsync), then the sync mode at each replica count with each sync setting
 * that applies to it.
 */
export function writeConfigs(
  opts: Pick<WriteBenchOptions, 'replicas' | 'syncReplicas'> & {
    writeModes?: WriteMode[];
    transports?: ChunkTransportKind[];
    encryption?: ('off' | 'on')[];
  },
): WriteConfig[] {
  const out: WriteConfig[] = [];
  const modes = opts.writeModes ?? ['sync'];
  for (const encrypted of (opts.encryption ?? ['off']).map((e) => e === 'on')) {
    for (const transport of opts.transports ?? [DEFAULT_CHUNK_TRANSPORT]) {
      const same = { transport, encrypted };
      const seen = (r: number, sync: number) =>
        out.some(
          (c) =>
            c.mode === 'sync' &&
            c.replicas === r &&
            c.sync === sync &&
            c.transport === transport &&
            c.encrypted === encrypted,
        );
      if (modes.includes('writeback'))
        for (const r of opts.replicas) out.push({ replicas: r, sync: r, mode: 'writeback', ...same });
      if (!modes.includes('sync')) continue;
      for (const r of opts.replicas) {
        for (const s of opts.syncReplicas) {
          const sync = s === 'all' ? r : s;
          if (sync > r || seen(r, sync)) continue;
          out.push({ replicas: r, sync, mode: 'sync', ...same });
        }
      }
    }
  }
  return out;
}

export const DEDUP_DEFAULTS: DedupBenchOptions = {
  memoryBytes: 256 * MiB,
  changes: [1, 10, 50],
  dumps: 3,
  blockBytes: 64 * KiB,
  chunkers: DEFAULT_OFFLINE_CHUNKERS,
  mountChunkers: [formatChunkerSpec(DEFAULT_CHUNKER_PARAMS)],
  replicas: 2,
};

export const RESTORE_DEFAULTS: RestoreBenchOptions = {
  memoryBytes: 512 * MiB,
  replicas: 2,
  readBlockBytes: MiB,
};

export const FAILOVER_DEFAULTS: FailoverBenchOptions = {
  intervals: [2, 5, 10],
  trials: 1,
  heartbeatTimeoutSeconds: 4,
  phase: 0.5,
  kind: 'container',
};

export const METADATA_DEFAULTS: MetadataBenchOptions = {
  chunks: 2_000_000,
  batches: [64, 1024, 8192],
  inFlight: [1, 8],
  seconds: 3,
  commitRefs: 16,
};

export const SMALL_DEFAULTS: SmallBenchOptions = {
  tree: '/usr/include/linux',
  files: 300,
  fileBytes: 4 * KiB,
  replicas: 2,
  writeModes: ['writeback', 'sync'],
};
