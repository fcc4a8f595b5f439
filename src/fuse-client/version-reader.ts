import type { ChunkSource } from './chunk-source.ts';
import type { PinnedVersion } from './pinned-version.ts';

const FETCH_SEGMENT = 2 * 1024 * 1024;
const MIN_READ_AHEAD = 2 * 1024 * 1024;
/** How far from the furthest read so far a read may start and still count as sequential. */
const SEQUENTIAL_SLACK = 4 * 1024 * 1024;

/**
 * Reads byte ranges of a chunk list (a pinned version, or chunks written and
 * not committed yet) through the chunk source, with read-ahead while the
 * reads of one handle stay sequential. One per handle.
 */
export class VersionReader {
  private nextReadAt = -1;
  private aheadUntil = 0;
  private aheadWindow = MIN_READ_AHEAD;
  private aheadOf: PinnedVersion | undefined;

  constructor(
    private readonly source: ChunkSource,
    private readonly readAheadBytes: number,
  ) {}

  /**
   * A read of the application: reads ahead if it continues the previous
   * ones. The kernel's read-ahead sends several reads at once and they arrive
   * out of order: near the furthest read so far still counts as sequential.
   */
  readSequential(v: PinnedVersion, position: number, length: number): Promise<Buffer> {
    const sequential = position === 0 || Math.abs(position - this.nextReadAt) <= SEQUENTIAL_SLACK;
    this.nextReadAt = Math.max(sequential ? this.nextReadAt : 0, position + length);
    return this.read(v, position, length, sequential);
  }

  /** Bytes [position, position + length) of `v`, with read-ahead when `sequential`. */
  async read(v: PinnedVersion, position: number, length: number, sequential: boolean): Promise<Buffer> {
    const end = Math.min(v.size, position + length);
    if (position >= end) return Buffer.alloc(0);
    const first = v.indexAt(position);
    const last = v.indexAt(end - 1);
    if (sequential) this.readAhead(v, end);
    const wanted: number[] = [];
    for (let i = first; i <= last; i++) if (!v.isHoleAt(i)) wanted.push(i);
    const datas = await this.source.get(
      wanted.map((i) => v.hashAt(i)),
      wanted.map((i) => v.lengthAt(i)),
    );
    const out = Buffer.alloc(end - position);
    wanted.forEach((i, k) => {
      const data = datas[k] as Buffer;
      const chunkStart = v.offsetOf(i);
      const from = Math.max(position, chunkStart);
      const to = Math.min(end, chunkStart + data.length);
      data.copy(out, from - position, from - chunkStart, to - chunkStart);
    });
    return out;
  }

  /** Prefetches the chunks after `end` into memory, widening the window while reads stay sequential. */
  private readAhead(v: PinnedVersion, end: number): void {
    if (this.aheadOf !== v) {
      this.aheadOf = v;
      this.aheadUntil = 0;
    }
    if (this.aheadUntil < end) this.aheadUntil = end;
    const target = Math.min(v.size, end + this.aheadWindow);
    if (this.aheadUntil >= target || this.aheadUntil - end > this.aheadWindow / 2) return;
    this.aheadWindow = Math.min(this.readAheadBytes, this.aheadWindow * 2);
    let i = v.indexAt(this.aheadUntil);
    if (v.offsetOf(i) < this.aheadUntil) i++;
    while (i < v.count && v.offsetOf(i) < target) {
      const hashes: Buffer[] = [];
      const lengths: number[] = [];
      let bytes = 0;
      while (i < v.count && v.offsetOf(i) < target && bytes < FETCH_SEGMENT) {
        if (!v.isHoleAt(i)) {
          hashes.push(v.hashAt(i));
          lengths.push(v.lengthAt(i));
        }
        bytes += v.lengthAt(i);
        i++;
      }
      if (hashes.length) this.source.get(hashes, lengths).catch(() => undefined);
    }
    this.aheadUntil = i < v.count ? v.offsetOf(i) : v.size;
  }
}
