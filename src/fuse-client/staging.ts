import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { StdchkError, errorMessage, isStdchkError } from '../errors/index.ts';
import { checkSafeParent, ownPrivateDir } from '../config/private-files.ts';
import type { Logger } from '../logging/index.ts';
import { REF_BYTES, decodeRefs } from '../chunking/refs.ts';
import type { FileInfo__Output } from '../generated/stdchk/v1/FileInfo.ts';
import type { WriteStats } from '../client/writer.ts';
import { PinnedVersion } from './pinned-version.ts';
import { isMountProcess } from './chunk-cache.ts';
import type { OutstandingWrite, WriteFailure } from './write-registry.ts';
import { isAtOrUnder } from './write-registry.ts';

/**
 * The write-back mount's staging journal (`stdchk mount --staging DIR`):
 * file versions whose close() returned, kept on local disk until they are
 * uploaded and committed. Layout:
 *
 *   DIR/lock                 pid of the mount using it (one mount per folder)
 *   DIR/data/<name>          bytes written through the mount (immutable once
 *                            a version that uses them is sealed)
 *   DIR/journal/<seq>.json   one sealed version: its path, attributes and
 *                            content as segments (chunks already stored,
 *                            and/or data files), written to a temporary
 *                            name and renamed, so a manifest is whole or
 *                            absent
 *   DIR/failures.json        files whose upload or commit failed (what the
 *                            folder barrier reports), kept across restarts
 *
 * Nothing is fsynced at close(): a crash of the mount process (kill -9)
 * loses nothing a close() returned for (the kernel still has the bytes); a
 * power loss can lose what was not fsynced, as on a local file system.
 * fsync() and the folder barrier are the durability points: they wait until
 * the version is committed on its replicas.
 */

const FORMAT = 1;
const READ_PIECE = 4 * 1024 * 1024;
/** Appends gathered in memory before one write to the data file. */
const GATHER_BYTES = 1024 * 1024;

/** A file of the staging area's data folder; deleted once nothing uses it. */
export class StagedData {
  private users = 0;
  private fd: Promise<FileHandle> | undefined;
  /** Bytes written to it so far (what it occupies in the staging area). */
  size: number;

  constructor(
    private readonly staging: Staging,
    readonly name: string,
    size: number,
    fd?: FileHandle,
  ) {
    this.size = size;
    if (fd) this.fd = Promise.resolve(fd);
  }

  /** Closes the descriptor (reopened on the next read): a sealed file may wait long for its upload. */
  async closeFd(): Promise<void> {
    await this.flush();
    this.gather = undefined;
    if (this.busy > 0) return; // an operation under way keeps it; it is closed with the file
    const fd = this.fd;
    this.fd = undefined;
    await fd?.then((h) => h.close()).catch(() => undefined);
  }

  /** Operations using the descriptor now. */
  private busy = 0;
  /** Appended bytes not written to the file yet (they end the file: gatherAt + gathered = size). */
  private gather: Buffer | undefined;
  private gathered = 0;
  private gatherAt = 0;

  private async use<T>(fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    this.busy++;
    try {
      this.fd ??= open(this.file, 'r+');
      this.fd.catch(() => (this.fd = undefined));
      return await fn(await this.fd);
    } finally {
      this.busy--;
    }
  }

  get file(): string {
    return this.staging.dataPath(this.name);
  }

  retain(): this {
    this.users++;
    return this;
  }

  /** Drops one user; the last one deletes the file. */
  async release(): Promise<void> {
    if (--this.users > 0) return;
    const fd = this.fd;
    this.fd = undefined;
    await fd?.then((h) => h.close()).catch(() => undefined);
    await this.staging.deleteData(this);
  }

  /**
   * Writes `data` at `position`. Appends are gathered in memory (up to 1 MiB)
   * and written in one go: a writer of 4 KiB pieces costs a copy per write,
   * not a system call. Everything that reads the file, and sealing, flushes
   * first (flush()).
   */
  async write(data: Buffer, position: number): Promise<void> {
    if (position === this.size && data.length < GATHER_BYTES) {
      if (this.gathered > 0 && this.gathered + data.length > GATHER_BYTES) await this.flush();
      if (this.gathered === 0) this.gatherAt = position;
      this.gather ??= Buffer.allocUnsafe(GATHER_BYTES);
      data.copy(this.gather, this.gathered);
      this.gathered += data.length;
      this.resize(position + data.length);
      return;
    }
    await this.flush();
    await this.pwrite(data, position);
    this.resize(Math.max(this.size, position + data.length));
  }

