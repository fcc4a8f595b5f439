import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';

/** Bytes moved per round at most, so one chatty job cannot stall the others. */
const MAX_ROUND = 4 * 1024 * 1024;

/**
 * Copies what a job appends to its local log (where its output pipe ends) to
 * the job's log in the checkpoint storage, which every worker can reach and
 * which therefore outlives any one worker. Each round is one append + close,
 * which commits a new version on the stdchk mount.
 */
export class LogShipper {
  private shipped: number;
  private running: Promise<number> | undefined;

  /** `shipped`: bytes of the local log already in the remote one (a restarted agent taking over a job). */
  constructor(
    readonly localLog: string,
    readonly remoteLog: string,
    shipped = 0,
  ) {
    this.shipped = shipped;
  }

  get shippedBytes(): number {
    return this.shipped;
  }

  /** Ships what is new; resolves with the bytes shipped (0 if nothing). Rounds never overlap. */
  ship(): Promise<number> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Ships at least everything written before this call (waits for a round in progress, then runs one more). */
  async flush(): Promise<void> {
    await this.running?.catch(() => 0);
    await this.ship();
  }

  /** Ships until nothing is left (at exit). */
  async drain(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      await this.running?.catch(() => 0);
      if ((await this.ship()) === 0) return;
    }
  }

  private async round(): Promise<number> {
    let src;
    try {
      src = await open(this.localLog, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    let buf: Buffer;
    try {
      const size = (await src.stat()).size;
      const n = Math.min(size - this.shipped, MAX_ROUND);
      if (n <= 0) return 0;
      buf = Buffer.alloc(n);
      const { bytesRead } = await src.read(buf, 0, n, this.shipped);
      buf = buf.subarray(0, bytesRead);
    } finally {
      await src.close();
    }
    if (buf.length === 0) return 0;
    // Root's alone, like the checkpoints: users read a job's output through the scheduler (`stdchk logs`).
    await mkdir(path.dirname(this.remoteLog), { recursive: true, mode: 0o700 });
    const dst = await open(this.remoteLog, 'a', 0o600);
    try {
      await dst.write(buf);
      await dst.sync();
    } finally {
      await dst.close();
    }
    this.shipped += buf.length;
    return buf.length;
  }
}
