import { randomBytes } from 'node:crypto';

/**
 * Fresh (never seen before) data at memory speed: a random pool, with a
 * unique stamp every 4 KiB so that no chunk of any size dedups.
 */
export class FreshData {
  private readonly pool = randomBytes(64 * 1024 * 1024);
  private offset = 0;
  private stamp = BigInt(Date.now()) * 1000000n;

  next(size: number): Buffer {
    if (this.offset + size > this.pool.length) this.offset = 0;
    const block = Buffer.from(this.pool.subarray(this.offset, this.offset + size));
    this.offset += size;
    for (let i = 0; i + 8 <= block.length; i += 4096) block.writeBigUInt64LE(this.stamp++, i);
    return block;
  }
}