  private async pwrite(data: Buffer, position: number): Promise<void> {
    await this.use(async (fh) => {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
    });
  }

  /** Writes what appends gathered in memory to the file. */
  async flush(): Promise<void> {
    if (this.gathered === 0) return;
    const n = this.gathered;
    const at = this.gatherAt;
    this.gathered = 0;
    await this.pwrite((this.gather as Buffer).subarray(0, n), at);
  }

  async truncate(size: number): Promise<void> {
    await this.flush();
    await this.use((fh) => fh.truncate(size));
    this.resize(size);
  }

  private resize(size: number): void {
    this.staging.account(size - this.size);
    this.size = size;
  }

  /** Bytes [position, position + length), zeros past the end of what was written. */
  async read(position: number, length: number): Promise<Buffer> {
    await this.flush();
    // Not zero-filled first: every byte is read or filled below (a fresh buffer each time:
    // the writer hands it to its chunker thread).
    const buf = Buffer.allocUnsafeSlow(length);
    await this.use(async (fh) => {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      if (done < length) buf.fill(0, done);
    });
    return buf;
  }

  /** The first `bytes` bytes in pieces of a few MiB. */
  async *stream(bytes: number, piece = READ_PIECE): AsyncGenerator<Buffer> {
    for (let pos = 0; pos < bytes; pos += piece) yield await this.read(pos, Math.min(piece, bytes - pos));
  }
}

/** A piece of a file's content: chunks already stored (by reference), or bytes of a data file. */
export type Segment =
  { kind: 'refs'; version: PinnedVersion; bytes: number } | { kind: 'file'; data: StagedData; bytes: number };

export function segmentsBytes(segments: readonly Segment[]): number {
  return segments.reduce((n, s) => n + s.bytes, 0);
}

/** What a sealed version is committed with. */
export interface EntryAttrs {
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  /** Give an existing file this mode and owner too (a chmod/chown after the file was staged). */
  setOwner: boolean;
}

export interface EntrySpec extends EntryAttrs {
  path: string;
  segments: Segment[];
  replicas: number;
  /** Created by this mount: the manager may not know the file before this version commits. */
  created: boolean;
  /** The file's inode number (for a file created here: the one reserved, kept by the commit; 0: none). */
  inode: number;
  /** Bytes reserved at the manager for this version's data (given back once uploaded). */
  reservedBytes: number;
}

/**
 * Where a sealed version is:
 * - staged: in the journal, waiting for the uploader;
 * - uploading: its chunks are being stored;
 * - uploaded: every chunk is on its replicas; waiting for its turn to commit;
 * - committing: its CommitVersions request is out (it can no longer be changed or cancelled);
 * - committed / superseded (a later version of the same file committed instead) /
 *   cancelled (the file was unlinked first) / failed: done, out of the journal.
 */
export type EntryState =
  'staged' | 'uploading' | 'uploaded' | 'committing' | 'committed' | 'superseded' | 'cancelled' | 'failed';

const DONE: ReadonlySet<EntryState> = new Set(['committed', 'superseded', 'cancelled', 'failed']);

/** One sealed file version of the journal; an outstanding write of the folder barrier until done. */
export class StagedEntry implements OutstandingWrite {
  state: EntryState = 'staged';
  path: string;
  attrs: EntryAttrs;
  reservedBytes: number;
  /** Why its last attempt failed (transient failures are retried; `state` says which). */
  error: unknown;
  /** Not before this time (ms) after a transient failure. */
  retryAt = 0;
  attempts = 0;
  /** The version that made this one unnecessary (superseded), or whose commit it waits for. */
  next: StagedEntry | undefined;
  /** What its upload stored (set once uploaded). */
  stats: WriteStats | undefined;
  /** When it was sealed (ms; at replay: when the mount started). */
  readonly sealedAt = Date.now();
  info: FileInfo__Output | undefined;
  private waiters: { resolve(): void; reject(e: unknown): void }[] = [];

