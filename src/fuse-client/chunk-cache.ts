import {
  openSync,
  readSync,
  readdirSync,
  readFileSync,
  ftruncateSync,
  closeSync,
  fstatSync,
  mkdirSync,
  unlinkSync,
} from 'node:fs';
import { open, unlink, writeFile, readFile, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { HASH_BYTES, hashChunk } from '../hashing/index.ts';
import { MAX_CHUNK_BYTES } from '../chunking/refs.ts';
import { StdchkError, errorMessage } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { silentLogger } from '../logging/index.ts';

/** Cache key of a chunk: half its hash is plenty, every hit is verified against the full hash. */
export function chunkKey(hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, 16).toString('hex');
}

/** Recently used chunks in memory, bounded in bytes (least recently used out first). */
export class MemoryChunkCache {
  private readonly map = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): Buffer | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, data: Buffer): void {
    if (data.length > this.maxBytes) return;
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.length;
      this.map.delete(key);
    }
    this.map.set(key, data);
    this.bytes += data.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }

  get size(): number {
    return this.bytes;
  }
}

const RECORD_HEADER = HASH_BYTES + 4;
const MAX_PENDING_BYTES = 32 * 1024 * 1024;
const WRITE_BATCH = 4 * 1024 * 1024;

interface Segment {
  n: number;
  file: string;
  /** Opened on first use; a promise so concurrent readers share one descriptor. */
  fd: Promise<FileHandle> | undefined;
  bytes: number;
  keys: string[];
}

interface Location {
  seg: Segment;
  offset: number; // of the data, after the record header
  length: number;
}

export interface DiskCacheStats {
  hits: number;
  misses: number;
  bytes: number;
  chunks: number;
  dropped: number;
}

/**
 * The on-disk chunk cache under --cache DIR, bounded by --cache-size.
 *
 * Chunks are appended to pack files ("segments") as records of
 * [32-byte hash][uint32 LE length][data], one sequential write stream rather
 * than a file per 16 KiB chunk. When the total exceeds the limit the oldest
 * segment is deleted whole (FIFO: checkpoints are read back newest first).
 * The index lives in memory and is rebuilt at start by reading the record
 * headers; a torn tail is cut off. Every hit is verified against its hash, so
 * a damaged cache only costs a network fetch, never wrong data. Writes are
 * best effort: when the disk falls behind, chunks are simply not cached.
 */
