import { rmSync } from 'node:fs';
import { open, rm, mkdir, readdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StdchkError, isStdchkError } from '../errors/index.ts';
import { checkSafeParent, freshPrivateDir, ownPrivateDir } from '../config/private-files.ts';
import { isMountProcess } from './chunk-cache.ts';

const READ_PIECE = 4 * 1024 * 1024;

/**
 * A local file holding the whole content of a file opened for non-sequential
 * writes. It is chunked and committed at flush/fsync/release, and kept (the
 * application may keep writing) until the handle is released.
 */
export class ScratchFile {
  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    public size: number,
  ) {}

  static async create(dir: string, name: string): Promise<ScratchFile> {
    const file = path.join(dir, name);
    const fh = await open(file, 'wx+', 0o600); // O_EXCL: never an entry someone else made
    return new ScratchFile(file, fh, 0);
  }

  async write(data: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
    this.size = Math.max(this.size, position + data.length);
  }

  async read(position: number, length: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(length, this.size - position));
    const buf = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const { bytesRead } = await this.fh.read(buf, done, n - done, position + done);
      if (bytesRead === 0) {
        buf.fill(0, done); // a hole at the end (extended by truncate)
        break;
      }
      done += bytesRead;
    }
    return buf;
  }

  async truncate(size: number): Promise<void> {
    await this.fh.truncate(size);
    this.size = size;
  }

  /** The content in order, in pieces of a few MiB (bounded memory). */
  async *stream(): AsyncGenerator<Buffer> {
    for (let pos = 0; pos < this.size; pos += READ_PIECE) {
      yield await this.read(pos, Math.min(READ_PIECE, this.size - pos));
    }
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(this.file, { force: true });
  }
}

/** The default scratch folder when there is no --cache: shared by the machine's users, so checked. */
export const SHARED_SCRATCH_BASE = path.join(os.tmpdir(), 'stdchk-scratch');

/**
 * Creates this process's scratch folder under `base` (0700, made fresh: an
 * entry someone else put there is never used) and deletes the folders of
 * mount processes that died without cleaning up (kill -9). The shared
 * default in /tmp must be a real folder of ours (it is made 0700; if another
 * user made it, a fresh private folder is used instead, removed at exit); a
 * folder given with --scratch must be ours or root's and not writable by
 * others (config/private-files.ts).
 */
export async function prepareScratchDir(base: string): Promise<string> {
  const shared = path.resolve(base) === SHARED_SCRATCH_BASE;
  try {
    if (shared) ownPrivateDir(base);
    else checkSafeParent(base);
  } catch (e) {
    if (!isStdchkError(e, 'PERMISSION_DENIED')) throw e;
    if (!shared) throw new StdchkError('INVALID_ARGUMENT', `scratch folder refused: ${e.message}`);
    const own = freshPrivateDir(os.tmpdir(), 'stdchk-scratch-');
    process.once('exit', () => rmSync(own, { recursive: true, force: true }));
    return own;
  }
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const m = /^mount-(\d+)$/.exec(name);
    if (m && Number(m[1]) !== process.pid && !isMountProcess(Number(m[1]))) {
      await rm(path.join(base, name), { recursive: true, force: true });
    }
  }
  const dir = path.join(base, `mount-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 }); // not recursive: fails if someone made it meanwhile
  return dir;
}
