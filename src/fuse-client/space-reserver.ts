import { randomBytes } from 'node:crypto';
import type { StorageClient } from '../client/storage-client.ts';
import { errorMessage, isStdchkError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { unary } from '../rpc/index.ts';

/** Asked for beyond the need, so that a tar of small files does not reserve file by file. */
const GRANULE = 64 * 1024 * 1024;
const TTL_MS = 60_000;
const RENEW_MS = 15_000;
const CALL_TIMEOUT_MS = 10_000;
/**
 * What `n` bytes of data take on a benefactor, rounded up: record headers in
 * the pack files (~0.3% at 16 KiB chunks) and a margin, so that a full
 * cluster refuses at close() rather than at the upload after it.
 */
export function withOverhead(n: number): number {
  return n + Math.ceil(n / 64);
}

/** A writer's upload batch (1 MiB of new chunks) with the pack files' record headers; the smallest the manager takes. */
export const MAX_BATCH = 1024 * 1024 + 64 * 1024;
const MIN_BATCH = 4 * 1024;

/**
 * - reserved: the manager holds the space;
 * - refused: the manager says it does not fit (a full cluster);
 * - unknown: the manager did not answer (restarting): the data is accepted
 *   without a reservation and uploaded when the manager is back.
 */
export type ReserveResult = 'reserved' | 'refused' | 'unknown';

/**
 * The write-back mount's side of ReserveSpace: one reservation per mount,
 * covering the data staged and not uploaded yet (`used`). It grows in 64 MiB
 * steps ahead of the writers (one RPC per 64 MiB rather than per file),
 * shrinks as uploads finish, and is renewed every 15 s; the manager drops it
 * 60 s after the mount stops renewing it (a dead mount gives its space back).
 */
export class SpaceReserver {
  readonly id = randomBytes(16).toString('hex');
  /** Bytes the manager holds for us (as far as we know). */
  private held = 0;
  /** Bytes promised to staged data and files being written. */
  private used_ = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** The manager refused a raise recently: ask for exact amounts, not granules. */
  private tight = false;
  /** Batch size of the last raise (renewals and lowerings repeat it: they are never refused for it). */
  private lastBatch = MAX_BATCH;

  constructor(
    private readonly client: StorageClient,
    private readonly replicas: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.renew(), RENEW_MS);
    this.timer.unref();
  }

  get used(): number {
    return this.used_;
  }

  /** Sets the reservation at the manager to `bytes`; true if it holds them now. */
  private async set(bytes: number, batchBytes = this.lastBatch): Promise<ReserveResult> {
    try {
      const r = await unary(
        this.client.manager,
        'reserveSpace',
        { reservationId: this.id, bytes, replicas: this.replicas, ttlMs: TTL_MS, batchBytes },
        { timeoutMs: CALL_TIMEOUT_MS },
      );
      this.held = r.bytes;
      return 'reserved';
    } catch (e) {
      if (isStdchkError(e, 'NO_SPACE')) return 'refused';
      this.logger.debug({ err: errorMessage(e) }, 'space reservation: the manager did not answer');
      return 'unknown';
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    this.pendingOps++;
    const p = this.chain.then(fn, fn).finally(() => this.pendingOps--);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Operations queued on the chain (tryAcquire defers to them, to keep the order of requests). */
  private pendingOps = 0;

  /** Takes `n` bytes from what the manager already holds for us, if there is room (no RPC). */
  tryAcquire(n: number): boolean {
    if (this.pendingOps > 0 || this.used_ + n > this.held) return false;
    this.used_ += n;
    return true;
  }

  /**
   * Reserves `n` more bytes for data being staged, which will be uploaded in
   * batches of at most `batchBytes` (a small file is one small batch: the
   * manager counts free space in such batches).
   */
  acquire(n: number, batchBytes = MAX_BATCH): Promise<ReserveResult> {
    if (n <= 0) return Promise.resolve('reserved');
    return this.serial(async () => {
      if (this.used_ + n <= this.held) {
        this.used_ += n;
        return 'reserved';
      }
      const batch = Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.ceil(batchBytes)));
      this.lastBatch = batch;
      let r: ReserveResult = 'refused';
      if (!this.tight) r = await this.set(this.used_ + n + GRANULE, batch);
      if (r === 'refused') r = await this.set(this.used_ + n, batch);
      this.tight = r === 'refused' || (r === 'reserved' && this.held < this.used_ + n + GRANULE);
      if (r === 'reserved') this.used_ += n;
      return r;
    });
  }

  /**
   * `n` reserved bytes are no longer needed: their upload is starting (its
   * placement at the manager counts them from now on: counting them here too
   * would refuse space that exists), or their data was dropped. Resolves
   * once the manager knows, when it has to be told.
   */
  release(n: number): Promise<void> {
    if (n <= 0) return Promise.resolve();
    this.used_ = Math.max(0, this.used_ - n);
    // Give back what is far beyond the need at once: other mounts may be waiting for it.
    if (this.held - this.used_ > 2 * GRANULE || (this.tight && this.held > this.used_)) {
      return this.serial(async () => {
        await this.set(this.used_ + (this.tight ? 0 : GRANULE));
      });
    }
    return Promise.resolve();
  }

  private renew(): Promise<unknown> {
    return this.serial(async () => {
      this.tight = false;
      if (this.held === 0 && this.used_ === 0) return;
      const want = this.used_ === 0 ? 0 : Math.max(this.used_, this.held);
      const r = await this.set(want);
      // A restarted manager forgot us and the space is gone: keep what is staged anyway.
      if (r === 'refused') await this.set(this.used_);
    });
  }

  /** Gives everything back (at unmount; a dead mount's reservation lapses instead). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.serial(async () => {
      if (this.held > 0) await this.set(0);
    });
  }
}
