import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  statfsSync,
  writevSync,
} from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { StdchkError, errorMessage, invalid } from '../errors/index.ts';
import { HASH_BYTES, hashChunk, hex } from '../hashing/index.ts';
import { MAX_CHUNK_BYTES } from '../chunking/refs.ts';
import { silentLogger } from '../logging/index.ts';
import type { Logger } from '../logging/index.ts';
import type { ChunkStore, ChunkStoreStats, StoredChunk } from './chunk-store.ts';
import { acquireLock } from './lock-file.ts';
import type { LockHandle } from './lock-file.ts';
import {
  DELETION_ENTRY_BYTES,
  DELETION_LOG,
  HEADER_BYTES,
  LOCK_FILE,
  PACKS_DIR,
  decodeDeletion,
  encodeDeletion,
  packFileName,
  parsePackFileName,
  readHeader,
  writeHeader,
} from './pack-format.ts';
import type { DeletionEntry } from './pack-format.ts';

export interface PackStoreOptions {
  /** Most bytes the store may occupy on disk (packs and deletion log). */
  capacityBytes: number;
  /**
   * A pack is sealed and a new one started before it would grow past this
   * size. Default: capacity / 32, from 256 KiB to 16 MiB (small stores need
   * small packs: compaction needs room for one pack's live records).
   */
  packTargetBytes?: number;
  /** Called for a chunk found corrupt (it is dropped and reads as missing from then on). */
  onCorrupt?: (hash: Buffer, detail: string) => void;
  /** Told the duration (seconds) of each fdatasync of chunk data (metrics). */
  onSync?: (seconds: number) => void;
  logger?: Logger;
}

export const DEFAULT_PACK_TARGET_BYTES = 16 * 1024 * 1024;
const MIN_PACK_TARGET_BYTES = 256 * 1024;
/** Headroom new chunks leave free (see headroomFor): at least this, at most a quarter of the capacity. */
const MIN_HEADROOM_BYTES = 2 * 1024 * 1024;

export function defaultPackTarget(capacityBytes: number): number {
  return Math.min(DEFAULT_PACK_TARGET_BYTES, Math.max(MIN_PACK_TARGET_BYTES, Math.floor(capacityBytes / 32)));
}

/**
 * Space new chunks never take, of the capacity and of the file system: the
 * deletion log and compaction (which copies a pack's live records before it
 * frees the pack) need it exactly when the store is full, and without it a
 * full store could never give space back.
 */
export function headroomFor(capacityBytes: number, packTargetBytes: number): number {
  return Math.min(Math.floor(capacityBytes / 4), Math.max(MIN_HEADROOM_BYTES, 2 * packTargetBytes));
}
/** A sealed pack with at least this share of dead bytes is rewritten. */
export const COMPACT_DEAD_RATIO = 0.2;
/** Largest single putBatch; keeps record offsets far inside uint32. */
export const MAX_BATCH_BYTES = 256 * 1024 * 1024;
/** Queued batches written with one fsync stop growing at this size. */
const MAX_GROUP_BYTES = 64 * 1024 * 1024;
const MAX_OPEN_PACKS = 64;
/** Buffers per writev call (below IOV_MAX = 1024). */
const IOV_BATCH = 512;
/** getMany reads records that lie side by side in a pack with one read of at most this many bytes. */
const READ_RUN_BYTES = 1024 * 1024;
/** The deletion log is rewritten once this many entries name packs that are gone. */
const LOG_REWRITE_STALE = 1024;

/** Where a record lives: the offset of its header in a pack. */
interface Loc {
  pack: number;
  offset: number;
  length: number;
}

interface Pack {
  id: number;
  /** Bytes on disk. */
  size: number;
  /** Bytes of indexed records, headers included; size - live is dead. */
  live: number;
  handle: FileHandle | undefined;
  opening: Promise<void> | undefined;
  /** Reads using the handle right now. */
  users: number;
  removed: boolean;
}

interface WriteJob {
  records: StoredChunk[];
  bytes: number;
  /** Seal the active pack before this job is written. */
  rotate: boolean;
  /** Runs once the job's records are durable, before its promise resolves. */
  onDurable(locs: Loc[]): void;
  resolve(): void;
  reject(e: unknown): void;
}

const keyOf = (hash: Buffer): string => hash.toString('latin1');
const hashOf = (key: string): Buffer => Buffer.from(key, 'latin1');
const recordBytes = (length: number): number => HEADER_BYTES + length;

function storageError(e: unknown, what: string): StdchkError {
  if (e instanceof StdchkError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StdchkError('NO_SPACE', `${what}: the file system is full`, { cause: e });
  }
  return new StdchkError('INTERNAL', `${what}: ${errorMessage(e)}`, { cause: e });
}

/** Size of the file system holding `dir` (MAX_SAFE_INTEGER if unknown). */
function fsSizeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.blocks * s.bsize;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * writev until every byte is written (a write may be partial). Synchronous on
 * purpose: it only copies into the page cache (about as long as hashing the
 * same bytes, which is done here too), and two thread-pool hops per commit
 * instead of one cost more than that on a busy machine. The fsync is async.
 */