  constructor(
    readonly staging: Staging,
    readonly seq: number,
    spec: EntrySpec,
  ) {
    this.path = spec.path;
    this.segments = spec.segments;
    this.size = segmentsBytes(spec.segments);
    this.replicas = spec.replicas;
    this.created = spec.created;
    this.inode = spec.inode;
    this.reservedBytes = spec.reservedBytes;
    this.attrs = {
      mode: spec.mode,
      uid: spec.uid,
      gid: spec.gid,
      mtimeMs: spec.mtimeMs,
      setOwner: spec.setOwner,
    };
  }

  readonly segments: Segment[];
  readonly size: number;
  readonly replicas: number;
  readonly created: boolean;
  readonly inode: number;

  get done(): boolean {
    return DONE.has(this.state);
  }

  /** Someone (fsync, the folder barrier) waits for it. */
  get waited(): boolean {
    return this.waiters.length > 0;
  }

  /** Can attributes still change what is committed (the request is not out yet)? */
  get mutable(): boolean {
    return this.state === 'staged' || this.state === 'uploading' || this.state === 'uploaded';
  }

  /**
   * OutstandingWrite: resolves once this version (or a later one of the same
   * file) is committed on its replicas; rejects if it failed, was cancelled,
   * or if an attempt fails while waiting (it may still be retried later).
   */
  async sync(): Promise<void> {
    for (;;) {
      switch (this.state) {
        case 'committed':
          return;
        case 'superseded':
          if (this.next) return this.next.sync();
          return;
        case 'cancelled':
          return;
        case 'failed':
          throw this.error;
        default:
          this.staging.hurry(this);
          await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
      }
    }
  }

  /** Wakes everyone waiting in sync(): done, or an attempt failed (`error`). */
  settle(error?: unknown): void {
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) {
      if (error !== undefined) x.reject(error);
      else x.resolve();
    }
  }

  /** FileInfo of this version as getattr shows it until it is committed. */
  fileInfo(): FileInfo__Output {
    const name = this.path.slice(this.path.lastIndexOf('/') + 1);
    return {
      path: this.path,
      name,
      type: 'FILE',
      inode: this.inode,
      size: this.size,
      mode: this.attrs.mode & 0o7777,
      uid: this.attrs.uid,
      gid: this.attrs.gid,
      atimeMs: this.attrs.mtimeMs,
      mtimeMs: this.attrs.mtimeMs,
      ctimeMs: this.attrs.mtimeMs,
      version: 0,
      nlink: 1,
      target: '',
      replicas: this.replicas,
      chunks: 0,
      rdev: 0,
    };
  }
}

interface Manifest {
  format: number;
  seq: number;
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  setOwner: boolean;
  replicas: number;
  created: boolean;
  /** Absent in manifests of before inode reservations: 0. */
  inode?: number;
  segments: ({ refs: string; bytes: number } | { file: string; bytes: number })[];
}

export interface StagingOptions {
  /** Most bytes of data files (staged versions and files being written); more makes writers wait. */
  capacityBytes: number;
  logger: Logger;
}

/** Lets the uploader know about new work (set by the uploader). */
export interface StagingListener {
  added(e: StagedEntry): void;
  hurry(e: StagedEntry): void;
  freed(): void;
}

/**
 * The journal in memory and on disk: sealed versions in seal order (`queue`),
 * the data files and the space they take. The uploader (uploader.ts) takes
 * versions from the queue; the VFS asks it what is staged at a path.
 */
export class Staging {
  /** Versions not done yet, in seal order. */
  readonly queue: StagedEntry[] = [];
  private nextSeq = 1;
  private usedBytes = 0;
  private readonly data = new Map<string, StagedData>();
  listener: StagingListener | undefined;
  private failuresWrite: Promise<void> = Promise.resolve();
  /** Failure records found at start (the registry takes them). */
  restoredFailures: WriteFailure[] = [];
  /** Manifests found at start that could not be used (power loss before they were complete). */
  dropped = 0;

