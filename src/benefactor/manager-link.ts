import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientReadableStream, ClientWritableStream } from '@grpc/grpc-js';
import { StdchkError, errorMessage, fromServiceError, isStdchkError } from '../errors/index.ts';
import { hashChunk, hex } from '../hashing/index.ts';
import { decodeHashes, encodeHashes, encodeRefs } from '../chunking/refs.ts';
import type { ChunkRef } from '../chunking/refs.ts';
import { connectBenefactor, connectManager, unary } from '../rpc/index.ts';
import { splitChunks } from '../rpc/chunk-frames.ts';
import type { ManagerClient } from '../rpc/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import type { Logger } from '../logging/index.ts';
import type { Command__Output } from '../generated/stdchk/v1/Command.ts';
import type { ReplicateCommand__Output } from '../generated/stdchk/v1/ReplicateCommand.ts';
import type { ReadReply__Output } from '../generated/stdchk/v1/ReadReply.ts';
import type { InventoryPart } from '../generated/stdchk/v1/InventoryPart.ts';
import type { ChunkStore, StoredChunk } from './chunk-store.ts';
import type { ScrubProgress } from './scrub.ts';
import { PendingDeletes } from './stamps.ts';
import type { StoreStamps } from './stamps.ts';
import { localHostId } from '../transport/socket.ts';

export interface ManagerLinkOptions {
  managerAddress: string;
  store: ChunkStore;
  id: string;
  host: string;
  /** Address peers reach this benefactor at. */
  address: string;
  /** Its framed chunk stream ('' without one). */
  dataAddress?: string | undefined;
  /** Its Unix socket ('' without one). */
  dataSocket?: string | undefined;
  secret?: Buffer | undefined;
  tls?: TlsMaterial | undefined;
  logger: Logger;
  /** Used until the manager says otherwise in RegisterReply. */
  heartbeatIntervalMs?: number | undefined;
  /** Chunks found corrupt (filled by the store, keyed by hex); sent and cleared with each heartbeat. */
  corrupt: Map<string, Buffer>;
  /** The scrub's progress, sent with each heartbeat. */
  scrub?: () => ScrubProgress;
  /** The store's stamps: heartbeats carry the current one, deletes are checked against them. */
  stamps: StoreStamps;
  /**
   * Test-only fault injection (STDCHK_FAULT_DELETE_DELAY_MS): wait this long
   * before applying each delete command, as a benefactor busy with other
   * commands would.
   */
  deleteDelayMs?: number | undefined;
}

/** Refs per ReportInventory part. */
const INVENTORY_PART_REFS = 10_000;
/** Hashes per ReadChunks call when replicating. */
const REPLICATE_HASHES_PER_CALL = 2048;
/** Replicated chunks are stored in batches of about this size. */
const REPLICATE_BATCH_BYTES = 8 * 1024 * 1024;
const RPC_TIMEOUT_MS = 30_000;
const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 5_000;

/** Resolves when a client stream can take more data, or is over. */
function writable(call: ClientWritableStream<InventoryPart>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('status', done);
      resolve();
    };
    call.on('drain', done);
    call.on('status', done);
  });
}

/**
 * The benefactor's side of the HDFS-style conversation: it registers, then
 * heartbeats with its stats and carries out the commands in the replies.
 * While the manager is unreachable it retries with backoff; the data path
 * (the gRPC service) keeps working meanwhile.
 */
