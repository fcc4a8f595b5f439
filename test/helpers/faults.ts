import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

// Small pieces the fault-injection tests share (churn, disk full, manager restart).

const MiB = 1024 * 1024;

export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** `stdchk status --json`, as a user would run it (the CLI's own shape). */
export { statusJson as clusterStatus } from './grid.ts';

/** Rejects with a clear message if `p` takes longer than `ms`: an error must come back, not a hang. */
export function noHang<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} hung for ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface MountWrite {
  ok: boolean;
  /** errno code of the first failure (ENOSPC, EIO, ...), and which call failed. */
  code?: string;
  failedAt?: 'open' | 'write' | 'fsync' | 'close';
}

const codeOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? String(e);

/**
 * Writes `data` to a file through a mount (open O_TRUNC, 1 MiB writes, an
 * optional fsync, close) and reports which call failed first, if any.
 * Asynchronous I/O only: the mount belongs to another process, but the
 * test's event loop must keep running.
 */
export async function writeThroughMount(file: string, data: Buffer, fsync = false): Promise<MountWrite> {
  let fh;
  try {
    fh = await open(file, 'w');
  } catch (e) {
    return { ok: false, code: codeOf(e), failedAt: 'open' };
  }
  let failure: MountWrite | undefined;
  try {
    for (let off = 0; off < data.length; off += MiB) {
      await fh.write(data.subarray(off, Math.min(data.length, off + MiB)));
    }
    if (fsync) {
      try {
        await fh.sync();
      } catch (e) {
        failure = { ok: false, code: codeOf(e), failedAt: 'fsync' };
      }
    }
  } catch (e) {
    failure = { ok: false, code: codeOf(e), failedAt: 'write' };
  }
  try {
    await fh.close();
  } catch (e) {
    failure ??= { ok: false, code: codeOf(e), failedAt: 'close' };
  }
  return failure ?? { ok: true };
}
