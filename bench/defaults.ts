import { DEFAULT_CHUNKER_PARAMS, formatChunkerSpec } from '../src/chunking/params.ts';
import type { WriteBenchOptions } from './write.ts';
import type { DedupBenchOptions } from './dedup.ts';
import type { RestoreBenchOptions } from './restore.ts';
import type { FailoverBenchOptions } from './failover.ts';
import type { MetadataBenchOptions } from './metadata.ts';

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
  blockBytes: MiB,
  smallBlockBytes: 4 * KiB,
  smallSizeBytes: 2 * GiB,
  criuBytes: 512 * MiB,
  clientRows: true,
};

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

export interface WriteConfig {
  replicas: number;
  sync: number;
}

export function writeConfigs(opts: Pick<WriteBenchOptions, 'replicas' | 'syncReplicas'>): WriteConfig[] {
  const out: WriteConfig[] = [];
  for (const r of opts.replicas) {
    for (const s of opts.syncReplicas) {
      const sync = s === 'all' ? r : s;
      if (sync > r || out.some((c) => c.replicas === r && c.sync === sync)) continue;
      out.push({ replicas: r, sync });
    }
  }
  return out;
}
