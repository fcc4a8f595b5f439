import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { bind, createServer, shutdown } from '../rpc/index.ts';
import { StdchkError, errorMessage } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import { LevelKeyValueStore } from './kv.ts';
import { MetadataStore } from './metadata-store.ts';
import { addAdminService } from './admin-service.ts';
import { addManagerService } from './service.ts';
import type { ManagerMetrics } from '../metrics/manager.ts';

export interface ManagerOptions {
  /** Folder for the metadata database (created if missing). */
  dataDir: string;
  /** HOST:PORT to serve on; port 0 picks a free one. */
  listen: string;
  /** Cluster secret; without it calls are not authenticated. */
  secret?: Buffer;
  /** Mutual TLS: every connection must present a certificate signed by the cluster CA. */
  tls?: TlsMaterial;
  logger: Logger;
  heartbeatTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  gcGraceMs?: number;
  /** Uploads not yet committed are kept this long (default: max(gcGraceMs, 1 h)). */
  uploadGraceMs?: number;
  leaseTtlMs?: number;
  reconcileIntervalMs?: number;
  repairIntervalMs?: number;
  /** Instrumentation (src/metrics/manager.ts), given the store once it is open. */
  metrics?: (store: MetadataStore) => ManagerMetrics;
  /** Refuse writers that do not encrypt chunks (docs/security.md, "Chunk encryption"). */
  requireEncryption?: boolean;
}

export interface ManagerHandle {
  /** The bound HOST:PORT. */
  address: string;
  /** The domain layer, for in-process tools and tests. */
  store: MetadataStore;
  stop(): Promise<void>;
}

/** Where the LevelDB database lives inside the data folder. */
export const DATABASE_DIR = 'metadata.leveldb';

/**
 * A background task run every `everyMs` (never overlapping itself); errors
 * are logged and the loop goes on.
 */
class Loop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly everyMs: number,
    private readonly task: () => unknown,
    private readonly logger: Logger,
  ) {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = Promise.resolve()
        .then(this.task)
        .then(
          () => undefined,
          (e: unknown) => {
            this.logger.error({ err: e, loop: this.name }, `${this.name} failed: ${errorMessage(e)}`);
          },
        )
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

/**
 * Starts the metadata manager: opens the database under `dataDir`, serves the
 * Manager gRPC service and runs the liveness, lease, GC and repair loops.
 */
export async function startManager(opts: ManagerOptions): Promise<ManagerHandle> {
  const logger = opts.logger;
  const heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 10_000;
  const gcGraceMs = opts.gcGraceMs ?? 60_000;
  const leaseTtlMs = opts.leaseTtlMs ?? 60_000;
  try {
    mkdirSync(opts.dataDir, { recursive: true });
  } catch (e) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `cannot create data folder ${opts.dataDir}: ${errorMessage(e)}`,
    );
  }
  const kv = await LevelKeyValueStore.open(path.join(opts.dataDir, DATABASE_DIR));
  const store = await MetadataStore.open(kv, {
    logger,
    heartbeatTimeoutMs,
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 1_000,
    gcGraceMs,
    ...(opts.uploadGraceMs !== undefined ? { uploadGraceMs: opts.uploadGraceMs } : {}),
    leaseTtlMs,
    reconcileIntervalMs: opts.reconcileIntervalMs ?? 300_000,
  });

  const metrics = opts.metrics?.(store);
  const serverOpts = {
    secret: opts.secret,
    tls: opts.tls,
    logger,
    observeRpc: metrics?.observeRpc,
    onDedupLookup: metrics?.onDedupLookup,
    requireEncryption: opts.requireEncryption,
  };
  const server = createServer(serverOpts);
  addManagerService(server, store, serverOpts);
  addAdminService(server, store, serverOpts);
  let address: string;
  try {
    address = await bind(server, opts.listen);
  } catch (e) {
    await store.close();
    throw e;
  }

  const clamp = (ms: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, ms));
  const loops = [
    new Loop('liveness check', clamp(heartbeatTimeoutMs / 4, 50, 1_000), () => store.checkLiveness(), logger),
    new Loop('lease expiry', clamp(leaseTtlMs / 4, 50, 1_000), () => store.expireLeases(), logger),
    new Loop('garbage collection', clamp(gcGraceMs / 4, 50, 1_000), () => store.collectGarbage(), logger),
    new Loop(
      'repair',
      Math.max(10, opts.repairIntervalMs ?? 1_000),
      () => {
        const summary = store.runRepair();
        metrics?.onRepair(summary);
      },
      logger,
    ),
    new Loop('drain', 1_000, () => store.admin().advanceDrains(), logger),
  ];

  let stopping: Promise<void> | undefined;
  return {
    address,
    store,
    stop() {
      stopping ??= (async () => {
        await Promise.all(loops.map((l) => l.stop()));
        await shutdown(server);
        await store.close();
      })();
      return stopping;
    },
  };
}
