import { open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { StdchkError, isStdchkError } from '../errors/index.ts';
import { JOBS_DIR, LOG_FILE, checkJobId, checkpointDir, logDir, sortSegments } from '../jobs/layout.ts';

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

interface Segment {
  name: string;
  size: number;
}

/**
 * Reads the window [offset, offset + maxBytes) of the concatenation of the
 * segments, in order, with `read(name, position, length)`.
 */
async function readWindow(
  segments: Segment[],
  offset: number,
  maxBytes: number,
  read: (name: string, position: number, length: number) => Promise<Buffer>,
): Promise<{ data: Buffer; size: number }> {
  const size = segments.reduce((n, s) => n + s.size, 0);
  const parts: Buffer[] = [];
  let want = Math.max(0, Math.min(maxBytes, size - offset));
  let base = 0;
  for (const seg of segments) {
    if (want <= 0) break;
    const end = base + seg.size;
    if (offset < end) {
      const from = Math.max(0, offset - base);
      const n = Math.min(seg.size - from, want);
      const got = await read(seg.name, from, n);
      parts.push(got);
      want -= got.length;
      if (got.length < n) break; // the segment shrank under us: stop here
    }
    base = end;
  }
  return { data: Buffer.concat(parts), size };
}

export class DirJobFiles implements JobFiles {
  constructor(readonly root: string) {}

  async readLog(jobId: string, offset: number, maxBytes: number): Promise<{ data: Buffer; size: number }> {
    const dir = logDir(this.root, jobId);
    let names: string[];
    try {
      names = sortSegments(await readdir(dir));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { data: Buffer.alloc(0), size: 0 };
      throw new StdchkError('UNAVAILABLE', `cannot read the log of ${jobId}: ${(e as Error).message}`);
    }
    const segments = await Promise.all(
      names.map(async (name) => ({ name, size: (await stat(path.join(dir, name))).size })),
    );
    return readWindow(segments, offset, maxBytes, async (name, position, length) => {
      const fh = await open(path.join(dir, name), 'r');
      try {
        const buf = Buffer.alloc(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await fh.read(buf, got, length - got, position + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return buf.subarray(0, got);
      } finally {
        await fh.close();
      }
    });
  }

  async removeCheckpoint(jobId: string, seq: number): Promise<void> {
    await rm(checkpointDir(this.root, jobId, seq), { recursive: true, force: true, maxRetries: 3 });
  }

  async close(): Promise<void> {}
}

/** The subset of the storage client this needs (kept small so tests can fake it). */
export interface StorageAccess {
  list(p: string): Promise<{ name: string; size: number; type: string }[]>;
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
    const dir = `/${JOBS_DIR}/${checkJobId(jobId)}/${LOG_FILE}`;
    let entries;
    try {
      entries = await this.storage.list(dir);
    } catch (e) {
      if (isStdchkError(e, 'NOT_FOUND')) return { data: Buffer.alloc(0), size: 0 };
      throw e;
    }
    const sizes = new Map(entries.map((e) => [e.name, Number(e.size)]));
    const segments = sortSegments([...sizes.keys()]).map((name) => ({
      name,
      size: sizes.get(name) as number,
    }));
    return readWindow(segments, offset, maxBytes, async (name, position, length) => {
      const reader = await this.storage.openReader(`${dir}/${name}`);
      try {
        return await reader.read(position, length);
      } finally {
        await reader.close();
      }
    });
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
