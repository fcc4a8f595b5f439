import path from 'node:path';
import { StorageClient } from '../client/storage-client.ts';
import type { Logger } from '../logging/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import type { ChunkerParams } from '../chunking/params.ts';
import type { ChunkTransportKind } from '../client/chunks.ts';
import { Vfs } from './vfs.ts';
import { FuseMount } from './fuse-binding.ts';
import type { MountMetrics } from '../metrics/mount.ts';
import { SHARED_SCRATCH_BASE } from './scratch.ts';

export { Vfs } from './vfs.ts';
export { FuseMount, clearStaleMount, isMounted, lazyUnmount } from './fuse-binding.ts';

export interface MountDaemonOptions {
  mountpoint: string;
  managerAddress: string;
  secret?: Buffer | undefined;
  tls?: TlsMaterial | undefined;
  replicas?: number;
  /** Replicas durable before close()/fsync() return (default all). */
  syncReplicas?: number;
  cacheDir?: string;
  cacheBytes?: number;
  /** Scratch files of non-sequential writes (default: CACHE/scratch, else the system temp folder). */
  scratchDir?: string;
  /** 'writeback' (default): close() returns once staged locally; 'sync': close() commits. */
  writeMode?: WriteMode;
  /** The staging folder of write-back (default: defaultStagingDir()). */
  stagingDir?: string;
  stagingBytes?: number;
  chunker?: ChunkerParams;
  /** How chunk bytes travel (default: STDCHK_CHUNK_TRANSPORT, else the client's default). */
  chunkTransport?: ChunkTransportKind | undefined;
  /** The cluster's chunk encryption key (client/encryption.ts); absent: chunks stored as written. */
  encryptionKey?: Buffer | undefined;
  logger: Logger;
  /** Instrumentation (src/metrics/mount.ts). */
  metrics?: MountMetrics;
}

export { WRITE_MODES } from './write-mode.ts';
export type { WriteMode } from './write-mode.ts';
import type { WriteMode } from './write-mode.ts';
export const DEFAULT_STAGING_BYTES = 4 * 1024 ** 3;

/**
 * Where a write-back mount stages when --staging is not given: CACHE/staging
 * with a cache folder, else a folder under /var/tmp named after the mount
 * point (/var/tmp survives reboots, so a journal left by a crash is found by
 * the next mount at the same place).
 */
export function defaultStagingDir(mountpoint: string, cacheDir?: string): string {
  if (cacheDir) return path.join(cacheDir, 'staging');
  const slug = path
    .resolve(mountpoint)
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^_+/, '');
  return path.join('/var/tmp/stdchk-staging', slug || 'root');
}

export interface MountHandle {
  mountpoint: string;
  vfs: Vfs;
  /** Unmounts, commits what open files still hold, and closes connections. */
  stop(): Promise<void>;
}

/** `stdchk mount`: the storage as a file system at `mountpoint`. */
export async function startMount(opts: MountDaemonOptions): Promise<MountHandle> {
  const client = new StorageClient({
    managerAddress: opts.managerAddress,
    secret: opts.secret,
    tls: opts.tls,
    chunkTransport: opts.chunkTransport,
    encryptionKey: opts.encryptionKey,
  });
  let vfs: Vfs | undefined;
  try {
    // Fail early and clearly if the manager is unreachable or refuses us.
    await client.stat('/');
    vfs = await Vfs.create(client, {
      ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}),
      ...(opts.syncReplicas !== undefined ? { syncReplicas: opts.syncReplicas } : {}),
      ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
      ...(opts.cacheBytes !== undefined ? { cacheBytes: opts.cacheBytes } : {}),
      ...(opts.chunker ? { chunker: opts.chunker } : {}),
      scratchDir:
        opts.scratchDir ?? (opts.cacheDir ? path.join(opts.cacheDir, 'scratch') : SHARED_SCRATCH_BASE),
      ...((opts.writeMode ?? 'writeback') === 'writeback'
        ? {
            writeBack: {
              dir: opts.stagingDir ?? defaultStagingDir(opts.mountpoint, opts.cacheDir),
              capacityBytes: opts.stagingBytes ?? DEFAULT_STAGING_BYTES,
            },
          }
        : {}),
      logger: opts.logger,
    });
    opts.metrics?.attach(vfs);
    const fuse = await FuseMount.mount(vfs, {
      mountpoint: opts.mountpoint,
      logger: opts.logger,
      observe: opts.metrics?.fuse,
    });
    const v = vfs;
    let stopping: Promise<void> | undefined;
    return {
      mountpoint: fuse.mountpoint,
      vfs: v,
      stop: () =>
        (stopping ??= (async () => {
          await fuse.unmount().catch((e: unknown) => opts.logger.error({ err: e }, 'unmount failed'));
          await v.close();
          client.close();
        })()),
    };
  } catch (e) {
    await vfs?.close();
    client.close();
    throw e;
  }
}