export class ManagerLink {
  private readonly manager: ManagerClient;
  private readonly abort = new AbortController();
  private intervalMs: number;
  private registered = false;
  /** The manager asked for the inventory and has not received it yet. */
  private inventoryDue = false;
  private failures = 0;
  /** Commands run one at a time, off the heartbeat loop so beats stay on time. */
  private commands: Promise<void> = Promise.resolve();
  /** Delete commands received and not yet applied. */
  private readonly pendingDeletes = new PendingDeletes();
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ManagerLinkOptions) {
    this.manager = connectManager(opts.managerAddress, { secret: opts.secret, tls: opts.tls });
    this.intervalMs = opts.heartbeatIntervalMs ?? 2_000;
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    // Calls in flight give up at once (see abortable); the loop and commands then end.
    this.abort.abort();
    await this.loop;
    await this.commands;
    this.manager.close();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Settles like `p`, or rejects as soon as the link stops. */
  private abortable<T>(p: Promise<T>, onStop?: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const stop = () => {
        onStop?.();
        reject(new StdchkError('UNAVAILABLE', 'benefactor stopping'));
      };
      if (this.stopped) {
        stop();
        return;
      }
      this.abort.signal.addEventListener('abort', stop, { once: true });
      void p.then(resolve, reject).finally(() => this.abort.signal.removeEventListener('abort', stop));
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let delay = this.intervalMs;
      try {
        if (!this.registered) await this.register();
        else await this.heartbeat();
        if (this.inventoryDue) {
          await this.sendInventory();
          this.inventoryDue = false;
        }
        if (this.failures > 0)
          this.opts.logger.info({ manager: this.opts.managerAddress }, 'manager reachable again');
        this.failures = 0;
        // Asked to register again: do it now rather than after an interval.
        if (!this.registered) delay = 0;
      } catch (e) {
        if (this.stopped) break;
        // A manager that lost track of us may say so with an error rather than `reregister`.
        if (isStdchkError(e, 'NOT_FOUND')) this.registered = false;
        this.failures++;
        delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.failures - 1, 10));
        const fields = { manager: this.opts.managerAddress, failures: this.failures, retryInMs: delay };
        // Loud on the first failure and then every ~minute, quiet in between.
        if (this.failures === 1 || this.failures % 12 === 0) {
          this.opts.logger.warn({ ...fields, reason: errorMessage(e) }, 'manager call failed; retrying');
        } else
          this.opts.logger.debug({ ...fields, reason: errorMessage(e) }, 'manager call failed; retrying');
      }
      try {
        await sleep(delay, undefined, { signal: this.abort.signal });
      } catch {
        break;
      }
    }
  }

  private async register(): Promise<void> {
    const s = this.opts.store.stats();
    const reply = await this.unary(
      'registerBenefactor',
      {
        id: this.opts.id,
        host: this.opts.host,
        address: this.opts.address,
        dataAddress: this.opts.dataAddress ?? '',
        dataSocket: this.opts.dataSocket ?? '',
        dataSocketHost: this.opts.dataSocket ? localHostId() : '',
        capacityBytes: s.capacityBytes,
        usedBytes: s.usedBytes,
        freeBytes: s.freeBytes,
        chunks: s.chunks,
      },
      { timeoutMs: RPC_TIMEOUT_MS },
    );
    if (reply.heartbeatIntervalMs > 0) this.intervalMs = reply.heartbeatIntervalMs;
    this.registered = true;
    this.opts.logger.info(
      { manager: this.opts.managerAddress, id: this.opts.id, heartbeatIntervalMs: this.intervalMs },
      'registered with the manager',
    );
    if (reply.sendInventory) this.inventoryDue = true;
  }

  private async heartbeat(): Promise<void> {
    const s = this.opts.store.stats();
    const corrupt = [...this.opts.corrupt.entries()];
    const { stamps } = this.opts;
    // Deletes still to come are bounded by a pending one's bound or by this beat's stamp:
    // older stamps can be forgotten (the only heartbeat in flight is this one).
    stamps.prune(Math.min(this.pendingDeletes.lowestBound, stamps.current()));
    const stamp = stamps.current();
    const reply = await this.unary(
      'heartbeat',
      {
        id: this.opts.id,
        capacityBytes: s.capacityBytes,
        usedBytes: s.usedBytes,
        freeBytes: s.freeBytes,
        chunks: s.chunks,
        corruptHashes: encodeHashes(corrupt.map(([, h]) => h)),
        ...(this.opts.scrub ? { scrub: this.opts.scrub() } : {}),
        stamp,
      },
      { timeoutMs: RPC_TIMEOUT_MS },
    );
    for (const [key] of corrupt) this.opts.corrupt.delete(key);
    if (reply.reregister) {
      this.opts.logger.info('manager asked to register again');
      this.registered = false;
      return;
    }
    if (reply.sendInventory) this.inventoryDue = true;
    for (const c of reply.commands) this.enqueue(c);
  }

  private unary<M extends 'registerBenefactor' | 'heartbeat' | 'reportStored'>(
    method: M,
    request: Parameters<typeof unary<ManagerClient, M>>[2],
    options: { timeoutMs: number },
  ) {
    return this.abortable(unary(this.manager, method, request, options));
  }

  private enqueue(command: Command__Output): void {
    let pending: object | undefined;
    if (command.kind === 'delete' && command.delete) {
      // Known as pending from now on: the inventory leaves out what it is about to remove.
      try {
        pending = this.pendingDeletes.add(
          decodeHashes(command.delete.hashes, 'delete command'),
          command.delete.bound,
        );
      } catch {
        // Malformed: execute() reports it.
      }
    }
    this.commands = this.commands.then(async () => {
      if (this.stopped) return;
      try {
        await this.execute(command);
      } catch (e) {
        if (!this.stopped) this.opts.logger.error({ err: e, command: command.kind }, 'command failed');
      } finally {
        if (pending) this.pendingDeletes.done(pending);
      }
    });
  }

  private async execute(command: Command__Output): Promise<void> {
    if (command.kind === 'delete' && command.delete) {
      const hashes = decodeHashes(command.delete.hashes, 'delete command');
      const bound = command.delete.bound;
      if (this.opts.deleteDelayMs) {
        this.opts.logger.warn(
          { chunks: hashes.length, bound, delayMs: this.opts.deleteDelayMs },
          'fault injection: delete command delayed',
        );
        await sleep(this.opts.deleteDelayMs, undefined, { signal: this.abort.signal });
      }
      // Stored or answered "existing" after the heartbeat this delete answers: a writer has
      // just referenced that copy, so it stays (an orphan at worst, which inventories remove).
      let refused = 0;
      const n = await this.opts.store.delete(hashes, (h) => {
        if (this.opts.stamps.mayDelete(h, bound)) return true;
        refused++;
        return false;
      });
      this.opts.logger.info({ requested: hashes.length, deleted: n, refused, bound }, 'deleted chunks');
      if (refused > 0) {
        this.opts.logger.info(
          { chunks: refused, bound, floor: this.opts.stamps.floor },
          'delete refused: chunks stored again since the heartbeat it answers, or a bound from before this start',
        );
      }
    } else if (command.kind === 'replicate' && command.replicate) {
      await this.replicate(command.replicate);
    } else {
      this.opts.logger.warn({ command }, 'unknown command from the manager ignored');
    }
  }

  /** Streams the whole inventory in parts of 10k refs, the last one flagged. */
  private sendInventory(): Promise<void> {
    let cancel = () => {};
    const sent = new Promise<void>((resolve, reject) => {
      const call = this.manager.reportInventory(
        { deadline: new Date(Date.now() + 10 * RPC_TIMEOUT_MS) },
        (err, reply) => {
          if (err) reject(fromServiceError(err, 'ReportInventory'));
          else {
            this.opts.logger.info({ ...reply }, 'inventory reported');
            resolve();
          }
        },
      );
      cancel = () => call.cancel();
      const write = async () => {
        let part: ChunkRef[] = [];
        const send = async (last: boolean) => {
          const more = call.write({ benefactorId: this.opts.id, refs: encodeRefs(part), last });
          part = [];
          if (!more) await writable(call);
        };
        for (const ref of this.opts.store.list()) {
          // On its way out: listing it would bring its location back after the delete.
          if (this.pendingDeletes.aboutToDelete(ref.hash, this.opts.stamps)) continue;
          part.push(ref);
          if (part.length >= INVENTORY_PART_REFS) await send(false);
          if (this.stopped) return;
        }
        await send(true);
        call.end();
      };
      write().catch((e: unknown) => {
        call.cancel();
        reject(e instanceof StdchkError ? e : fromServiceError(e, 'ReportInventory'));
      });
    });
    return this.abortable(sent, () => cancel());
  }

  /**
   * Copies chunks from a peer (each verified by the store before keeping it),
   * then tells the manager which of them this benefactor now holds.
   */
  private async replicate(cmd: ReplicateCommand__Output): Promise<void> {
    const hashes = decodeHashes(cmd.hashes, 'replicate command');
    const source = cmd.source?.address;
    const held: ChunkRef[] = [];
    const wanted: Buffer[] = [];
    for (const h of hashes) {
      const length = this.opts.store.sizeOf(h);
      if (length !== undefined) held.push({ hash: h, length });
      else wanted.push(h);
    }
    if (wanted.length > 0 && !source) {
      throw new StdchkError('INVALID_ARGUMENT', 'replicate command without a source address');
    }
    if (wanted.length > 0 && source) {
      const peer = connectBenefactor(source, { secret: this.opts.secret, tls: this.opts.tls });
      try {
        for (let i = 0; i < wanted.length && !this.stopped; i += REPLICATE_HASHES_PER_CALL) {
          const slice = wanted.slice(i, i + REPLICATE_HASHES_PER_CALL);
          const call = peer.readChunks(
            { hashes: encodeHashes(slice) },
            { deadline: new Date(Date.now() + 10 * RPC_TIMEOUT_MS) },
          );
          held.push(...(await this.fetchFrom(call, source)));
        }
      } finally {
        peer.close();
      }
    }
    const missing = hashes.length - held.length;
    this.opts.logger.info(
      { source, requested: hashes.length, held: held.length, missing },
      'replicated chunks',
    );
    if (held.length === 0 || this.stopped) return;
    // Stamped now, in the same tick as checking they are still held: a delete bounded
    // below this stamp will not remove them, so the report is true whenever it arrives.
    const still = held.filter((r) => this.opts.store.has(r.hash));
    if (still.length === 0) return;
    const stamp = this.opts.stamps.stamp(still.map((r) => r.hash));
    await this.unary(
      'reportStored',
      { replicas: [{ benefactorId: this.opts.id, refs: encodeRefs(still), stamp }] },
      { timeoutMs: RPC_TIMEOUT_MS },
    );
  }

  /** Reads one ReadChunks stream into the store in ~8 MiB batches; returns what was stored. */
  private fetchFrom(call: ClientReadableStream<ReadReply__Output>, source: string): Promise<ChunkRef[]> {
    // Stopping cancels the stream; what was stored so far is still returned.
    const onStop = () => call.cancel();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    return new Promise<ChunkRef[]>((resolve, reject) => {
      const stored: ChunkRef[] = [];
      let batch: StoredChunk[] = [];
      let bytes = 0;
      let failed = false;
      let puts: Promise<void> = Promise.resolve();
      const flush = () => {
        const chunks = batch;
        batch = [];
        bytes = 0;
        if (chunks.length === 0) return;
        // Pause the stream while the batch is stored so memory stays bounded.
        call.pause();
        puts = puts.then(async () => {
          await this.opts.store.putBatch(chunks);
          for (const c of chunks) stored.push({ hash: c.hash, length: c.data.length });
          call.resume();
        });
        puts.catch((e: unknown) => {
          if (failed) return;
          failed = true;
          call.cancel();
          reject(e);
        });
      };
      call.on('data', (reply: ReadReply__Output) => {
        let chunks: StoredChunk[];
        try {
          chunks = splitChunks(reply.refs, reply.data, `ReadChunks reply from ${source}`);
        } catch (e) {
          this.opts.logger.warn({ source, reason: errorMessage(e) }, 'peer sent a malformed reply');
          call.cancel();
          return;
        }
        for (const c of chunks) {
          // Checked here too so one bad chunk from the peer does not reject a whole batch.
          if (!hashChunk(c.data).equals(c.hash)) {
            this.opts.logger.warn({ source, hash: hex(c.hash) }, 'peer sent a chunk not matching its hash');
            continue;
          }
          batch.push(c);
          bytes += c.data.length;
          if (bytes >= REPLICATE_BATCH_BYTES) flush();
        }
      });
      call.on('error', (e) => {
        if (failed) return;
        // Keep what was stored before the peer failed: it is reported like the rest.
        this.opts.logger.warn(
          { source, reason: fromServiceError(e).message },
          'reading from the peer failed',
        );
        puts.then(
          () => resolve(stored),
          () => undefined,
        );
      });
      call.on('end', () => {
        flush();
        puts.then(
          () => resolve(stored),
          () => undefined,
        );
      });
    }).finally(() => this.abort.signal.removeEventListener('abort', onStop));
  }
}