function writeAll(fd: number, bufs: Buffer[], position: number): void {
  const todo = bufs.slice();
  let i = 0;
  let pos = position;
  while (i < todo.length) {
    const slice = todo.slice(i, i + IOV_BATCH);
    const want = slice.reduce((n, b) => n + b.length, 0);
    const bytesWritten = writevSync(fd, slice, pos);
    pos += bytesWritten;
    if (bytesWritten === want) {
      i += slice.length;
      continue;
    }
    if (bytesWritten === 0) throw new Error('write made no progress');
    let left = bytesWritten;
    while (left > 0) {
      const b = todo[i] as Buffer;
      if (b.length <= left) {
        left -= b.length;
        i++;
      } else {
        todo[i] = b.subarray(left);
        left = 0;
      }
    }
  }
}

/**
 * Chunks appended to pack files (restic's layout), with an in-memory index
 * rebuilt from the record headers at open.
 *
 * Crash safety: a batch is acknowledged only after its records are written
 * and fdatasync'ed. Packs are only appended to and only between commits is a
 * new pack started, so a crash can tear only the newest pack's tail; open
 * verifies that pack's records by hash and cuts it after the last good one.
 * Older packs are trusted at open and every read is verified, so a chunk
 * damaged later is never served: it is reported and dropped.
 *
 * Writes go through one queue: batches arriving while an fsync runs are
 * written together and share the next fsync (group commit).
 */
export class PackChunkStore implements ChunkStore {
  private readonly packsDir: string;
  private readonly logPath: string;
  private readonly capacityBytes: number;
  private readonly packTargetBytes: number;
  private readonly headroomBytes: number;
  private readonly maxGroupBytes: number;
  private readonly logger: Logger;
  private readonly onCorrupt: ((hash: Buffer, detail: string) => void) | undefined;
  private readonly onSync: ((seconds: number) => void) | undefined;

  private readonly index = new Map<string, Loc>();
  private readonly packs = new Map<number, Pack>();
  /** Packs with an open handle, least recently used first. */
  private readonly openPacks = new Map<number, Pack>();
  private active!: Pack;
  /** Chunks written but not yet durable, with the promise of their commit. */
  private readonly pending = new Map<string, Promise<void>>();

  private usedBytes = 0;
  /** fdatasyncs of pack data so far (many batches share one under load). */
  private commits = 0;
  /** Bytes admitted to the write queue but not yet on disk. */
  private reservedBytes = 0;

  private readonly queue: WriteJob[] = [];
  private writing = false;
  private writerDone: Promise<void> = Promise.resolve();
  /** Set when a failed write could not be undone: no more writes until restart. */
  private broken: StdchkError | undefined;

  /** Serialises deletes, compaction and deletion-log appends. */
  private maint: Promise<unknown> = Promise.resolve();
  private logHandle: FileHandle | undefined;
  private logBytes = 0;
  private readonly logEntriesByPack = new Map<number, number>();
  private staleLogEntries = 0;

  private readonly ops = new Set<Promise<unknown>>();
  private readonly closingHandles = new Set<Promise<void>>();
  private closed = false;
  private closePromise: Promise<void> | undefined;

  private constructor(
    private readonly dir: string,
    opts: PackStoreOptions,
    private readonly lock: LockHandle,
  ) {
    this.packsDir = path.join(dir, PACKS_DIR);
    this.logPath = path.join(dir, DELETION_LOG);
    this.capacityBytes = opts.capacityBytes;
    // Sized by what the store can really hold: the capacity, or a smaller file system.
    const size = Math.min(opts.capacityBytes, fsSizeBytes(dir));
    this.packTargetBytes = opts.packTargetBytes ?? defaultPackTarget(size);
    this.headroomBytes = headroomFor(size, this.packTargetBytes);
    // A group lands in one pack: bounded so that any pack's live records fit in the headroom.
    this.maxGroupBytes = Math.min(MAX_GROUP_BYTES, Math.max(this.packTargetBytes, this.headroomBytes));
    this.logger = opts.logger ?? silentLogger;
    this.onCorrupt = opts.onCorrupt;
    this.onSync = opts.onSync;
  }

  /** Opens (or creates) the store in `dir`, taking its lock and rebuilding the index. */
  static async open(dir: string, opts: PackStoreOptions): Promise<PackChunkStore> {
    if (!Number.isSafeInteger(opts.capacityBytes) || opts.capacityBytes <= 0) {
      throw invalid(`chunk store capacity must be a positive number of bytes, not ${opts.capacityBytes}`);
    }
    const created = mkdirSync(path.join(dir, PACKS_DIR), { recursive: true, mode: 0o700 }); // files 0600 (docs/security.md)
    const lock = acquireLock(path.join(dir, LOCK_FILE), `chunk store ${dir}`);
    const store = new PackChunkStore(dir, opts, lock);
    try {
      // New folders' entries must be durable before anything in them is acknowledged.
      if (created !== undefined) {
        await fsyncDir(dir);
        await fsyncDir(path.dirname(path.resolve(dir)));
      }
      await store.load();
    } catch (e) {
      await store.closeFiles();
      lock.release();
      throw storageError(e, `cannot open chunk store ${dir}`);
    }
    // Finish what a crash may have interrupted (a rewritten pack not yet unlinked).
    store
      .maintenance(() => store.compact())
      .catch((e: unknown) => {
        store.logger.error({ err: e }, 'compaction after open failed');
      });
    return store;
  }