  private constructor(
    readonly dir: string,
    readonly opts: StagingOptions,
  ) {}

  /**
   * Opens (or creates) the staging folder: takes its lock, replays the
   * journal left by an earlier mount (kill -9, crash) into the queue, and
   * removes data files no version uses (files being written when it died).
   */
  static async open(dir: string, opts: StagingOptions): Promise<Staging> {
    const s = new Staging(path.resolve(dir), opts);
    // Staged checkpoint data is as private as the checkpoints: a folder of ours, 0700, whose
    // parent no one else can rename things in (the default is under the shared /var/tmp).
    try {
      checkSafeParent(path.dirname(s.dir));
      ownPrivateDir(s.dir);
    } catch (e) {
      if (!isStdchkError(e, 'PERMISSION_DENIED')) throw e;
      throw new StdchkError('INVALID_ARGUMENT', `staging folder refused: ${e.message}`);
    }
    await mkdir(path.join(s.dir, 'data'), { recursive: true, mode: 0o700 });
    await mkdir(path.join(s.dir, 'journal'), { recursive: true, mode: 0o700 });
    await lockStaging(s.dir);
    await s.replay();
    return s;
  }

  dataPath(name: string): string {
    return path.join(this.dir, 'data', name);
  }

  private manifestPath(seq: number): string {
    return path.join(this.dir, 'journal', `${String(seq).padStart(12, '0')}.json`);
  }

  /** Bytes the data files take (staged versions not uploaded yet, files being written). */
  get used(): number {
    return this.usedBytes;
  }

  get capacity(): number {
    return this.opts.capacityBytes;
  }

  /** Versions not done yet. */
  get pending(): number {
    return this.queue.length;
  }

  account(delta: number): void {
    this.usedBytes += delta;
    if (delta < 0) this.listener?.freed();
  }

  /** A new, empty data file (for a file being written). */
  async newData(): Promise<StagedData> {
    const name = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const fh = await open(this.dataPath(name), 'wx+', 0o600);
    const d = new StagedData(this, name, 0, fh);
    this.data.set(name, d);
    return d.retain();
  }

  async deleteData(d: StagedData): Promise<void> {
    if (this.data.get(d.name) !== d) return;
    this.data.delete(d.name);
    this.account(-d.size);
    await rm(d.file, { force: true });
  }

