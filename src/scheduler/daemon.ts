import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logging/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import { bind, createServer, protos, shutdown } from '../rpc/index.ts';
import { StdchkError } from '../errors/index.ts';
import { Scheduler } from './scheduler.ts';
import { LevelSchedulerStore } from './store.ts';
import { DirJobFiles, StorageJobFiles } from './job-files.ts';
import type { JobFiles, StorageAccess } from './job-files.ts';
import { schedulerHandlers } from './service.ts';
import type { JobUserPolicy } from '../jobs/users.ts';
import type { SchedulerMetrics } from '../metrics/scheduler.ts';

export interface SchedulerDaemonOptions {
  /** Folder for the LevelDB state. */
  dataDir: string;
  listen: string;
  secret?: Buffer;
  /** Mutual TLS: served to workers and clients, and used to the storage's manager. */
  tls?: TlsMaterial;
  logger: Logger;
  /** Reach job data through the storage's manager (logs, deleting old checkpoints)... */
  managerAddress?: string;
  /** ...or through a local folder that is the storage's root (a mount, or a shared folder). */
  checkpointsDir?: string;
  heartbeatTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  retentionGraceMs?: number;
  defaultMtbfSeconds?: number;
  /** Who jobs may run as (default: only `nobody`). */
  users?: JobUserPolicy;
  /** Instrumentation (src/metrics/scheduler.ts). */
  metrics?: SchedulerMetrics;
}

export interface SchedulerHandle {
  address: string;
  scheduler: Scheduler;
  stop(): Promise<void>;
}

async function openJobFiles(opts: SchedulerDaemonOptions): Promise<JobFiles> {
  if (opts.checkpointsDir) return new DirJobFiles(path.resolve(opts.checkpointsDir));
  if (opts.managerAddress) {
    // Loaded only when used: the scheduler does not otherwise need the storage client.
    const { StorageClient } = await import('../client/storage-client.ts');
    const client = new StorageClient({
      managerAddress: opts.managerAddress,
      secret: opts.secret,
      tls: opts.tls,
    });
    return new StorageJobFiles(client satisfies StorageAccess);
  }
  throw new StdchkError(
    'INVALID_ARGUMENT',
    'the scheduler needs the storage: pass --manager HOST:PORT, or --checkpoints DIR (a local view of it)',
  );
}

/** Opens the state, serves the Scheduler service and runs failure detection until stop(). */
export async function startScheduler(opts: SchedulerDaemonOptions): Promise<SchedulerHandle> {
  mkdirSync(opts.dataDir, { recursive: true });
  const files = await openJobFiles(opts);
  const store = await LevelSchedulerStore.open(path.join(opts.dataDir, 'state'));
  let scheduler: Scheduler;
  try {
    scheduler = await Scheduler.open({
      store,
      files,
      logger: opts.logger,
      ...(opts.heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs: opts.heartbeatTimeoutMs } : {}),
      ...(opts.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: opts.heartbeatIntervalMs } : {}),
      ...(opts.retentionGraceMs !== undefined ? { retentionGraceMs: opts.retentionGraceMs } : {}),
      ...(opts.defaultMtbfSeconds !== undefined ? { defaultMtbfSeconds: opts.defaultMtbfSeconds } : {}),
      ...(opts.users ? { users: opts.users } : {}),
      ...(opts.metrics ? { events: opts.metrics.events } : {}),
    });
    opts.metrics?.attach(scheduler);
  } catch (e) {
    await store.close();
    throw e;
  }
  const serverOpts = {
    secret: opts.secret,
    tls: opts.tls,
    logger: opts.logger,
    maxReceiveBytes: 1024 * 1024,
    observeRpc: opts.metrics?.observeRpc,
  };
  const server = createServer(serverOpts);
  server.addService(protos().Scheduler.service, schedulerHandlers(scheduler, serverOpts));
  let address: string;
  try {
    address = await bind(server, opts.listen);
  } catch (e) {
    await store.close();
    throw e;
  }
  scheduler.start();
  const jobs = scheduler.list();
  opts.logger.info(
    {
      address,
      jobs: jobs.length,
      active: jobs.filter((j) => !['done', 'failed', 'cancelled'].includes(j.state)).length,
    },
    'scheduler state loaded',
  );
  let stopped: Promise<void> | undefined;
  return {
    address,
    scheduler,
    stop: () =>
      (stopped ??= (async () => {
        await shutdown(server);
        await scheduler.close();
        await store.close();
        await files.close();
      })()),
  };
}