  /** How many group commits (one fdatasync each) have written chunks. */
  get commitCount(): number {
    return this.commits;
  }

  has(hash: Buffer): boolean {
    return this.index.has(keyOf(hash));
  }

  sizeOf(hash: Buffer): number | undefined {
    return this.index.get(keyOf(hash))?.length;
  }

  *list(): Iterable<{ hash: Buffer; length: number }> {
    for (const [key, loc] of this.index) yield { hash: hashOf(key), length: loc.length };
  }

  stats(): ChunkStoreStats {
    const left = this.capacityBytes - this.headroomBytes - this.usedBytes - this.reservedBytes;
    const fsLeft = this.fsFreeBytes() - this.headroomBytes - this.reservedBytes;
    return {
      chunks: this.index.size,
      usedBytes: this.usedBytes,
      capacityBytes: this.capacityBytes,
      freeBytes: Math.max(0, Math.min(left, fsLeft)),
    };
  }

  get(hash: Buffer): Promise<Buffer | undefined> {
    return this.track(async () => {
      const key = keyOf(hash);
      // A record moved by compaction while we read it is looked up again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const loc = this.index.get(key);
        if (!loc) return undefined;
        const pack = this.packs.get(loc.pack);
        let problem: string;
        try {
          if (!pack) throw new Error(`pack ${loc.pack} is gone`);
          const rec = await this.readAt(pack, loc.offset, recordBytes(loc.length));
          const bad = checkRecord(rec, hash, loc.length);
          if (bad === undefined) return rec.subarray(HEADER_BYTES);
          problem = bad;
        } catch (e) {
          if (this.index.get(key) !== loc) continue;
          const code = (e as NodeJS.ErrnoException).code;
          if (pack && code !== 'EIO') throw storageError(e, `cannot read pack ${loc.pack}`);
          problem = `read error: ${errorMessage(e)}`;
        }
        if (this.index.get(key) !== loc) continue;
        this.dropCorrupt(key, loc, problem);
        return undefined;
      }
      return undefined;
    });
  }

  /**
   * A file's chunks were stored in order, so a request for them mostly names
   * neighbouring records: one read per run instead of one per chunk (a
   * ReadChunks of 16 KiB chunks spent most of its time in per-read overhead).
   * Every record is still checked; one that is not right goes through get(),
   * which handles moved and corrupt records.
   */
  getMany(hashes: Buffer[]): Promise<(Buffer | undefined)[]> {
    return this.track(async () => {
      const out: (Buffer | undefined)[] = new Array(hashes.length);
      const runs: { pack: number; start: number; end: number; items: { i: number; loc: Loc }[] }[] = [];
      let run: (typeof runs)[number] | undefined;
      hashes.forEach((hash, i) => {
        const loc = this.index.get(keyOf(hash));
        if (!loc) return void (out[i] = undefined);
        const bytes = recordBytes(loc.length);
        if (
          run &&
          run.pack === loc.pack &&
          run.end === loc.offset &&
          run.end + bytes - run.start <= READ_RUN_BYTES
        ) {
          run.end += bytes;
          run.items.push({ i, loc });
          return;
        }
        run = { pack: loc.pack, start: loc.offset, end: loc.offset + bytes, items: [{ i, loc }] };
        runs.push(run);
      });
      await Promise.all(
        runs.map(async (r) => {
          const pack = this.packs.get(r.pack);
          const buf = pack
            ? await this.readAt(pack, r.start, r.end - r.start).catch(() => undefined)
            : undefined;
          await Promise.all(
            r.items.map(async ({ i, loc }) => {
              const hash = hashes[i] as Buffer;
              const from = loc.offset - r.start;
              const rec = buf?.subarray(from, from + recordBytes(loc.length));
              out[i] =
                rec && checkRecord(rec, hash, loc.length) === undefined
                  ? rec.subarray(HEADER_BYTES)
                  : await this.get(hash);
            }),
          );
        }),
      );
      return out;
    });
  }

  putBatch(chunks: StoredChunk[]): Promise<{ stored: number; existing: number }> {
    return this.track(async () => {
      if (this.broken) throw this.broken;
      // Verify everything before anything is queued: a bad chunk stores nothing of the batch.
      for (const c of chunks) {
        if (c.hash.length !== HASH_BYTES)
          throw invalid(`chunk hash must be ${HASH_BYTES} bytes, not ${c.hash.length}`);
        if (c.data.length === 0 || c.data.length > MAX_CHUNK_BYTES) {
          throw invalid(`chunk ${hex(c.hash)}: length ${c.data.length} outside 1..${MAX_CHUNK_BYTES}`);
        }
        if (!hashChunk(c.data).equals(c.hash)) {
          throw new StdchkError('INVALID_ARGUMENT', `chunk ${hex(c.hash)} does not match its hash`);
        }
      }
      const fresh: StoredChunk[] = [];
      const keys: string[] = [];
      const waits: Promise<void>[] = [];
      const seen = new Set<string>();
      let existing = 0;
      let need = 0;
      for (const c of chunks) {
        const key = keyOf(c.hash);
        const inFlight = this.pending.get(key);
        if (this.index.has(key) || seen.has(key)) {
          existing++;
        } else if (inFlight) {
          // Written by a concurrent batch: held once that batch is durable.
          existing++;
          waits.push(inFlight);
        } else {
          seen.add(key);
          fresh.push(c);
          keys.push(key);
          need += recordBytes(c.data.length);
        }
      }
      if (need > MAX_BATCH_BYTES) {
        throw new StdchkError('TOO_LARGE', `batch of ${need} bytes; at most ${MAX_BATCH_BYTES} per call`);
      }
      if (need > 0) {
        this.reserve(need, 'chunk store is full');
        const done = this.submit(fresh, need, false, (locs) => {
          locs.forEach((loc, i) => this.setLoc(keys[i] as string, loc));
        });
        for (const key of keys) this.pending.set(key, done);
        const forget = () => {
          for (const key of keys) if (this.pending.get(key) === done) this.pending.delete(key);
        };
        waits.push(
          done.then(forget, (e: unknown) => {
            forget();
            throw e;
          }),
        );
      }
      await Promise.all(waits);
      return { stored: fresh.length, existing };
    });
  }

  delete(hashes: Buffer[], mayDelete?: (hash: Buffer) => boolean): Promise<number> {
    return this.track(() =>
      this.maintenance(async () => {
        const entries: DeletionEntry[] = [];
        // One synchronous pass: no store can answer "existing" between a check and its unindex.
        for (const hash of hashes) {
          const key = keyOf(hash);
          const loc = this.index.get(key);
          if (!loc || (mayDelete && !mayDelete(hash))) continue;
          this.unindex(key, loc);
          entries.push({ pack: loc.pack, offset: loc.offset, hash: hashOf(key) });
        }
        if (entries.length === 0) return 0;
        await this.appendLog(entries);
        try {
          await this.compact();
        } catch (e) {
          // The deletion itself is durable; the space comes back at the next compaction.
          this.logger.error({ err: e }, 'compaction failed');
        }
        return entries.length;
      }),
    );
  }

  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closed = true;
      await Promise.allSettled([...this.ops]);
      // Maintenance may queue writes and writes may queue maintenance: wait until both are idle.
      for (;;) {
        const maint = this.maint;
        const writer = this.writerDone;
        await maint;
        await writer;
        if (maint === this.maint && writer === this.writerDone) break;
      }
      await this.closeFiles();
      this.lock.release();
    })();
    return this.closePromise;
  }

  // ---- open ----

  private async load(): Promise<void> {
    const ids = readdirSync(this.packsDir)
      .map(parsePackFileName)
      .filter((id): id is number => id !== undefined)
      .sort((a, b) => a - b);
    let damaged: DeletionEntry[] = [];
    for (const [i, id] of ids.entries()) {
      if (i === ids.length - 1) damaged = this.loadNewestPack(id);
      else this.scanPack(id);
    }
    if (ids.length === 0) {
      const fh = await open(this.packPath(1), 'wx+', 0o600);
      await fsyncDir(this.packsDir);
      this.active = this.newPack(1, 0, fh);
    } else {
      const last = this.packs.get(ids[ids.length - 1] as number) as Pack;
      last.handle = await open(this.packPath(last.id), 'r+');
      this.active = last;
    }
    this.touch(this.active);
    const logExisted = this.replayDeletionLog();
    this.logHandle = await open(this.logPath, 'a', 0o600);
    // A new log's directory entry must be durable before deletions rely on it.
    if (!logExisted) await fsyncDir(this.dir);
    for (const p of this.packs.values()) this.usedBytes += p.size;
    this.usedBytes += this.logBytes;
    // Damaged records must stay dropped once this pack is sealed and only its headers are scanned.
    if (damaged.length > 0) await this.appendLog(damaged);
    this.logger.info(
      { dir: this.dir, chunks: this.index.size, packs: this.packs.size, usedBytes: this.usedBytes },
      'chunk store opened',
    );
  }

  private newPack(id: number, size: number, handle?: FileHandle): Pack {
    const pack: Pack = { id, size, live: 0, handle, opening: undefined, users: 0, removed: false };
    this.packs.set(id, pack);
    return pack;
  }

  /** Indexes a sealed pack from its headers; a damaged header ends the scan of that pack. */
  private scanPack(id: number): void {
    const fd = openSync(this.packPath(id), 'r');
    try {
      const size = fstatSync(fd).size;
      this.newPack(id, size);
      const header = Buffer.alloc(HEADER_BYTES);
      let off = 0;
      while (off < size) {
        const n = readSync(fd, header, 0, HEADER_BYTES, off);
        const h = n === HEADER_BYTES ? readHeader(header) : undefined;
        if (!h || off + recordBytes(h.length) > size) {
          // Not a crash artefact (only the newest pack is ever appended to): damage. The
          // records after it are lost here; compaction drops the rest of the pack.
          this.logger.error({ pack: id, offset: off, size }, 'damaged record header: rest of pack skipped');
          break;
        }
        this.setLoc(keyOf(h.hash), { pack: id, offset: off, length: h.length });
        off += recordBytes(h.length);
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The newest pack may end in a torn write (bytes of a commit that never
   * finished its fsync): verify every record and cut the pack after the last
   * good one. A bad record followed by good ones is damage, not a tear: it is
   * dropped and reported, and the good ones after it are kept.
   */
  private loadNewestPack(id: number): DeletionEntry[] {
    const file = this.packPath(id);
    const buf = readFileSync(file);
    const good: { hash: Buffer; loc: Loc }[] = [];
    const bad: { hash: Buffer; loc: Loc }[] = [];
    let off = 0;
    let keep = 0;
    while (off < buf.length) {
      const h = readHeader(buf, off);
      if (!h || off + recordBytes(h.length) > buf.length) break;
      const loc = { pack: id, offset: off, length: h.length };
      off += recordBytes(h.length);
      if (hashChunk(buf.subarray(loc.offset + HEADER_BYTES, off)).equals(h.hash)) {
        good.push({ hash: h.hash, loc });
        keep = off;
      } else bad.push({ hash: h.hash, loc });
    }
    if (keep < buf.length) {
      this.logger.warn(
        { pack: id, keptBytes: keep, droppedBytes: buf.length - keep },
        'dropping torn pack tail',
      );
      const fd = openSync(file, 'r+');
      try {
        ftruncateSync(fd, keep);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    this.newPack(id, keep);
    for (const r of good) this.setLoc(keyOf(r.hash), r.loc);
    const damaged = bad.filter((r) => r.loc.offset < keep);
    for (const r of damaged) {
      const detail = 'data does not match its hash (found at open)';
      this.logger.error({ hash: hex(r.hash), pack: id, offset: r.loc.offset }, 'corrupt chunk dropped');
      this.onCorrupt?.(r.hash, detail);
    }
    return damaged.map((r) => ({ pack: id, offset: r.loc.offset, hash: r.hash }));
  }

  /** Applies the deletion log to the index; false if there is no log yet. */
  private replayDeletionLog(): boolean {
    let buf: Buffer;
    try {
      buf = readFileSync(this.logPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    const whole = buf.length - (buf.length % DELETION_ENTRY_BYTES);
    if (whole !== buf.length) {
      // A torn append: that deletion was never acknowledged.
      const fd = openSync(this.logPath, 'r+');
      try {
        ftruncateSync(fd, whole);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    for (let off = 0; off < whole; off += DELETION_ENTRY_BYTES) {
      const e = decodeDeletion(buf, off);
      this.countLogEntry(e.pack);
      const key = keyOf(e.hash);
      const loc = this.index.get(key);
      // Only that very record: a later copy of the same chunk (re-put after the delete) stays live.
      if (loc && loc.pack === e.pack && loc.offset === e.offset) this.unindex(key, loc);
    }
    this.logBytes = whole;
    return true;
  }

  // ---- index bookkeeping ----

  private setLoc(key: string, loc: Loc): void {
    const prev = this.index.get(key);
    if (prev) this.adjustLive(prev, -1);
    this.index.set(key, loc);
    this.adjustLive(loc, 1);
  }

  private unindex(key: string, loc: Loc): void {
    this.index.delete(key);
    this.adjustLive(loc, -1);
  }

  private adjustLive(loc: Loc, sign: 1 | -1): void {
    const pack = this.packs.get(loc.pack);
    if (pack) pack.live += sign * recordBytes(loc.length);
  }

  private dropCorrupt(key: string, loc: Loc, detail: string): void {
    this.unindex(key, loc);
    const hash = hashOf(key);
    this.logger.error(
      { hash: hex(hash), pack: loc.pack, offset: loc.offset, detail },
      'corrupt chunk dropped',
    );
    this.onCorrupt?.(hash, detail);
    // Persist the drop so a restart does not index the bad record again.
    this.maintenance(() => this.appendLog([{ pack: loc.pack, offset: loc.offset, hash }])).catch(
      (e: unknown) => {
        this.logger.error({ err: e }, 'cannot record a corrupt chunk in the deletion log');
      },
    );
  }

  // ---- capacity ----

  private fsFreeBytes(): number {
    try {
      const s = statfsSync(this.dir);
      return s.bavail * s.bsize;
    } catch {
      return Number.MAX_SAFE_INTEGER;
    }
  }

  /**
   * Admits `bytes` more on disk or throws NO_SPACE; nothing is written for a
   * refused batch. New chunks leave the headroom free; compaction may use it.
   */
  private reserve(bytes: number, what: string, compaction = false): void {
    const headroom = compaction ? 0 : this.headroomBytes;
    const after = this.usedBytes + this.reservedBytes + bytes;
    if (after > this.capacityBytes - headroom) {
      throw new StdchkError(
        'NO_SPACE',
        `${what}: ${bytes} more bytes would exceed its capacity of ${this.capacityBytes} ` +
          `(${this.usedBytes} used, ${headroom} kept free for compaction)`,
      );
    }
    if (this.reservedBytes + bytes > this.fsFreeBytes() - headroom) {
      throw new StdchkError('NO_SPACE', `${what}: the file system under ${this.dir} is full`);
    }
    this.reservedBytes += bytes;
  }

  // ---- writing ----

  private submit(records: StoredChunk[], bytes: number, rotate: boolean, onDurable: (locs: Loc[]) => void) {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, bytes, rotate, onDurable, resolve, reject });
      if (!this.writing) {
        this.writing = true;
        this.writerDone = this.drainQueue();
      }
    });
  }

  private async drainQueue(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group: WriteJob[] = [];
        let bytes = 0;
        while (
          this.queue.length > 0 &&
          (group.length === 0 || bytes + (this.queue[0] as WriteJob).bytes <= this.maxGroupBytes)
        ) {
          const job = this.queue.shift() as WriteJob;
          group.push(job);
          bytes += job.bytes;
        }
        await this.commitGroup(group, bytes);
      }
    } finally {
      this.writing = false;
    }
  }

  /** Writes a group of jobs with one fdatasync; settles every job. Never throws. */
  private async commitGroup(group: WriteJob[], bytes: number): Promise<void> {
    let wroteFrom: number | undefined;
    let target = this.active;
    try {
      if (this.broken) throw this.broken;
      // Packs are only started between commits, so only the newest pack can hold unsynced bytes.
      // Packs stay near the target (compaction's headroom covers one): rotate before overflowing it.
      if (
        group.some((j) => j.rotate) ||
        (bytes > 0 && this.active.size > 0 && this.active.size + bytes > this.packTargetBytes)
      ) {
        await this.rotate();
        target = this.active;
      }
      const handle = target.handle as FileHandle;
      const start = target.size;
      const count = group.reduce((n, j) => n + j.records.length, 0);
      const headers = Buffer.allocUnsafe(count * HEADER_BYTES);
      const bufs: Buffer[] = [];
      const locs: Loc[][] = [];
      let pos = start;
      let h = 0;
      for (const job of group) {
        const jobLocs: Loc[] = [];
        for (const r of job.records) {
          const header = headers.subarray(h * HEADER_BYTES, (h + 1) * HEADER_BYTES);
          writeHeader(header, 0, r.hash, r.data.length);
          bufs.push(header, r.data);
          jobLocs.push({ pack: target.id, offset: pos, length: r.data.length });
          pos += recordBytes(r.data.length);
          h++;
        }
        locs.push(jobLocs);
      }
      if (bufs.length > 0) {
        wroteFrom = start;
        writeAll(handle.fd, bufs, start);
        const syncStart = performance.now();
        await handle.datasync();
        this.onSync?.((performance.now() - syncStart) / 1000);
        this.commits++;
        target.size = pos;
        this.usedBytes += pos - start;
      }
      this.reservedBytes -= bytes;
      group.forEach((job, i) => {
        job.onDurable(locs[i] as Loc[]);
        job.resolve();
      });
    } catch (e) {
      this.reservedBytes -= bytes;
      if (wroteFrom !== undefined) await this.undoWrite(target, wroteFrom);
      const err = storageError(e, 'cannot store chunks');
      this.logger.error({ err: e, jobs: group.length, bytes }, 'chunk write failed');
      for (const job of group) job.reject(err);
    }
  }

  /** Cuts the pack back to its last durable size after a failed write. */
  private async undoWrite(pack: Pack, size: number): Promise<void> {
    try {
      const handle = pack.handle as FileHandle;
      await handle.truncate(size);
      await handle.datasync();
    } catch (e) {
      this.broken = new StdchkError(
        'UNAVAILABLE',
        `chunk store ${this.dir} refuses writes after a failed write`,
        {
          cause: e,
          retryable: false,
        },
      );
      this.logger.error(
        { err: e, pack: pack.id },
        'cannot undo a failed write; the store is read-only until restart',
      );
    }
  }

  /** Seals the active pack and starts the next one (its directory entry made durable first). */
  private async rotate(): Promise<void> {
    const id = this.active.id + 1;
    const file = this.packPath(id);
    const fh = await open(file, 'wx+', 0o600);
    try {
      await fsyncDir(this.packsDir);
    } catch (e) {
      await fh.close();
      await unlink(file).catch(() => undefined);
      throw e;
    }
    this.active = this.newPack(id, 0, fh);
    this.touch(this.active);
    this.evictIdle();
  }

  // ---- deletion log and compaction (under the maintenance lock) ----

  private maintenance<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.maint.then(fn);
    this.maint = run.catch(() => undefined);
    return run;
  }

  private countLogEntry(pack: number): void {
    if (this.packs.has(pack)) this.logEntriesByPack.set(pack, (this.logEntriesByPack.get(pack) ?? 0) + 1);
    else this.staleLogEntries++;
  }

  private async appendLog(entries: DeletionEntry[]): Promise<void> {
    const handle = this.logHandle;
    if (!handle) throw new StdchkError('UNAVAILABLE', 'chunk store is closed');
    const buf = Buffer.concat(entries.map(encodeDeletion));
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await handle.write(buf, done, buf.length - done);
      done += bytesWritten;
    }
    await handle.datasync();
    this.logBytes += buf.length;
    this.usedBytes += buf.length;
    for (const e of entries) this.countLogEntry(e.pack);
  }

  private needsCompaction(p: Pack): boolean {
    if (p.live === 0) return p !== this.active || p.size > 0;
    return p.size - p.live >= COMPACT_DEAD_RATIO * p.size;
  }

  /**
   * Unlinks packs with nothing live and rewrites those with >= 20% dead bytes,
   * so deleted data leaves the disk. The active pack is sealed first when it
   * qualifies. The newest pack is never removed, so pack ids are never reused.
   */
  private async compact(): Promise<void> {
    if (this.closed) return;
    if (this.active.size > 0 && this.needsCompaction(this.active)) {
      await this.submit([], 0, true, () => undefined);
    }
    let removed = 0;
    // Cheapest first: empty packs free space at no cost, which later rewrites may need.
    const candidates = [...this.packs.values()].sort((a, b) => a.live - b.live);
    for (const pack of candidates) {
      if (this.closed) break;
      if (pack === this.active || !this.needsCompaction(pack)) continue;
      if (pack.live > 0 && !(await this.rewrite(pack))) continue;
      await this.removePack(pack);
      removed++;
    }
    if (removed > 0) {
      // Unlinks must be durable before the log forgets those packs' entries.
      await fsyncDir(this.packsDir);
      await this.maybeRewriteLog();
    }
  }

  /** Copies a pack's live records into the active pack; true when nothing live is left in it. */
  private async rewrite(pack: Pack): Promise<boolean> {
    const data = await this.readAt(pack, 0, pack.size);
    const records: StoredChunk[] = [];
    const moved: { key: string; old: Loc }[] = [];
    let bytes = 0;
    const take = (key: string, loc: Loc, rec: Buffer) => {
      const problem = checkRecord(rec, hashOf(key), loc.length);
      if (problem !== undefined) {
        this.dropCorrupt(key, loc, `${problem} (found while compacting)`);
        return;
      }
      records.push({ hash: hashOf(key), data: rec.subarray(HEADER_BYTES) });
      moved.push({ key, old: loc });
      bytes += rec.length;
    };
    let off = 0;
    while (off < data.length) {
      const h = readHeader(data, off);
      if (!h || off + recordBytes(h.length) > data.length) break;
      const key = keyOf(h.hash);
      const loc = this.index.get(key);
      if (loc && loc.pack === pack.id && loc.offset === off) {
        take(key, loc, data.subarray(off, off + recordBytes(h.length)));
      }
      off += recordBytes(h.length);
    }
    if (pack.live !== bytes) {
      // A header damaged since open hides live records from the scan: find them in the index.
      for (const [key, loc] of this.index) {
        if (loc.pack !== pack.id || moved.some((m) => m.old === loc)) continue;
        const end = loc.offset + recordBytes(loc.length);
        if (end <= data.length) take(key, loc, data.subarray(loc.offset, end));
        else this.dropCorrupt(key, loc, 'record runs past the end of its pack');
      }
    }
    if (records.length > 0) {
      try {
        this.reserve(bytes, 'not compacting: chunk store', true);
      } catch (e) {
        this.logger.warn({ pack: pack.id, reason: errorMessage(e) }, 'pack not compacted');
        return false;
      }
      const orphans: DeletionEntry[] = [];
      await this.submit(records, bytes, false, (locs) => {
        locs.forEach((loc, i) => {
          const { key, old } = moved[i] as { key: string; old: Loc };
          if (this.index.get(key) === old) this.setLoc(key, loc);
          else orphans.push({ pack: loc.pack, offset: loc.offset, hash: hashOf(key) });
        });
      });
      // Dropped (found corrupt) while being copied: the copy must not come back at restart.
      if (orphans.length > 0) await this.appendLog(orphans);
    }
    if (pack.live !== 0) {
      this.logger.warn({ pack: pack.id, live: pack.live }, 'pack still holds live records after rewrite');
      return false;
    }
    this.logger.info({ pack: pack.id, size: pack.size, copied: bytes }, 'pack rewritten');
    return true;
  }

  private async removePack(pack: Pack): Promise<void> {
    await unlink(this.packPath(pack.id));
    this.packs.delete(pack.id);
    pack.removed = true;
    this.usedBytes -= pack.size;
    this.staleLogEntries += this.logEntriesByPack.get(pack.id) ?? 0;
    this.logEntriesByPack.delete(pack.id);
    if (pack.users === 0) this.closeHandle(pack);
  }

  /** Drops entries naming packs that are gone, once there are many. */
  private async maybeRewriteLog(): Promise<void> {
    let live = 0;
    for (const n of this.logEntriesByPack.values()) live += n;
    if (this.staleLogEntries < LOG_REWRITE_STALE || this.staleLogEntries < live) return;
    const old = await open(this.logPath, 'r');
    let buf: Buffer;
    try {
      buf = await old.readFile();
    } finally {
      await old.close();
    }
    const keep: Buffer[] = [];
    for (let off = 0; off + DELETION_ENTRY_BYTES <= buf.length; off += DELETION_ENTRY_BYTES) {
      if (this.packs.has(buf.readUInt32LE(off))) keep.push(buf.subarray(off, off + DELETION_ENTRY_BYTES));
    }
    const next = Buffer.concat(keep);
    const tmp = `${this.logPath}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      writeAll(fh.fd, [next], 0);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.logPath);
    await fsyncDir(this.dir);
    await this.logHandle?.close();
    this.logHandle = await open(this.logPath, 'a', 0o600);
    this.usedBytes += next.length - this.logBytes;
    this.logBytes = next.length;
    this.staleLogEntries = 0;
  }

  // ---- reading ----

  private async readAt(pack: Pack, offset: number, length: number): Promise<Buffer> {
    const handle = await this.acquire(pack);
    try {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === length ? buf : buf.subarray(0, got);
    } finally {
      this.release(pack);
    }
  }

  private async acquire(pack: Pack): Promise<FileHandle> {
    pack.users++;
    try {
      if (!pack.handle) {
        pack.opening ??= open(this.packPath(pack.id), 'r').then(
          (fh) => {
            pack.handle = fh;
            pack.opening = undefined;
            this.touch(pack);
            this.evictIdle();
          },
          (e: unknown) => {
            pack.opening = undefined;
            throw e;
          },
        );
        await pack.opening;
      }
      this.touch(pack);
      // Handles are closed only while no reader uses them, and we count as one.
      if (!pack.handle) throw new Error(`pack ${pack.id} has no open handle`);
      return pack.handle;
    } catch (e) {
      this.release(pack);
      throw e;
    }
  }

  private release(pack: Pack): void {
    pack.users--;
    if (pack.users === 0 && pack.removed) this.closeHandle(pack);
  }

  private touch(pack: Pack): void {
    this.openPacks.delete(pack.id);
    if (pack.handle) this.openPacks.set(pack.id, pack);
  }

  private evictIdle(): void {
    for (const p of this.openPacks.values()) {
      if (this.openPacks.size <= MAX_OPEN_PACKS) return;
      if (p.users === 0 && p !== this.active) this.closeHandle(p);
    }
  }

  private closeHandle(pack: Pack): void {
    const fh = pack.handle;
    this.openPacks.delete(pack.id);
    if (!fh) return;
    pack.handle = undefined;
    const p = fh
      .close()
      .catch((e: unknown) => this.logger.warn({ err: e, pack: pack.id }, 'closing pack failed'));
    this.closingHandles.add(p);
    void p.finally(() => this.closingHandles.delete(p));
  }

  private async closeFiles(): Promise<void> {
    for (const pack of this.packs.values()) this.closeHandle(pack);
    await Promise.allSettled([...this.closingHandles]);
    await this.logHandle?.close().catch(() => undefined);
    this.logHandle = undefined;
  }

  // ---- misc ----

  private packPath(id: number): string {
    return path.join(this.packsDir, packFileName(id));
  }

  /** Runs a public operation unless closed; close() waits for the ones running. */
  private track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(new StdchkError('UNAVAILABLE', `chunk store ${this.dir} is closed`));
    const p = fn();
    this.ops.add(p);
    const forget = () => this.ops.delete(p);
    p.then(forget, forget);
    return p;
  }
}

/** Why a record read from disk is not the chunk it should be, or undefined if it is. */
function checkRecord(rec: Buffer, hash: Buffer, length: number): string | undefined {
  if (rec.length !== recordBytes(length)) return `short read (${rec.length} of ${recordBytes(length)} bytes)`;
  const h = readHeader(rec);
  if (!h || h.length !== length || !h.hash.equals(hash)) return 'record header does not match the index';
  if (!hashChunk(rec.subarray(HEADER_BYTES)).equals(hash)) return 'data does not match its hash';
  return undefined;
}
