import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hex } from '../hashing/index.ts';
import { StdchkError, errorMessage } from '../errors/index.ts';
import { bind, createServer, shutdown } from '../rpc/index.ts';
import type { Logger } from '../logging/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import { PackChunkStore } from './pack-store.ts';
import { MAX_RECEIVE_BYTES, addBenefactorService } from './service.ts';
import { ManagerLink } from './manager-link.ts';
import { DEFAULT_SCRUB_INTERVAL_MS, DEFAULT_SCRUB_RATE_BYTES, Scrubber } from './scrub.ts';
import { StoreStamps } from './stamps.ts';
import { startDataServer } from './data-server.ts';
import type { DataServer } from './data-server.ts';
import { DataClientPool } from '../transport/data-client.ts';
import { joinAddress, splitAddress } from '../transport/socket.ts';
import type { BenefactorMetrics } from '../metrics/benefactor.ts';

export interface BenefactorOptions {
  managerAddress: string;
  storeDir: string;
  capacityBytes: number;
  /** HOST:PORT to serve on; port 0 picks a free one. */
  listen: string;
  /** HOST:PORT peers should use if not the bound address (":0" takes the bound port). */
  advertise?: string;
  /**
   * HOST:PORT of the framed chunk stream (docs/data-path.md); default: the
   * host of `listen` with a free port; 'none': no data port (clients use gRPC).
   */
  dataListen?: string;
  /** HOST:PORT clients should dial for the data port; default: the host of `advertise` with the bound data port. */
  dataAdvertise?: string;
  /**
   * The data port's Unix socket for clients on this host; default
   * STORE/data.sock (none if that path is too long for a socket); 'none': no socket.
   */
  dataSocket?: string;
  /** Host name used to spread replicas over machines (default: os.hostname()). */
  host?: string;
  secret?: Buffer;
  /** Mutual TLS: serve it, and use it to the manager and to peers. */
  tls?: TlsMaterial;
  logger: Logger;
  /** Until the manager's RegisterReply says otherwise. */
  heartbeatIntervalMs?: number;
  /** From the end of one scrub pass to the start of the next (default 24 h; 0: no scrubbing). */
  scrubIntervalMs?: number;
  /** Most bytes per second a scrub reads (default 16 MiB/s). */
  scrubRateBytesPerSec?: number;
  /**
   * Test-only fault injection: wait this long before applying each delete
   * command. Default: the environment variable STDCHK_FAULT_DELETE_DELAY_MS
   * (milliseconds), else 0.
   */
  faultDeleteDelayMs?: number;
  /** Instrumentation (src/metrics/benefactor.ts). */
  metrics?: BenefactorMetrics;
}

export interface BenefactorHandle {
  id: string;
  /** The address registered with the manager. */
  address: string;
  /** The data port's address registered with the manager ('' without one). */
  dataAddress: string;
  /** Its Unix socket ('' without one). */
  dataSocket: string;
  stop(): Promise<void>;
}

const ID_FILE = 'benefactor.id';

/** The benefactor's id, created once and kept in the store so it survives restarts. */
function loadOrCreateId(storeDir: string): string {
  const file = path.join(storeDir, ID_FILE);
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const id = randomUUID();
  // Written atomically: a crash leaves either no id or the whole id.
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, id + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(storeDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return id;
}

/** STDCHK_FAULT_DELETE_DELAY_MS, for tests that need a delete to be slow on its way (0 if unset). */
function deleteDelayFromEnv(): number {
  const text = process.env.STDCHK_FAULT_DELETE_DELAY_MS;
  if (!text) return 0;
  const ms = Number(text);
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `STDCHK_FAULT_DELETE_DELAY_MS must be a whole number of ms, not ${text}`,
    );
  }
  return ms;
}

/** The address peers use: --advertise, else the bound one (a wildcard host replaced by the host name). */
function publicAddress(bound: string, advertise: string | undefined): string {
  const port = bound.slice(bound.lastIndexOf(':') + 1);
  if (advertise) return advertise.endsWith(':0') ? `${advertise.slice(0, -2)}:${port}` : advertise;
  const host = bound.slice(0, bound.lastIndexOf(':'));
  if (host === '0.0.0.0' || host === '[::]' || host === '::') return `${os.hostname()}:${port}`;
  return bound;
}

/** The data port to listen on: --data-listen, else the gRPC listen host with a free port. */
function dataListenAddress(listen: string, dataListen: string | undefined): string | undefined {
  if (dataListen === 'none') return undefined;
  if (dataListen) return dataListen;
  return joinAddress(splitAddress(listen).host, 0);
}

/** Longest Unix socket path the kernel takes (sun_path holds 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * The data socket: --data-socket, else STORE/socket/data.sock if it fits;
 * undefined for none. Its folder must let no one else in (the default one
 * is made 0700): the socket exists with the process umask's mode for a
 * moment before it is made 0600.
 */
