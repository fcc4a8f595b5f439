import type { StorageClient } from '../client/storage-client.ts';
import { errorMessage } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { unary } from '../rpc/index.ts';

/** After a failed reservation, new files get temporary numbers for this long before trying again. */
const RETRY_AFTER_MS = 10_000;

/**
 * Inode numbers reserved at the manager (ReserveInodes) for the files this
 * mount creates. A new file exists only in this mount until its first
 * commit; with a reserved number it already shows the number the manager
 * will give it, so its st_ino never changes (tar checks that a placeholder
 * it made is still the same file, by inode number, before replacing it).
 * Numbers come in blocks; the next block is fetched in the background when
 * a quarter of the current one is left.
 */
export class InodePool {
  private readonly ranges: { next: number; end: number }[] = [];
  private refill: Promise<void> | undefined;
  private failedAt = -Infinity;

  constructor(
    private readonly client: StorageClient,
    private readonly logger: Logger,
    private readonly blockSize = 1024,
  ) {}

  private get left(): number {
    return this.ranges.reduce((n, r) => n + (r.end - r.next), 0);
  }

  /** A reserved number, or undefined when the manager could not reserve any (the caller numbers the file itself). */
  async take(): Promise<number | undefined> {
    if (this.left === 0) await this.fill();
    const r = this.ranges[0];
    if (!r) return undefined;
    const n = r.next++;
    if (r.next >= r.end) this.ranges.shift();
    if (this.left < this.blockSize / 4) this.fill().catch(() => undefined);
    return n;
  }

  private fill(): Promise<void> {
    if (Date.now() - this.failedAt < RETRY_AFTER_MS) return Promise.resolve();
    this.refill ??= (async () => {
      try {
        const r = await unary(this.client.manager, 'reserveInodes', { count: this.blockSize });
        this.ranges.push({ next: r.first, end: r.first + r.count });
      } catch (e) {
        this.failedAt = Date.now();
        this.logger.warn(
          { err: errorMessage(e) },
          'could not reserve inode numbers: new files show a temporary number until their first commit',
        );
      } finally {
        this.refill = undefined;
      }
    })();
    return this.refill;
  }
}
