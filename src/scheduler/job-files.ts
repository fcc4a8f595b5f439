import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { StdchkError, isStdchkError } from '../errors/index.ts';
import { JOBS_DIR, LOG_FILE, checkJobId, checkpointDir, logPath } from './layout.ts';

/**
 * The scheduler's access to job data in the checkpoint storage: reading a
 * job's log for `stdchk logs` and deleting checkpoints that retention or a
 * finished job no longer needs. Two implementations: a local folder that is
 * the storage's root (a mount of it, or any shared folder), and the storage
 * itself through the manager (no mount needed on the scheduler's machine).
 */
export interface JobFiles {
  /** Up to `maxBytes` of the log from `offset`, and the log's size (0 if it does not exist yet). */
  readLog(jobId: string, offset: number, maxBytes: number): Promise<{ data: Buffer; size: number }>;
  /** Deletes checkpoint `seq` of a job; a missing folder is not an error. */
  removeCheckpoint(jobId: string, seq: number): Promise<void>;
  close(): Promise<void>;
}

export class DirJobFiles implements JobFiles {
  constructor(readonly root: string) {}

  async readLog(jobId: string, offset: number, maxBytes: number): Promise<{ data: Buffer; size: number }> {
    let fh;
    try {
      fh = await open(logPath(this.root, jobId), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { data: Buffer.alloc(0), size: 0 };
      throw new StdchkError('UNAVAILABLE', `cannot read the log of ${jobId}: ${(e as Error).message}`);
    }
    try {
      const size = (await fh.stat()).size;
      const n = Math.max(0, Math.min(maxBytes, size - offset));
      const data = Buffer.alloc(n);
      let got = 0;
      while (got < n) {
        const { bytesRead } = await fh.read(data, got, n - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return { data: data.subarray(0, got), size };
    } finally {
      await fh.close();
    }
  }

  async removeCheckpoint(jobId: string, seq: number): Promise<void> {
    await rm(checkpointDir(this.root, jobId, seq), { recursive: true, force: true, maxRetries: 3 });
  }

  async close(): Promise<void> {}
}

/** The subset of the storage client this needs (kept small so tests can fake it). */
export interface StorageAccess {
  openReader(
    p: string,
  ): Promise<{ size: number; read(pos: number, len: number): Promise<Buffer>; close(): Promise<void> }>;
  remove(p: string, opts: { recursive?: boolean }): Promise<void>;
  close(): void;
}

/** Job data through the storage's manager; paths are /jobs/... in the storage namespace. */
export class StorageJobFiles implements JobFiles {
  constructor(private readonly storage: StorageAccess) {}

  async readLog(jobId: string, offset: number, maxBytes: number): Promise<{ data: Buffer; size: number }> {
    let reader;
    try {
      reader = await this.storage.openReader(`/${JOBS_DIR}/${checkJobId(jobId)}/${LOG_FILE}`);
    } catch (e) {
      if (isStdchkError(e, 'NOT_FOUND')) return { data: Buffer.alloc(0), size: 0 };
      throw e;
    }
    try {
      const size = reader.size;
      const n = Math.max(0, Math.min(maxBytes, size - offset));
      return { data: n > 0 ? await reader.read(offset, n) : Buffer.alloc(0), size };
    } finally {
      await reader.close();
    }
  }

  async removeCheckpoint(jobId: string, seq: number): Promise<void> {
    const p = path.posix.join('/', JOBS_DIR, checkJobId(jobId), String(seq));
    try {
      await this.storage.remove(p, { recursive: true });
    } catch (e) {
      if (!isStdchkError(e, 'NOT_FOUND')) throw e;
    }
  }

  async close(): Promise<void> {
    this.storage.close();
  }
}