export class DiskChunkCache {
  private readonly index = new Map<string, Location>();
  private readonly segments: Segment[] = [];
  private active: Segment | undefined;
  private totalBytes = 0;
  private pending: { key: string; hash: Buffer; data: Buffer }[] = [];
  private pendingKeys = new Set<string>();
  private pendingBytes = 0;
  private draining: Promise<void> | undefined;
  private closed = false;
  private nextSegment = 1;
  readonly stats: DiskCacheStats = { hits: 0, misses: 0, bytes: 0, chunks: 0, dropped: 0 };

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly segmentBytes: number,
    private readonly logger: Logger,
    private readonly matches: (hash: Uint8Array, data: Uint8Array) => boolean,
  ) {}

  /**
   * `matches` checks a cached chunk against its address: BLAKE3 by default;
   * the client's (`Chunks.matches`) when chunks are stored encrypted, whose
   * addresses are of the stored bytes while the cache holds plaintext.
   */
  static async open(
    dir: string,
    maxBytes: number,
    logger: Logger = silentLogger,
    matches = (hash: Uint8Array, data: Uint8Array) => hashChunk(data).equals(hash),
  ): Promise<DiskChunkCache> {
    if (maxBytes < 16 * 1024 * 1024)
      throw new StdchkError('INVALID_ARGUMENT', '--cache-size must be at least 16MiB');
    const packDir = path.join(dir, 'chunks');
    mkdirSync(packDir, { recursive: true, mode: 0o700 }); // other users' file contents: private (docs/security.md)
    await lockDir(dir);
    const segmentBytes = Math.max(4 << 20, Math.min(64 << 20, Math.floor(maxBytes / 16)));
    const cache = new DiskChunkCache(dir, maxBytes, segmentBytes, logger, matches);
    cache.load(packDir);
    await cache.evict();
    return cache;
  }

  private load(packDir: string): void {
    const files = readdirSync(packDir)
      .map((f) => /^(\d+)\.pack$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ n: Number(m[1]), file: path.join(packDir, m[0]) }))
      .sort((a, b) => a.n - b.n);
    const header = Buffer.alloc(RECORD_HEADER);
    for (const { n, file } of files) {
      this.nextSegment = Math.max(this.nextSegment, n + 1);
      const seg: Segment = { n, file, fd: undefined, bytes: 0, keys: [] };
      const fd = openSync(file, 'r+');
      try {
        const size = fstatSync(fd).size;
        let pos = 0;
        while (pos + RECORD_HEADER <= size) {
          if (readSync(fd, header, 0, RECORD_HEADER, pos) !== RECORD_HEADER) break;
          const length = header.readUInt32LE(HASH_BYTES);
          if (length === 0 || length > MAX_CHUNK_BYTES || pos + RECORD_HEADER + length > size) break;
          const key = chunkKey(header.subarray(0, HASH_BYTES));
          this.index.set(key, { seg, offset: pos + RECORD_HEADER, length });
          seg.keys.push(key);
          pos += RECORD_HEADER + length;
        }
        if (pos !== size) ftruncateSync(fd, pos);
        seg.bytes = pos;
      } finally {
        closeSync(fd);
      }
      if (seg.bytes === 0) {
        unlinkSync(file);
        continue;
      }
      this.segments.push(seg);
      this.totalBytes += seg.bytes;
    }
    this.logger.info(
      { dir: this.dir, chunks: this.index.size, bytes: this.totalBytes, maxBytes: this.maxBytes },
      'chunk cache loaded',
    );
  }

  has(hash: Uint8Array): boolean {
    const key = chunkKey(hash);
    return this.index.has(key) || this.pendingKeys.has(key);
  }

  /** The chunk's bytes if cached and intact. */
  async get(hash: Buffer): Promise<Buffer | undefined> {
    const key = chunkKey(hash);
    const pend = this.pendingKeys.has(key) ? this.pending.find((p) => p.key === key) : undefined;
    if (pend && pend.hash.equals(hash)) {
      this.stats.hits++;
      return pend.data;
    }
    const loc = this.index.get(key);
    if (!loc) {
      this.stats.misses++;
      return undefined;
    }
    try {
      loc.seg.fd ??= open(loc.seg.file, 'r+');
      const buf = Buffer.allocUnsafe(loc.length);
      const { bytesRead } = await (await loc.seg.fd).read(buf, 0, loc.length, loc.offset);
      if (bytesRead === loc.length && this.matches(hash, buf)) {
        this.stats.hits++;
        return buf;
      }
    } catch (e) {
      this.logger.warn({ err: errorMessage(e), file: loc.seg.file }, 'chunk cache read failed');
    }
    this.index.delete(key);
    this.stats.misses++;
    return undefined;
  }

  /** Caches a chunk in the background (dropped if the disk falls behind). */
  put(hash: Buffer, data: Buffer): void {
    if (this.closed) return;
    const key = chunkKey(hash);
    if (this.index.has(key) || this.pendingKeys.has(key)) return;
    if (this.pendingBytes + data.length > MAX_PENDING_BYTES) {
      this.stats.dropped++;
      return;
    }
    this.pending.push({ key, hash: Buffer.from(hash), data });
    this.pendingKeys.add(key);
    this.pendingBytes += data.length;
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    while (this.pending.length) {
      // One contiguous write of up to WRITE_BATCH bytes of records at a time.
      let take = 0;
      let bytes = 0;
      while (take < this.pending.length && (take === 0 || bytes < WRITE_BATCH)) {
        bytes += RECORD_HEADER + (this.pending[take] as { data: Buffer }).data.length;
        take++;
      }
      const batch = this.pending.splice(0, take);
      try {
        const seg = await this.writableSegment();
        const out = Buffer.allocUnsafe(bytes);
        const placed: { key: string; offset: number; length: number }[] = [];
        let off = 0;
        for (const p of batch) {
          p.hash.copy(out, off);
          out.writeUInt32LE(p.data.length, off + HASH_BYTES);
          p.data.copy(out, off + RECORD_HEADER);
          placed.push({ key: p.key, offset: seg.bytes + off + RECORD_HEADER, length: p.data.length });
          off += RECORD_HEADER + p.data.length;
        }
        const fh = await (seg.fd as Promise<FileHandle>);
        for (let done = 0; done < out.length;) {
          const { bytesWritten } = await fh.write(out, done, out.length - done, seg.bytes + done);
          done += bytesWritten;
        }
        for (const p of placed) {
          this.index.set(p.key, { seg, offset: p.offset, length: p.length });
          seg.keys.push(p.key);
        }
        seg.bytes += out.length;
        this.totalBytes += out.length;
        this.stats.chunks += batch.length;
        this.stats.bytes += out.length;
        if (seg.bytes >= this.segmentBytes) this.active = undefined;
        await this.evict();
      } catch (e) {
        this.logger.warn({ err: errorMessage(e) }, 'chunk cache write failed; chunks not cached');
        this.active = undefined;
      } finally {
        for (const p of batch) {
          this.pendingKeys.delete(p.key);
          this.pendingBytes -= p.data.length;
        }
      }
    }
  }

  private async writableSegment(): Promise<Segment> {
    if (this.active) return this.active;
    const n = this.nextSegment++;
    const file = path.join(this.dir, 'chunks', `${n}.pack`);
    const fd = await open(file, 'wx+', 0o600);
    const seg: Segment = { n, file, fd: Promise.resolve(fd), bytes: 0, keys: [] };
    this.segments.push(seg);
    this.active = seg;
    return seg;
  }

  /** Deletes the oldest segments while over the limit (never the one being written). */
  private async evict(): Promise<void> {
    while (this.totalBytes > this.maxBytes && this.segments.length > 1) {
      const seg = this.segments[0] as Segment;
      if (seg === this.active) break;
      this.segments.shift();
      for (const k of seg.keys) if (this.index.get(k)?.seg === seg) this.index.delete(k);
      this.totalBytes -= seg.bytes;
      await closeSegment(seg);
      await unlink(seg.file).catch(() => undefined);
    }
  }

  get bytes(): number {
    return this.totalBytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.draining;
    for (const s of this.segments) await closeSegment(s);
    await rm(path.join(this.dir, 'lock'), { force: true });
  }
}

async function closeSegment(seg: Segment): Promise<void> {
  const fd = seg.fd;
  seg.fd = undefined;
  await fd?.then((h) => h.close()).catch(() => undefined);
}

/** One mount per cache folder: a lock file holding the owner's pid (stale if that pid is gone). */
async function lockDir(dir: string): Promise<void> {
  const lock = path.join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && isMountProcess(pid)) {
        throw new StdchkError('INVALID_ARGUMENT', `cache folder ${dir} is in use by process ${pid}`);
      }
      await rm(lock, { force: true });
    }
  }
  throw new StdchkError('INVALID_ARGUMENT', `cannot lock cache folder ${dir}`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Is `pid` a live `stdchk mount` process (not just any process that reuses a dead one's pid)? */
export function isMountProcess(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.includes('mount') && args.some((a) => a.includes('stdchk') || a.endsWith('main.ts'));
  } catch {
    return true; // cannot tell: assume it is
  }
}
