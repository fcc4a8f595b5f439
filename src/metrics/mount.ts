import os from 'node:os';
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { FuseObserver } from '../fuse-client/fuse-binding.ts';
import type { Vfs } from '../fuse-client/vfs.ts';
import { LATENCY_BUCKETS, WRITE_SIZE_BUCKETS, counterFrom, gaugeFrom } from './index.ts';

export interface MountMetrics {
  fuse: FuseObserver;
  attach(vfs: Vfs): void;
}

/**
 * The mount's families: FUSE operations and their latency by operation,
 * bytes written and read through the mount, a histogram of write sizes,
 * chunk cache hits and misses, and what is written but not yet committed.
 */
export function mountMetrics(registry: Registry): MountMetrics {
  let vfs: Vfs | undefined;
  const ops = new Histogram({
    name: 'stdchk_fuse_operation_seconds',
    help: 'Time to answer a FUSE operation, by operation (its _count is the number of operations)',
    labelNames: ['op'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'stdchk_fuse_errors_total',
    help: 'FUSE operations answered with an error, by operation and errno name (ENOENT is routine for lookups)',
    labelNames: ['op', 'errno'],
    registers: [registry],
  });
  const written = new Counter({
    name: 'stdchk_mount_written_bytes_total',
    help: 'Bytes applications wrote through the mount',
    registers: [registry],
  });
  const read = new Counter({
    name: 'stdchk_mount_read_bytes_total',
    help: 'Bytes applications read through the mount',
    registers: [registry],
  });
  const writeSizes = new Histogram({
    name: 'stdchk_mount_write_size_bytes',
    help: 'Sizes of the write requests the kernel sent (at most 128 KiB each)',
    buckets: WRITE_SIZE_BUCKETS,
    registers: [registry],
  });
  const src = () => vfs?.source.stats;
  counterFrom(
    registry,
    'stdchk_mount_cache_hits_total',
    'Chunks read from the mount caches, by cache (memory, disk)',
    () => [
      [{ cache: 'memory' }, src()?.memoryHits ?? 0],
      [{ cache: 'disk' }, src()?.diskHits ?? 0],
    ],
    ['cache'],
  );
  counterFrom(
    registry,
    'stdchk_mount_cache_misses_total',
    'Chunks no cache had, fetched from benefactors',
    () => src()?.fetched ?? 0,
  );
  counterFrom(
    registry,
    'stdchk_mount_fetched_bytes_total',
    'Bytes of chunks fetched from benefactors',
    () => src()?.fetchedBytes ?? 0,
  );
  gaugeFrom(
    registry,
    'stdchk_mount_uncommitted_bytes',
    'Bytes of open files with writes not yet committed (waiting to be uploaded and committed; part may be uploaded already)',
    () => vfs?.uncommitted().bytes ?? 0,
  );
  gaugeFrom(
    registry,
    'stdchk_mount_uncommitted_files',
    'Open files with writes not yet committed',
    () => vfs?.uncommitted().files ?? 0,
  );
  gaugeFrom(
    registry,
    'stdchk_mount_open_files',
    'File handles open on the mount',
    () => vfs?.openHandles ?? 0,
  );
  return {
    fuse: {
      op(op, seconds, errno) {
        ops.observe({ op }, seconds);
        if (errno !== 0) errors.inc({ op, errno: errnoName(errno) });
      },
      read: (n) => read.inc(n),
      write(n) {
        written.inc(n);
        writeSizes.observe(n);
      },
    },
    attach(v) {
      vfs = v;
    },
  };
}

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

function errnoName(errno: number): string {
  return ERRNO_NAMES.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}
