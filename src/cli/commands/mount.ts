import type { Command } from 'commander';
import { action } from '../output.ts';
import { runUntilSignalled, startHealth } from '../daemon.ts';
import {
  addChunkTransportOption,
  addEncryptionOption,
  addClientOptions,
  parseReplicas,
  parseSyncReplicas,
  preparePrivateFolder,
  privateUmask,
  resolveClientConfig,
} from '../common.ts';
import { parseSize } from '../../config/units.ts';
import { parseChunkerSpec } from '../../chunking/params.ts';
import { WRITE_MODES } from '../../fuse-client/write-mode.ts';
import type { WriteMode } from '../../fuse-client/write-mode.ts';
import { StdchkError } from '../../errors/index.ts';
import { describeCredentials } from '../../rpc/credentials.ts';
import { resolveChunkTransport } from '../../client/transport-kind.ts';
import { daemonRegistry } from '../../metrics/index.ts';
import { mountMetrics } from '../../metrics/mount.ts';
import { addMetricsOptions, checkListenerFlags, metricsListener, withListeners } from '../listeners.ts';
import type { MetricsFlags } from '../listeners.ts';

export function registerMountCommand(program: Command): void {
  const mount = program
    .command('mount')
    .description('mount the storage as a file system (foreground; Ctrl-C or SIGTERM unmounts)')
    .argument('<mountpoint>', 'folder to mount at (created if missing; a stale mount there is cleared)')
    .option('--replicas <n>', 'replicas of every chunk before close()/fsync() return', '2')
    .option(
      '--sync-replicas <n>',
      'replicas durable before close()/fsync() return (default all); the manager makes the rest in the background',
    )
    .option('--cache <dir>', 'on-disk chunk cache folder (default: none, memory only)')
    .option('--cache-size <size>', 'most disk space the chunk cache uses', '4GiB')
    .option(
      '--scratch <dir>',
      'folder for scratch files of non-sequential writes (default: CACHE/scratch or /tmp)',
    )
    .option(
      '--write-mode <mode>',
      'writeback: close() returns once the data is in the local staging folder, uploads follow (fsync or `sync DIR` wait for them); sync: every close() commits to the replicas first',
      'writeback',
    )
    .option(
      '--staging <dir>',
      'staging folder of write-back (journal of closed files not uploaded yet; a mount restarted on it uploads them) (default: CACHE/staging, else /var/tmp/stdchk-staging/<mountpoint>)',
    )
    .option('--staging-size <size>', 'most data staged at once; beyond it writers wait for uploads', '4GiB')
    .option(
      '--chunker <spec>',
      'chunking of written files: pages:16k (default), fastcdc:16k (byte-level) or fixed:64k',
    )
    .option('--health-listen <host:port>', 'serve GET /healthz over HTTP here (200 while mounted)')
    .action(
      action(
        async (
          mountpoint: string,
          opts: {
            manager?: string;
            secretFile?: string;
            tlsCa?: string;
            tlsCert?: string;
            tlsKey?: string;
            replicas: string;
            syncReplicas?: string;
            cache?: string;
            cacheSize: string;
            scratch?: string;
            chunker?: string;
            chunkTransport?: string;
            encryptionKeyFile?: string;
            writeMode: string;
            staging?: string;
            stagingSize: string;
            healthListen?: string;
          } & MetricsFlags,
        ) => {
          const replicas = parseReplicas(opts.replicas);
          const syncReplicas = parseSyncReplicas(opts.syncReplicas, replicas);
          const cacheBytes = parseSize(opts.cacheSize, '--cache-size');
          const chunker = opts.chunker ? parseChunkerSpec(opts.chunker) : undefined;
          const chunkTransport = resolveChunkTransport(opts.chunkTransport);
          const writeMode = parseWriteMode(opts.writeMode);
          const stagingBytes = parseSize(opts.stagingSize, '--staging-size');
          if (stagingBytes < 1024 * 1024) {
            throw new StdchkError('INVALID_ARGUMENT', '--staging-size must be at least 1MiB');
          }
          if (opts.staging && writeMode === 'sync') {
            throw new StdchkError('INVALID_ARGUMENT', '--staging is for --write-mode writeback');
          }
          const { managerAddress, secret, tls, encryptionKey } = resolveClientConfig(opts);
          checkListenerFlags(opts, tls);
          const registry = opts.metricsListen !== undefined ? daemonRegistry('mount') : undefined;
          const metrics = registry ? mountMetrics(registry) : undefined;
          const { createLogger } = await import('../../logging/index.ts');
          const logger = createLogger('mount');
          const healthListener = await startHealth(opts.healthListen, 'mount', logger);
          // Cached chunks and scratch copies are other users' file contents: 0600 files in 0700 folders.
          privateUmask();
          if (opts.cache) preparePrivateFolder(opts.cache, 'the chunk cache', logger);
          const { startMount } = await import('../../fuse-client/index.ts');
          const { isMounted } = await import('../../fuse-client/fuse-binding.ts');
          const handle = await startMount({
            mountpoint,
            managerAddress,
            secret,
            tls,
            replicas,
            ...(syncReplicas !== undefined ? { syncReplicas } : {}),
            ...(opts.cache ? { cacheDir: opts.cache, cacheBytes } : {}),
            ...(opts.scratch ? { scratchDir: opts.scratch } : {}),
            ...(chunker ? { chunker } : {}),
            chunkTransport,
            encryptionKey,
            writeMode,
            ...(opts.staging ? { stagingDir: opts.staging } : {}),
            stagingBytes,
            ...(metrics ? { metrics } : {}),
            logger,
          });
          const health = async () => {
            const m = await isMounted(handle.mountpoint);
            const ok = m?.source === `stdchk:${process.pid}`;
            return {
              ok,
              detail: ok ? 'mounted' : `not mounted at ${handle.mountpoint}`,
              mountpoint: handle.mountpoint,
              openFiles: handle.vfs.openHandles,
              uncommitted: handle.vfs.uncommitted(),
            };
          };
          const daemon = await withListeners(handle, [metricsListener(opts, registry, health)], tls, logger);
          logger.info(
            {
              mountpoint: handle.mountpoint,
              manager: managerAddress,
              replicas,
              syncReplicas: syncReplicas ?? replicas,
              cache: opts.cache ?? null,
              chunkTransport,
              encrypted: !!encryptionKey,
              writeMode,
              staging: handle.vfs.staging?.dir ?? null,
              auth: describeCredentials({ secret, tls }),
            },
            'mount serving',
          );
          await runUntilSignalled('mount', logger, daemon, healthListener);
        },
      ),
    );
  addClientOptions(mount);
  addChunkTransportOption(mount);
  addEncryptionOption(mount);
  addMetricsOptions(mount, '/metrics and /healthz');
}

function parseWriteMode(value: string): WriteMode {
  if (!(WRITE_MODES as readonly string[]).includes(value)) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `--write-mode must be ${WRITE_MODES.join(' or ')}, not ${JSON.stringify(value)}`,
    );
  }
  return value as WriteMode;
}