  /**
   * Seals a version: writes its manifest (the point after which a crash of
   * the mount no longer loses it) and queues it for upload. The entry takes
   * its own reference to every data file of `spec.segments`.
   */
  async seal(spec: EntrySpec): Promise<StagedEntry> {
    // An owner change staged with an earlier version still applies (this one's attributes are newer).
    const setOwner = spec.setOwner || this.latest(spec.path)?.attrs.setOwner === true;
    const e = new StagedEntry(this, this.nextSeq++, { ...spec, setOwner });
    for (const s of e.segments) if (s.kind === 'file') s.data.retain();
    try {
      await this.writeManifest(e);
    } catch (err) {
      for (const s of e.segments) if (s.kind === 'file') await s.data.release();
      throw new StdchkError(
        'INTERNAL',
        `cannot write to the staging folder ${this.dir}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    this.queue.push(e);
    this.listener?.added(e);
    return e;
  }

  private async writeManifest(e: StagedEntry): Promise<void> {
    const m: Manifest = {
      format: FORMAT,
      seq: e.seq,
      path: e.path,
      ...e.attrs,
      replicas: e.replicas,
      created: e.created,
      inode: e.inode,
      segments: e.segments.map((s) =>
        s.kind === 'refs'
          ? { refs: s.version.packedRefs.toString('base64'), bytes: s.bytes }
          : { file: s.data.name, bytes: s.bytes },
      ),
    };
    const file = this.manifestPath(e.seq);
    await writeFile(`${file}.tmp`, JSON.stringify(m));
    await rename(`${file}.tmp`, file);
  }

  /** Attributes changed before the version was committed: the manifest says so too. */
  async updateAttrs(e: StagedEntry, attrs: Partial<EntryAttrs>): Promise<void> {
    e.attrs = { ...e.attrs, ...attrs };
    if (!e.done) await this.writeManifest(e);
  }

  /** The version is done (committed, superseded, cancelled, failed): out of the journal. */
  async finish(e: StagedEntry, state: 'committed' | 'superseded' | 'cancelled' | 'failed'): Promise<void> {
    if (e.done) return;
    e.state = state;
    const i = this.queue.indexOf(e);
    if (i >= 0) this.queue.splice(i, 1);
    await rm(this.manifestPath(e.seq), { force: true });
    for (const s of e.segments) if (s.kind === 'file') await s.data.release();
  }

  /** Asks the uploader to do `e` (and what it waits for) now. */
  hurry(e: StagedEntry): void {
    this.listener?.hurry(e);
  }

  /** The newest version of `p` not done yet. */
  latest(p: string): StagedEntry | undefined {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const e = this.queue[i] as StagedEntry;
      if (e.path === p) return e;
    }
    return undefined;
  }

  /** Versions not done at or beneath `dir`. */
  under(dir: string): StagedEntry[] {
    return this.queue.filter((e) => isAtOrUnder(e.path, dir));
  }

  /** Versions not done of files directly in folder `dir`, newest per name. */
  childrenOf(dir: string): Map<string, StagedEntry> {
    const prefix = dir === '/' ? '/' : dir + '/';
    const out = new Map<string, StagedEntry>();
    for (const e of this.queue) {
      if (!e.path.startsWith(prefix)) continue;
      const name = e.path.slice(prefix.length);
      if (!name.includes('/')) out.set(name, e);
    }
    return out;
  }

  /** Keeps the failure records across restarts (written in the background, in order). */
  saveFailures(failures: WriteFailure[]): void {
    const text = JSON.stringify(failures);
    const file = path.join(this.dir, 'failures.json');
    this.failuresWrite = this.failuresWrite
      .then(async () => {
        await writeFile(`${file}.tmp`, text);
        await rename(`${file}.tmp`, file);
      })
      .catch((e: unknown) =>
        this.opts.logger.warn({ err: errorMessage(e) }, 'cannot save failure records in the staging folder'),
      );
  }

  private async replay(): Promise<void> {
    const failures = await readFile(path.join(this.dir, 'failures.json'), 'utf8').catch(() => '[]');
    try {
      const list = JSON.parse(failures) as unknown;
      if (Array.isArray(list)) {
        this.restoredFailures = list.filter(
          (f): f is WriteFailure =>
            typeof f === 'object' &&
            f !== null &&
            typeof (f as WriteFailure).path === 'string' &&
            typeof (f as WriteFailure).error === 'string' &&
            typeof (f as WriteFailure).at === 'number',
        );
      }
    } catch {
      this.opts.logger.warn({ dir: this.dir }, 'failures.json unreadable: earlier failures forgotten');
    }
    const names = (await readdir(path.join(this.dir, 'journal'))).sort();
    const sizes = new Map<string, number>();
    for (const n of await readdir(path.join(this.dir, 'data'))) {
      sizes.set(n, (await stat(this.dataPath(n))).size);
    }
    let bytes = 0;
    for (const n of names) {
      const file = path.join(this.dir, 'journal', n);
      if (!/^\d{12}\.json$/.test(n)) {
        await rm(file, { force: true }); // a manifest being written when the mount died
        continue;
      }
      let m: Manifest;
      try {
        m = parseManifest(JSON.parse(await readFile(file, 'utf8')));
        for (const s of m.segments) {
          if ('file' in s && (sizes.get(s.file) ?? -1) < s.bytes)
            throw new Error(`data file ${s.file} is shorter than recorded`);
        }
      } catch (e) {
        // Possible after a power loss (nothing is fsynced at close): never commit a damaged version.
        this.dropped++;
        this.opts.logger.error(
          { manifest: n, err: errorMessage(e) },
          'staged version unusable (not fsynced before a crash of the host?): dropped',
        );
        await rm(file, { force: true });
        continue;
      }
      const segments: Segment[] = m.segments.map((s) => {
        if ('file' in s) {
          let d = this.data.get(s.file);
          if (!d) {
            d = new StagedData(this, s.file, sizes.get(s.file) ?? 0);
            this.data.set(s.file, d);
            this.usedBytes += d.size;
          }
          return { kind: 'file', data: d, bytes: s.bytes };
        }
        const refs = Buffer.from(s.refs, 'base64');
        return { kind: 'refs', version: refsVersion(m.path, refs), bytes: s.bytes };
      });
      const e = new StagedEntry(this, m.seq, {
        path: m.path,
        segments,
        replicas: m.replicas,
        created: m.created,
        inode: m.inode ?? 0,
        reservedBytes: 0,
        mode: m.mode,
        uid: m.uid,
        gid: m.gid,
        mtimeMs: m.mtimeMs,
        setOwner: m.setOwner,
      });
      for (const s of segments) if (s.kind === 'file') s.data.retain();
      this.queue.push(e);
      this.nextSeq = Math.max(this.nextSeq, m.seq + 1);
      bytes += e.size;
    }
    // Data files no sealed version uses: files being written when the mount died.
    let orphans = 0;
    for (const n of sizes.keys()) {
      if (this.data.has(n)) continue;
      orphans++;
      await rm(this.dataPath(n), { force: true });
    }
    if (this.queue.length || orphans || this.dropped) {
      this.opts.logger.info(
        {
          dir: this.dir,
          versions: this.queue.length,
          bytes,
          unsealedFilesRemoved: orphans,
          dropped: this.dropped,
        },
        'staging journal replayed: uploading what an earlier mount staged',
      );
    }
  }
}

/** The chunk list of a refs segment, as a version the reader understands (no lease). */
export function refsVersion(p: string, refs: Buffer): PinnedVersion {
  if (refs.length % REF_BYTES !== 0) throw new StdchkError('CORRUPT', `${p}: malformed chunk list`);
  decodeRefs(refs); // validates every length
  return PinnedVersion.fromRefs(
    {
      path: p,
      name: p.slice(p.lastIndexOf('/') + 1),
      type: 'FILE',
      inode: 0,
      size: 0,
      mode: 0o644,
      uid: 0,
      gid: 0,
      atimeMs: 0,
      mtimeMs: 0,
      ctimeMs: 0,
      version: 0,
      nlink: 1,
      target: '',
      replicas: 0,
      rdev: 0,
      chunks: 0,
    },
    decodeRefs(refs),
  );
}

function parseManifest(v: unknown): Manifest {
  const m = v as Manifest;
  const int = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (
    typeof m !== 'object' ||
    m === null ||
    m.format !== FORMAT ||
    !int(m.seq) ||
    typeof m.path !== 'string' ||
    !m.path.startsWith('/') ||
    !int(m.mode) ||
    !int(m.uid) ||
    !int(m.gid) ||
    !int(m.mtimeMs) ||
    !int(m.replicas) ||
    !Array.isArray(m.segments)
  ) {
    throw new Error('malformed manifest');
  }
  for (const s of m.segments) {
    if (!int(s.bytes)) throw new Error('malformed segment');
    if ('file' in s ? !/^[0-9a-z-]+$/.test(s.file) : typeof (s as { refs: unknown }).refs !== 'string') {
      throw new Error('malformed segment');
    }
  }
  return {
    ...m,
    setOwner: m.setOwner === true,
    created: m.created === true,
    inode: int(m.inode) ? (m.inode as number) : 0,
  };
}

/** One mount per staging folder: a lock file with the owner's pid (stale if that pid is gone). */
async function lockStaging(dir: string): Promise<void> {
  const lock = path.join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && isMountProcess(pid)) {
        throw new StdchkError('INVALID_ARGUMENT', `staging folder ${dir} is in use by process ${pid}`);
      }
      await rm(lock, { force: true });
    }
  }
  throw new StdchkError('INVALID_ARGUMENT', `cannot lock staging folder ${dir}`);
}

/** Gives the staging folder's lock back (at unmount). */
export async function unlockStaging(s: Staging): Promise<void> {
  await rm(path.join(s.dir, 'lock'), { force: true });
}