function dataSocketPath(
  storeDir: string,
  dataSocket: string | undefined,
  logger: Logger,
): string | undefined {
  if (dataSocket === 'none') return undefined;
  const file = path.resolve(dataSocket ?? path.join(storeDir, 'socket', 'data.sock'));
  if (Buffer.byteLength(file) > MAX_SOCKET_PATH) {
    if (dataSocket !== undefined) {
      throw new StdchkError(
        'INVALID_ARGUMENT',
        `--data-socket ${file} is longer than ${MAX_SOCKET_PATH} bytes`,
      );
    }
    logger.info({ file }, 'no data socket: the store path is too long for a Unix socket (clients use TCP)');
    return undefined;
  }
  const dir = path.dirname(file);
  if (dataSocket === undefined) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw new StdchkError('INVALID_ARGUMENT', `--data-socket: cannot use folder ${dir}: ${errorMessage(e)}`);
  }
  if ((st.mode & 0o077) !== 0 || st.uid !== (process.getuid?.() ?? st.uid)) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `--data-socket: folder ${dir} must be ours and 0700 (others could connect to the socket)`,
    );
  }
  return file;
}

/** The data address clients dial: --data-advertise, else the advertised (or bound) host with the bound data port. */
function publicDataAddress(bound: string, grpcAddress: string, dataAdvertise: string | undefined): string {
  const { port } = splitAddress(bound);
  if (dataAdvertise)
    return dataAdvertise.endsWith(':0') ? `${dataAdvertise.slice(0, -2)}:${port}` : dataAdvertise;
  return joinAddress(splitAddress(grpcAddress).host, port);
}

/**
 * Runs a benefactor: opens the chunk store, serves the Benefactor gRPC
 * service, and registers and heartbeats with the manager in the background
 * (retrying while it is unreachable).
 */
export async function startBenefactor(opts: BenefactorOptions): Promise<BenefactorHandle> {
  const logger = opts.logger;
  mkdirSync(opts.storeDir, { recursive: true });
  const host = opts.host ?? os.hostname();
  const corrupt = new Map<string, Buffer>();
  // The store's lock is taken first: it also guards the id file.
  const store = await PackChunkStore.open(opts.storeDir, {
    capacityBytes: opts.capacityBytes,
    logger,
    onCorrupt: (hash) => {
      corrupt.set(hex(hash), hash);
      opts.metrics?.onCorrupt();
    },
    ...(opts.metrics ? { onSync: opts.metrics.onSync } : {}),
  });
  const server = createServer({
    secret: opts.secret,
    tls: opts.tls,
    logger,
    maxReceiveBytes: MAX_RECEIVE_BYTES,
    observeRpc: opts.metrics?.observeRpc,
  });
  let id: string;
  let bound: string;
  let stamps: StoreStamps;
  let deleteDelayMs: number;
  // Connections to the next benefactors of replication chains.
  const peers = new DataClientPool({ secret: opts.secret, tls: opts.tls });
  let data: DataServer | undefined;
  try {
    id = loadOrCreateId(opts.storeDir);
    // A new epoch per start, durable before any store is acknowledged with a stamp of it.
    stamps = StoreStamps.open(opts.storeDir);
    deleteDelayMs = opts.faultDeleteDelayMs ?? deleteDelayFromEnv();
    const served = opts.metrics ? opts.metrics.wrapStore(store) : store;
    addBenefactorService(server, { store: served, id, host, secret: opts.secret, logger, stamps });
    bound = await bind(server, opts.listen);
    const dataListen = dataListenAddress(opts.listen, opts.dataListen);
    if (dataListen) {
      data = await startDataServer({
        // The same instrumented store as the gRPC service: bytes written and read count on both paths.
        store: served,
        stamps,
        id,
        secret: opts.secret,
        tls: opts.tls,
        logger,
        listen: dataListen,
        socketPath: dataSocketPath(opts.storeDir, opts.dataSocket, logger),
        peers,
      });
    }
  } catch (e) {
    server.forceShutdown();
    await data?.close();
    await store.close();
    throw e;
  }
  const address = publicAddress(bound, opts.advertise);
  const dataAddress = data ? publicDataAddress(data.address, address, opts.dataAdvertise) : '';
  const dataSocket = data?.socketPath ?? '';
  const scrubber = new Scrubber({
    store,
    storeDir: opts.storeDir,
    intervalMs: opts.scrubIntervalMs ?? DEFAULT_SCRUB_INTERVAL_MS,
    rateBytesPerSec: opts.scrubRateBytesPerSec ?? DEFAULT_SCRUB_RATE_BYTES,
    logger,
  });
  opts.metrics?.attach(store, () => scrubber.report());
  const link = new ManagerLink({
    managerAddress: opts.managerAddress,
    store,
    id,
    host,
    address,
    dataAddress,
    dataSocket,
    secret: opts.secret,
    tls: opts.tls,
    logger,
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
    corrupt,
    scrub: () => scrubber.report(),
    stamps,
    deleteDelayMs,
  });
  if (deleteDelayMs > 0) logger.warn({ deleteDelayMs }, 'fault injection: delete commands are delayed');
  link.start();
  scrubber.start();
  logger.info(
    {
      id,
      address,
      listen: bound,
      dataAddress,
      dataListen: data?.address ?? null,
      dataSocket: dataSocket || null,
      host,
      manager: opts.managerAddress,
    },
    'benefactor started',
  );

  let stopping: Promise<void> | undefined;
  return {
    id,
    address,
    dataAddress,
    dataSocket,
    stop() {
      stopping ??= (async () => {
        await scrubber.stop();
        await link.stop();
        await shutdown(server);
        await data?.close();
        peers.close();
        await store.close();
        logger.info({ id }, 'benefactor stopped');
      })();
      return stopping;
    },
  };
}
