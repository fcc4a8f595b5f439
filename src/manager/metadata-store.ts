import { StdchkError, isStdchkError, notFound, invalid } from '../errors/index.ts';
import { silentLogger } from '../logging/index.ts';
import { splitPath } from '../config/paths.ts';
import { HASH_BYTES } from '../hashing/index.ts';
import { REF_BYTES } from '../chunking/refs.ts';
import type { KeyValueStore } from './kv.ts';
import {
  Namespace,
  ROOT_INO,
  SPECIAL_TYPES,
  alreadyExists,
  components,
  isADirectory,
  namesOf,
  notADirectory,
  withNames,
} from './namespace.ts';
import type { Inode, NodeType, SpecialType } from './namespace.ts';
import {
  FORMATS,
  FORMAT_VERSION,
  KEYS,
  LATEST_FORMAT,
  decodeBenefactor,
  decodeChunk,
  decodeDeleteBound,
  decodeInode,
  decodeVersion,
  encodeInode,
  encodeVersion,
  needsFormat2,
  parseVersionKey,
} from './records.ts';
import type { VersionRecord } from './records.ts';
import { DEFAULT_COMMAND_LIMITS } from './commands.ts';
import { DEFAULT_DELETE_RETAIN_MS } from './delete-ledger.ts';
import type { RepairSummary } from './repair.ts';
import { collectGarbage } from './gc.ts';
import { LeaseTable } from './leases.ts';
import type { VersionId } from './leases.ts';
import { StoreContext } from './context.ts';
import type { StoreSettings } from './context.ts';
import { Txn } from './txn.ts';
import { ChunkOps } from './chunk-ops.ts';
import { Membership } from './membership.ts';
import { InventoryReconciler } from './inventory.ts';
import { checkPackedRefs, hashView, isZeroAt, refLength, totalPackedLength } from './packed.ts';
import { MAX_REPLICAS, MAX_RESERVED_INODES } from './types.ts';
import {
  MAX_BATCH_BYTES,
  MAX_RESERVATION_TTL_MS,
  MIN_BATCH_BYTES,
  MIN_RESERVATION_TTL_MS,
  PLACEMENT_GRANULE_BYTES,
  Reservations,
} from './reservations.ts';
import type { ReserveOutcome } from './reservations.ts';
import type {
  AttrChanges,
  BenefactorAddress,
  ChunkInfo,
  CommitInput,
  CommitOutcome,
  CreateOptions,
  HeartbeatInput,
  HeartbeatResult,
  InventoryResult,
  InventorySession,
  LocateResult,
  MetadataStoreOptions,
  MkdirOptions,
  MknodOptions,
  NodeInfo,
  OpenedVersion,
  Ownership,
  PrepareResult,
  RegisterInput,
  RemoveOptions,
  StatusInfo,
  StoredReport,
} from './types.ts';
import { AdminOps } from './admin.ts';

export * from './types.ts';

/** The uid/gid of options that may carry them, without undefined fields. */
function ownerOf(o: Ownership): Ownership {
  return { ...(o.uid !== undefined ? { uid: o.uid } : {}), ...(o.gid !== undefined ? { gid: o.gid } : {}) };
}

/** A commit checked and ready to stage. */
interface CommitPlan {
  input: CommitInput;
  refs: Buffer;
  dir: Inode;
  name: string;
  node: Inode | undefined;
  /** Index ids of the distinct chunks it references. */
  unique: Set<number>;
}

/** The checks of a commit that need no state: refs, replicas, size; returns the refs as a Buffer. */
function checkCommitInput(input: CommitInput): Buffer {
  const refs = Buffer.from(input.refs.buffer, input.refs.byteOffset, input.refs.byteLength);
  checkPackedRefs(refs);
  if (!(input.replicas >= 1 && input.replicas <= MAX_REPLICAS)) {
    throw invalid(`replicas must be 1 to ${MAX_REPLICAS}, not ${input.replicas}`);
  }
  const total = totalPackedLength(refs);
  if (input.size !== total) {
    throw invalid(`size ${input.size} does not match the chunks' total length ${total}`);
  }
  return refs;
}

/** Open reader leases at most (each is a few hundred bytes of memory). */
const MAX_LEASES = 1_000_000;
const UNRECOVERABLE_LOG_EVERY_MS = 60_000;
const DEFAULT_UPLOAD_GRACE_MS = 3_600_000;
const DEFAULT_MODE: Record<NodeType, number> = {
  file: 0o644,
  directory: 0o755,
  symlink: 0o777,
  fifo: 0o644,
  socket: 0o755,
  'char-device': 0o644,
  'block-device': 0o644,
};
/** Names one inode may have (ext4 allows 65,000; every name is in the inode's record). */
export const MAX_LINKS = 1000;
const S_ISGID = 0o2000;

/**
 * The manager's domain logic: namespace, versions, leases, chunk index,
 * benefactor registry, placement, repair and GC. No gRPC here.
 *
 * Every mutation runs on one serial queue; a mutation stages its changes,
 * commits them in one atomic LevelDB batch (synced at commit points) and only
 * then applies them to memory, so readers never see uncommitted state and a
 * failed write changes nothing. Reads (Stat, PrepareChunks, LocateChunks...)
 * are answered from memory without queueing. Location updates (ReportStored,
 * inventories, corrupt reports) and GC are queued too but not synced: the
 * next reconciliation repairs what a crash loses.
 *
 * This class is the public face and holds the namespace and versions; the
 * chunk side lives in chunk-ops.ts, membership.ts, inventory.ts, gc.ts and
 * repair.ts, over the shared state in context.ts.
 */
export class MetadataStore {
  private readonly ctx: StoreContext;
  private readonly ns = new Namespace();
  private readonly leases = new LeaseTable();
  private readonly chunks: ChunkOps;
  private readonly membership: Membership;
  private readonly inventory: InventoryReconciler;
  private readonly reservations = new Reservations();
  private nextInode = ROOT_INO + 1;
  /** The database's format (records.ts FORMATS): raised to 2 by the first inode that needs it. */
  private format: string = FORMAT_VERSION;
  private lastUnrecoverableLog = 0;
  private adminOps: AdminOps | undefined;

  private constructor(kv: KeyValueStore, opts: MetadataStoreOptions) {
    this.ctx = new StoreContext(
      kv,
      {
        heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 10_000,
        heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 1_000,
        gcGraceMs: opts.gcGraceMs ?? 60_000,
        uploadGraceMs: opts.uploadGraceMs ?? Math.max(opts.gcGraceMs ?? 60_000, DEFAULT_UPLOAD_GRACE_MS),
        leaseTtlMs: opts.leaseTtlMs ?? 60_000,
        reconcileIntervalMs: opts.reconcileIntervalMs ?? 300_000,
        repairRetryMs: opts.repairRetryMs ?? 30_000,
        commandLimits: opts.commandLimits ?? DEFAULT_COMMAND_LIMITS,
        deleteRetainMs: opts.deleteRetainMs ?? DEFAULT_DELETE_RETAIN_MS,
      },
      opts.logger ?? silentLogger,
      opts.clock ?? Date.now,
      opts.random ?? Math.random,
    );
    this.chunks = new ChunkOps(this.ctx);
    this.membership = new Membership(this.ctx);
    this.inventory = new InventoryReconciler(this.ctx);
  }

  /** The effective settings (defaults filled in). */
  get settings(): Readonly<StoreSettings> {
    return this.ctx.settings;
  }

  /** Loads everything from `kv` (creating the root on a new database). The store owns `kv`. */
  static async open(kv: KeyValueStore, opts: MetadataStoreOptions = {}): Promise<MetadataStore> {
    const store = new MetadataStore(kv, opts);
    try {
      await store.load();
    } catch (e) {
      await kv.close().catch(() => undefined);
      throw e;
    }
    return store;
  }

  /** Waits for queued mutations, then closes the database. */
  async close(): Promise<void> {
    if (this.ctx.closed) return;
    this.ctx.closed = true;
    await this.ctx.queue.drain();
    await this.ctx.kv.close();
  }

  // ---------------------------------------------------------------- loading

  private async load(): Promise<void> {
    const started = performance.now();
    const format = await this.ctx.kv.get(KEYS.format);
    if (!format) {
      for await (const key of this.ctx.kv.keys('')) {
        throw new StdchkError('CORRUPT', `metadata database holds unexpected data (key ${key})`, {
          retryable: false,
        });
      }
      const now = this.ctx.clock();
      const root: Inode = {
        ino: ROOT_INO,
        type: 'directory',
        parent: ROOT_INO,
        name: '',
        mode: DEFAULT_MODE.directory,
        uid: 0,
        gid: 0,
        atimeMs: now,
        mtimeMs: now,
        ctimeMs: now,
        size: 0,
        version: 0,
        replicas: 0,
        chunks: 0,
        target: '',
      };
      await this.ctx.kv.batch(
        [
          { type: 'put', key: KEYS.format, value: Buffer.from(FORMAT_VERSION) },
          { type: 'put', key: KEYS.inode(ROOT_INO), value: encodeInode(root) },
          { type: 'put', key: KEYS.nextInode, value: Buffer.from(String(ROOT_INO + 1)) },
        ],
        { sync: true },
      );
    } else if (!(FORMATS as readonly string[]).includes(format.toString('utf8'))) {
      throw new StdchkError(
        'CORRUPT',
        `metadata database format ${format.toString('utf8')} is not supported (this manager reads ${FORMATS.join(' and ')})`,
        { retryable: false },
      );
    } else {
      this.format = format.toString('utf8');
    }

    let maxIno = ROOT_INO;
    for await (const [key, value] of this.ctx.kv.entries(KEYS.inodePrefix)) {
      const node = decodeInode(key, value);
      this.ns.put(node);
      maxIno = Math.max(maxIno, node.ino);
    }
    this.ns.root();
    const next = Number((await this.ctx.kv.get(KEYS.nextInode))?.toString('utf8') ?? 0);
    this.nextInode = Math.max(Number.isSafeInteger(next) ? next : 0, maxIno + 1);

    for await (const [key, value] of this.ctx.kv.entries(KEYS.benefactorPrefix)) {
      this.ctx.registry.add(decodeBenefactor(key, value));
    }
    // The deletes sent before the restart are forgotten: reports older than the last of them are not trusted.
    for await (const [key, value] of this.ctx.kv.entries(KEYS.deleteBoundPrefix)) {
      const b = this.ctx.registry.get(key.slice(KEYS.deleteBoundPrefix.length));
      if (!b) continue;
      b.deleteBoundSaved = decodeDeleteBound(key, value);
      this.ctx.ledger.raiseFloor(b.num, b.deleteBoundSaved);
    }

    const zero: [number, number][] = [];
    for await (const [key, value] of this.ctx.kv.entries(KEYS.chunkPrefix)) {
      const hex = key.slice(KEYS.chunkPrefix.length);
      if (!/^[0-9a-f]{64}$/.test(hex)) throw new StdchkError('CORRUPT', `malformed chunk key ${key}`);
      const rec = decodeChunk(key, value);
      const id = this.ctx.index.insert(Buffer.from(hex, 'hex'), 0, rec.length, rec.target, rec.zeroSince);
      this.ctx.index.setCounts(id, rec.refcount, rec.target, rec.zeroSince);
      if (rec.referenced) this.ctx.index.markReferenced(id);
      for (let i = 0; i < rec.holders.length; i++) {
        const num = rec.holders[i] as number;
        if (this.ctx.registry.at(num)) this.ctx.index.addHolder(id, num);
      }
      if (rec.refcount === 0) zero.push([id, rec.zeroSince]);
    }
    zero.sort((a, b) => a[1] - b[1]);
    for (const [id, t] of zero) this.ctx.zeroQueueOf(id).push(id, t);

    // Versions kept only for readers' leases: leases do not survive a restart.
    const stale: VersionId[] = [];
    for await (const key of this.ctx.kv.keys(KEYS.versionPrefix)) {
      const v = parseVersionKey(key);
      if (this.ns.get(v.ino)?.version !== v.version) stale.push(v);
    }
    if (stale.length) {
      await this.mutate(async (txn) => {
        for (const v of stale) await this.releaseInto(txn, v.ino, v.version);
      });
      this.ctx.logger.info({ versions: stale.length }, 'released versions that were only pinned by readers');
    }

    this.ctx.startedAt = this.ctx.clock();
    this.ctx.logger.info(
      {
        files: this.ns.files,
        directories: this.ns.directories,
        chunks: this.ctx.index.size,
        benefactors: this.ctx.registry.all().length,
        ms: Math.round(performance.now() - started),
        indexBytes: this.ctx.index.memoryBytes(),
        heapUsedBytes: process.memoryUsage().heapUsed,
      },
      'metadata loaded',
    );
  }

  // ---------------------------------------------------------------- mutation plumbing

  private checkOpen(): void {
    this.ctx.checkOpen();
  }

  private mutate<T>(fn: (txn: Txn, now: number) => Promise<T> | T, sync = true): Promise<T> {
    this.checkOpen();
    return this.ctx.queue.run(async () => {
      const now = this.ctx.clock();
      const txn = new Txn(this.ns, this.nextInode);
      const result = await fn(txn, now);
      await this.commit(txn, now, sync);
      return result;
    });
  }

  private async commit(txn: Txn, now: number, sync: boolean): Promise<void> {
    const { index } = this.ctx;
    const ops = txn.ops;
    let format = this.format;
    for (const [ino, node] of txn.inodes) {
      ops.push(
        node
          ? { type: 'put', key: KEYS.inode(ino), value: encodeInode(node) }
          : { type: 'del', key: KEYS.inode(ino) },
      );
      if (node && format !== LATEST_FORMAT && needsFormat2(node)) {
        format = LATEST_FORMAT;
        ops.push({ type: 'put', key: KEYS.format, value: Buffer.from(format) });
      }
    }
    if (txn.nextInode !== this.nextInode) {
      ops.push({ type: 'put', key: KEYS.nextInode, value: Buffer.from(String(txn.nextInode)) });
    }
    const updates: { id: number; refcount: number; target: number; zeroSince: number }[] = [];
    const changed = (id: number) => {
      if (!index.isLive(id)) return;
      const old = index.refcount(id);
      let refcount = old + (txn.deltas.get(id) ?? 0);
      if (refcount < 0) {
        this.ctx.logger.error({ chunk: index.hashHex(id), refcount }, 'chunk refcount below zero');
        refcount = 0;
      }
      const target = Math.max(index.target(id), txn.raises.get(id) ?? 0);
      if (refcount === old && target === index.target(id)) return;
      const zeroSince = refcount > 0 ? 0 : old > 0 ? now : index.zeroSince(id);
      updates.push({ id, refcount, target, zeroSince });
      ops.push(this.ctx.chunkPut(id, { refcount, target, zeroSince }));
    };
    for (const id of txn.deltas.keys()) changed(id);
    for (const id of txn.raises.keys()) if (!txn.deltas.has(id)) changed(id);
    if (ops.length === 0 && txn.after.length === 0) return;
    await this.ctx.kv.batch(ops, { sync });

    for (const [ino, node] of txn.inodes) if (!node) this.ns.delete(ino);
    for (const node of txn.inodes.values()) if (node) this.ns.put(node);
    this.nextInode = txn.nextInode;
    this.format = format;
    if (updates.length) {
      const alive = this.ctx.registry.aliveMask(now);
      for (const u of updates) {
        const wasReferenced = index.refcount(u.id) > 0;
        index.setCounts(u.id, u.refcount, u.target, u.zeroSince);
        if (u.refcount === 0 && wasReferenced) this.ctx.zeroQueue.push(u.id, u.zeroSince);
        // A commit short of its replication target (or a raised target) needs repair.
        if (u.refcount > 0 && index.liveCount(u.id, alive) < u.target) this.ctx.repair.markDirty(u.id);
      }
    }
    for (const fn of txn.after) fn();
  }

  // ---------------------------------------------------------------- namespace

  private parentDir(txn: Txn, path: string): { dir: Inode; name: string } {
    const { parent, name } = splitPath(path);
    const dir = txn.lookup(parent);
    if (!dir) throw notFound(path);
    if (dir.type !== 'directory') throw notADirectory(parent);
    return { dir, name };
  }

  private newInode(
    txn: Txn,
    type: NodeType,
    dir: Inode,
    name: string,
    owner: Ownership & { inode?: number },
    now: number,
    extra: Partial<Inode> = {},
  ): Inode {
    // A folder with the setgid bit gives new entries its group, and new folders the bit (as ext4 does).
    const setgid = (dir.mode & S_ISGID) !== 0;
    const mode = owner.mode !== undefined ? owner.mode & 0o7777 : DEFAULT_MODE[type];
    const node: Inode = {
      ino: this.inodeFor(txn, owner.inode),
      type,
      parent: dir.ino,
      name,
      mode: setgid && type === 'directory' ? mode | S_ISGID : mode,
      uid: owner.uid ?? 0,
      gid: setgid ? dir.gid : (owner.gid ?? 0),
      atimeMs: now,
      mtimeMs: now,
      ctimeMs: now,
      size: 0,
      version: 0,
      replicas: 0,
      chunks: 0,
      target: '',
      ...extra,
    };
    txn.put(node);
    txn.touchDir(dir.ino, now);
    return node;
  }

  /**
   * The number a new inode gets: the one a client reserved for it (see
   * reserveInodes) if it was handed out and is free, else the next one.
   */
  private inodeFor(txn: Txn, wanted: number | undefined): number {
    if (wanted !== undefined && wanted > ROOT_INO && wanted < this.nextInode && !this.ns.get(wanted)) {
      if (!txn.inodes.has(wanted)) return wanted;
    }
    return txn.allocInode();
  }

  /**
   * Hands out `count` inode numbers that no one else gets: a mount numbers
   * the files it creates with them before they reach the manager, so a new
   * file keeps its number (tar compares it across the file's first close).
   */
  async reserveInodes(count: number): Promise<{ first: number; count: number }> {
    if (!(Number.isSafeInteger(count) && count >= 1 && count <= MAX_RESERVED_INODES)) {
      throw invalid(`count must be 1 to ${MAX_RESERVED_INODES}, not ${count}`);
    }
    return this.mutate((txn) => {
      const first = txn.nextInode;
      txn.nextInode += count;
      return { first, count };
    });
  }

  private infoOf(ino: number): NodeInfo {
    const node = this.ns.get(ino);
    if (!node) throw new StdchkError('INTERNAL', `inode ${ino} vanished`);
    return this.ns.info(node);
  }

  stat(path: string): NodeInfo {
    return this.ns.info(this.ns.require(path), path);
  }

  list(path: string): NodeInfo[] {
    const dir = this.ns.require(path);
    if (dir.type !== 'directory') throw notADirectory(path);
    return this.ns
      .entries(dir.ino)
      .map((e) => this.ns.info(e.node, path === '/' ? `/${e.name}` : `${path}/${e.name}`));
  }

  async mkdir(path: string, opts: MkdirOptions = {}): Promise<NodeInfo> {
    const ino = await this.mutate((txn, now) => {
      let dir = txn.get(ROOT_INO) as Inode;
      const names = components(path);
      if (names.length === 0) {
        if (opts.parents) return dir.ino;
        throw alreadyExists(path);
      }
      let walked = '';
      for (let i = 0; i < names.length; i++) {
        const name = names[i] as string;
        const last = i === names.length - 1;
        walked += `/${name}`;
        const existing = txn.child(dir.ino, name);
        if (existing) {
          if (last) {
            if (opts.parents && existing.type === 'directory') return existing.ino;
            throw alreadyExists(path);
          }
          if (existing.type !== 'directory') throw notADirectory(walked);
          dir = existing;
          continue;
        }
        if (!last && !opts.parents) throw notFound(path);
        dir = this.newInode(txn, 'directory', dir, name, opts, now);
      }
      return dir.ino;
    });
    return this.infoOf(ino);
  }

  async create(path: string, opts: CreateOptions = {}): Promise<NodeInfo> {
    const ino = await this.mutate((txn, now) => {
      if (path === '/') throw isADirectory(path);
      const { dir, name } = this.parentDir(txn, path);
      const existing = txn.child(dir.ino, name);
      if (existing) {
        if (existing.type === 'directory') throw isADirectory(path);
        if (opts.exclusive || existing.type !== 'file') throw alreadyExists(path);
        return existing.ino;
      }
      return this.newInode(txn, 'file', dir, name, opts, now).ino;
    });
    return this.infoOf(ino);
  }

  async symlink(path: string, target: string, owner: Ownership = {}): Promise<NodeInfo> {
    const ino = await this.mutate((txn, now) => {
      if (path === '/') throw alreadyExists(path);
      const { dir, name } = this.parentDir(txn, path);
      if (txn.child(dir.ino, name)) throw alreadyExists(path);
      return this.newInode(txn, 'symlink', dir, name, { ...owner, mode: 0o777 }, now, {
        target,
        size: Buffer.byteLength(target),
      }).ino;
    });
    return this.infoOf(ino);
  }

  /** A FIFO, socket or device node: an entry with a mode, an owner and (devices) a device number. */
  async mknod(path: string, type: SpecialType, opts: MknodOptions = {}): Promise<NodeInfo> {
    if (!SPECIAL_TYPES.includes(type)) throw invalid(`mknod makes ${SPECIAL_TYPES.join(', ')}, not ${type}`);
    const rdev = opts.rdev ?? 0;
    if (rdev !== 0 && type !== 'char-device' && type !== 'block-device') {
      throw invalid(`${path}: only devices have a device number (rdev ${rdev} given for a ${type})`);
    }
    const ino = await this.mutate((txn, now) => {
      if (path === '/') throw alreadyExists(path);
      const { dir, name } = this.parentDir(txn, path);
      if (txn.child(dir.ino, name)) throw alreadyExists(path);
      return this.newInode(
        txn,
        type,
        dir,
        name,
        { mode: opts.mode ?? DEFAULT_MODE[type], ...ownerOf(opts) },
        now,
        {
          ...(rdev ? { rdev } : {}),
        },
      ).ino;
    });
    return this.infoOf(ino);
  }

  /** A hard link: `to` becomes one more name of the inode at `from` (anything but a folder). */
  async link(from: string, to: string): Promise<NodeInfo> {
    const ino = await this.mutate((txn, now) => {
      const src = txn.lookup(from);
      if (!src) throw notFound(from);
      if (src.type === 'directory') throw invalid(`${from}: a folder cannot have hard links`);
      if (to === '/') throw alreadyExists(to);
      const { dir, name } = this.parentDir(txn, to);
      if (txn.child(dir.ino, name)) throw alreadyExists(to);
      const names = namesOf(src);
      if (names.length >= MAX_LINKS) {
        throw new StdchkError(
          'TOO_MANY_LINKS',
          `${from}: already has ${names.length} names (at most ${MAX_LINKS})`,
        );
      }
      txn.put({ ...withNames(src, [...names, { parent: dir.ino, name }]), ctimeMs: now });
      txn.touchDir(dir.ino, now);
      return src.ino;
    });
    const node = this.ns.get(ino);
    if (!node) throw new StdchkError('INTERNAL', `inode ${ino} vanished`);
    return this.ns.info(node, to);
  }

  /**
   * Removes the name (dir, name) of `node` (its state as staged in `txn`).
   * The inode goes with its last name and a file's content is released
   * then; while other names remain only its ctime changes.
   */
  private async unlinkName(txn: Txn, ino: number, dir: number, name: string, now: number): Promise<void> {
    const node = txn.get(ino);
    if (!node) return;
    const names = namesOf(node);
    if (names.length > 1) {
      const rest = names.filter((l) => !(l.parent === dir && l.name === name));
      txn.put({ ...withNames(node, rest), ctimeMs: now });
      return;
    }
    txn.remove(node.ino);
    if (node.type === 'file') await this.dropVersion(txn, node.ino, node.version);
  }

  async remove(path: string, opts: RemoveOptions = {}): Promise<void> {
    await this.mutate(async (txn, now) => {
      if (path === '/') throw invalid('the root directory cannot be removed');
      const { dir, name } = this.parentDir(txn, path);
      const node = txn.child(dir.ino, name);
      if (!node) throw notFound(path);
      if (node.type === 'directory') {
        if (!opts.directory && !opts.recursive) throw isADirectory(path);
        if (!opts.recursive && this.ns.childCount(node.ino) > 0) {
          throw new StdchkError('NOT_EMPTY', `${path}: directory not empty`);
        }
        if (opts.recursive) {
          for (const e of this.ns.subtree(node.ino))
            await this.unlinkName(txn, e.node.ino, e.parent, e.name, now);
        }
      } else if (opts.directory && !opts.recursive) {
        throw notADirectory(path);
      }
      await this.unlinkName(txn, node.ino, dir.ino, name, now);
      txn.touchDir(dir.ino, now);
    });
  }

  async rename(from: string, to: string): Promise<void> {
    await this.mutate(async (txn, now) => {
      if (from === '/' || to === '/') throw invalid('the root directory cannot be renamed or replaced');
      const origin = this.parentDir(txn, from);
      const src = txn.child(origin.dir.ino, origin.name);
      if (!src) throw notFound(from);
      if (from === to) return;
      if (src.type === 'directory' && to.startsWith(from + '/')) {
        throw invalid(`cannot move ${from} into its own subtree ${to}`);
      }
      const { dir, name } = this.parentDir(txn, to);
      const dst = txn.child(dir.ino, name);
      if (dst) {
        // Two names of one inode: POSIX says rename does nothing and succeeds.
        if (dst.ino === src.ino) return;
        if (dst.type === 'directory') {
          if (src.type !== 'directory') throw isADirectory(to);
          if (this.ns.childCount(dst.ino) > 0)
            throw new StdchkError('NOT_EMPTY', `${to}: directory not empty`);
        } else if (src.type === 'directory') {
          throw notADirectory(to);
        }
        await this.unlinkName(txn, dst.ino, dir.ino, name, now);
      }
      const moved = txn.get(src.ino) as Inode;
      const names = namesOf(moved).map((l) =>
        l.parent === origin.dir.ino && l.name === origin.name ? { parent: dir.ino, name } : l,
      );
      txn.put({ ...withNames(moved, names), ctimeMs: now });
      txn.touchDir(origin.dir.ino, now);
      txn.touchDir(dir.ino, now);
    });
  }

  async setAttr(path: string, changes: AttrChanges): Promise<NodeInfo> {
    const ino = await this.mutate(async (txn, now) => {
      const node = txn.lookup(path);
      if (!node) throw notFound(path);
      const next: Inode = { ...node, ctimeMs: now };
      if (changes.mode !== undefined) next.mode = changes.mode & 0o7777;
      if (changes.uid !== undefined) next.uid = changes.uid;
      if (changes.gid !== undefined) next.gid = changes.gid;
      if (changes.atimeMs !== undefined) next.atimeMs = changes.atimeMs;
      if (changes.mtimeMs !== undefined) next.mtimeMs = changes.mtimeMs;
      if (changes.atimeNow) next.atimeMs = now;
      if (changes.mtimeNow) next.mtimeMs = now;
      if (changes.size !== undefined && node.type === 'directory') throw isADirectory(path);
      if (changes.size !== undefined && node.type !== 'file') {
        throw invalid(`${path}: only regular files can be truncated`);
      }
      if (changes.size !== undefined && changes.size !== node.size) {
        if (changes.size !== 0) {
          throw invalid(
            `${path}: size can only be set to 0 or the current size (${node.size}) here; other sizes are a commit`,
          );
        }
        // Truncation to 0 is a new, empty version.
        next.version = node.version + 1;
        next.size = 0;
        next.chunks = 0;
        next.mtimeMs = changes.mtimeMs ?? now;
        txn.ops.push({
          type: 'put',
          key: KEYS.version(node.ino, next.version),
          value: encodeVersion({
            size: 0,
            mtimeMs: next.mtimeMs,
            replicas: node.replicas,
            refs: Buffer.alloc(0),
          }),
        });
        await this.dropVersion(txn, node.ino, node.version);
      }
      txn.put(next);
      return node.ino;
    });
    return this.infoOf(ino);
  }

  // ---------------------------------------------------------------- versions and leases

  /**
   * Releases a superseded or unlinked version, or retires it if a reader's
   * lease pins it (released when the last lease goes).
   */
  private async dropVersion(txn: Txn, ino: number, version: number): Promise<void> {
    if (version === 0) return;
    if (this.leases.isPinned(ino, version)) {
      txn.after.push(() => {
        if (!this.leases.retire(ino, version)) this.scheduleRelease([{ ino, version }]);
      });
      return;
    }
    await this.releaseInto(txn, ino, version);
  }

  /** Stages refcount -1 per unique chunk of the version and the deletion of its record. */
  private async releaseInto(txn: Txn, ino: number, version: number): Promise<void> {
    const key = KEYS.version(ino, version);
    const value = await this.ctx.kv.get(key);
    if (!value) return;
    const { refs } = decodeVersion(key, value);
    const seen = new Set<number>();
    const ids = this.ctx.index.findAll(refs, REF_BYTES);
    for (let i = 0, off = 0; off < refs.length; i++, off += REF_BYTES) {
      if (isZeroAt(refs, off)) continue;
      const id = ids[i]!;
      if (id < 0 || seen.has(id)) continue;
      seen.add(id);
      txn.delta(id, -1);
    }
    txn.ops.push({ type: 'del', key });
  }

  private releaseVersions(versions: readonly VersionId[], txn: Txn): Promise<void> {
    return versions.reduce(async (prev, v) => {
      await prev;
      if (this.leases.isPinned(v.ino, v.version)) return; // re-opened meanwhile: stays retired
      await this.releaseInto(txn, v.ino, v.version);
      txn.after.push(() => this.leases.forget(v.ino, v.version));
    }, Promise.resolve());
  }

  private scheduleRelease(versions: VersionId[]): void {
    this.mutate((txn) => this.releaseVersions(versions, txn)).catch((e: unknown) => {
      this.ctx.logger.error({ err: e }, 'releasing versions failed');
    });
  }

  async openVersion(path: string, version = 0): Promise<OpenedVersion> {
    // The lease is taken on the queue so no commit can release the version in between.
    const opened = await this.ctx.queue.run(() => {
      this.checkOpen();
      const node = this.ns.require(path);
      if (node.type === 'directory') throw isADirectory(path);
      if (node.type !== 'file') throw invalid(`${path}: not a regular file`);
      const v = version === 0 ? node.version : version;
      if (v !== node.version && !this.leases.isRetired(node.ino, v)) {
        throw new StdchkError('NOT_FOUND', `${path}: version ${v} does not exist (any more)`);
      }
      if (this.leases.size >= MAX_LEASES) throw new StdchkError('UNAVAILABLE', 'too many open leases');
      const leaseId = this.leases.acquire(node.ino, v, this.ctx.clock(), this.ctx.settings.leaseTtlMs);
      return { node, v, leaseId, info: this.ns.info(node, path) };
    });
    try {
      let record: VersionRecord = {
        size: 0,
        mtimeMs: opened.node.mtimeMs,
        replicas: opened.node.replicas,
        refs: Buffer.alloc(0),
      };
      if (opened.v > 0) {
        const key = KEYS.version(opened.node.ino, opened.v);
        const value = await this.ctx.kv.get(key);
        if (!value) throw new StdchkError('INTERNAL', `${path}: version ${opened.v} has no record`);
        record = decodeVersion(key, value);
      }
      const info: NodeInfo = {
        ...opened.info,
        version: opened.v,
        size: record.size,
        replicas: record.replicas,
        chunks: record.refs.length / REF_BYTES,
        ...(opened.v !== opened.node.version ? { mtimeMs: record.mtimeMs } : {}),
      };
      return {
        info,
        refs: Buffer.from(record.refs),
        leaseId: opened.leaseId,
        leaseTtlMs: this.ctx.settings.leaseTtlMs,
      };
    } catch (e) {
      await this.releaseLeases([opened.leaseId]).catch(() => undefined);
      throw e;
    }
  }

  /** Extends leases; NOT_FOUND names any that expired (the others are renewed). */
  renewLeases(ids: readonly string[]): void {
    this.checkOpen();
    const unknown = this.leases.renew(ids, this.ctx.clock(), this.ctx.settings.leaseTtlMs);
    if (unknown.length) {
      throw new StdchkError('NOT_FOUND', `lease ${unknown[0]} expired or unknown (${unknown.length} in all)`);
    }
  }

  async releaseLeases(ids: readonly string[]): Promise<void> {
    await this.mutate((txn) => this.releaseVersions(this.leases.release(ids), txn));
  }

  async expireLeases(): Promise<void> {
    await this.mutate((txn, now) => this.releaseVersions(this.leases.expire(now), txn));
  }

  async commitVersion(input: CommitInput): Promise<NodeInfo> {
    const refs = checkCommitInput(input);
    const ino = await this.mutate(async (txn, now) => {
      const plan = this.planCommit(txn, input, refs, now);
      return this.applyCommit(txn, plan, now);
    });
    return this.infoOf(ino);
  }

  /**
   * Many files' new versions in one transaction (one LevelDB batch, synced
   * once). Each commit is checked on its own, in order, against the state
   * the earlier ones leave: one that fails (a missing folder, a lost chunk,
   * a version conflict) changes nothing and the others are still committed.
   * Paths must be distinct. Throws only when the whole batch fails.
   */
  async commitVersions(inputs: readonly CommitInput[]): Promise<CommitOutcome[]> {
    const checked = inputs.map((input) => {
      try {
        return { refs: checkCommitInput(input) };
      } catch (e) {
        if (!(e instanceof StdchkError)) throw e;
        return { error: e };
      }
    });
    const seen = new Set<string>();
    const outcomes = await this.mutate(async (txn, now) => {
      const out: ({ ino: number } | { error: StdchkError })[] = [];
      for (let i = 0; i < inputs.length; i++) {
        const input = inputs[i] as CommitInput;
        const c = checked[i] as { refs?: Buffer; error?: StdchkError };
        if (c.error) {
          out.push({ error: c.error });
          continue;
        }
        if (seen.has(input.path)) {
          out.push({ error: invalid(`${input.path}: committed twice in one batch`) });
          continue;
        }
        seen.add(input.path);
        let plan: CommitPlan;
        try {
          // Only checks: nothing is staged before the plan is complete.
          plan = this.planCommit(txn, input, c.refs as Buffer, now);
        } catch (e) {
          if (!(e instanceof StdchkError)) throw e;
          out.push({ error: e });
          continue;
        }
        out.push({ ino: await this.applyCommit(txn, plan, now) });
      }
      return out;
    });
    return outcomes.map((o) => ('ino' in o ? { info: this.infoOf(o.ino) } : { error: o.error }));
  }

  /** Checks a commit against the namespace and the chunk index; stages nothing. */
  private planCommit(txn: Txn, input: CommitInput, refs: Buffer, now: number): CommitPlan {
    if (input.path === '/') throw isADirectory(input.path);
    const { dir, name } = this.parentDir(txn, input.path);
    const node = txn.child(dir.ino, name);
    if (node?.type === 'directory') throw isADirectory(input.path);
    if (node && node.type !== 'file') throw invalid(`${input.path}: not a regular file`);
    const current = node?.version ?? 0;
    if (input.baseVersion !== undefined && input.baseVersion !== current) {
      throw new StdchkError(
        'CONFLICT',
        `${input.path}: version is ${current}, not ${input.baseVersion} (written concurrently)`,
      );
    }
    const alive = this.ctx.registry.aliveMask(now);
    const unique = new Set<number>();
    const ids = this.ctx.index.findAll(refs, REF_BYTES);
    for (let i = 0, off = 0; off < refs.length; i++, off += REF_BYTES) {
      if (isZeroAt(refs, off)) continue;
      const id = ids[i]!;
      if (id >= 0 && this.ctx.index.liveCount(id, alive) === 0 && this.holderNotHeardFromYet(id)) {
        // Right after a manager start no benefactor has beaten yet: wait for them, nothing is lost.
        throw new StdchkError(
          'UNAVAILABLE',
          `chunk ${hashView(refs, off).toString('hex')}: its benefactors have not reported since the manager started (retry)`,
        );
      }
      if (id < 0 || this.ctx.index.liveCount(id, alive) === 0) {
        throw new StdchkError(
          'CONFLICT',
          `chunk ${hashView(refs, off).toString('hex')} is not stored on any live benefactor (upload it again)`,
        );
      }
      if (this.ctx.index.length(id) !== refLength(refs, i)) {
        throw invalid(`chunk ${hashView(refs, off).toString('hex')}: length does not match the stored chunk`);
      }
      unique.add(id);
    }
    return { input, refs, dir, name, node, unique };
  }

  /** Stages a planned commit: the version record, refcounts, the inode. */
  private async applyCommit(txn: Txn, plan: CommitPlan, now: number): Promise<number> {
    const { input, refs, dir, name, node, unique } = plan;
    const target = node ?? this.newInode(txn, 'file', dir, name, input, now);
    const version = (node?.version ?? 0) + 1;
    const mtimeMs = input.mtimeMs ?? now;
    txn.ops.push({
      type: 'put',
      key: KEYS.version(target.ino, version),
      value: encodeVersion({ size: input.size, mtimeMs, replicas: input.replicas, refs }),
    });
    for (const id of unique) {
      txn.delta(id, +1);
      if (this.ctx.index.target(id) < input.replicas) txn.raiseTarget(id, input.replicas);
    }
    if (node) await this.dropVersion(txn, node.ino, node.version);
    txn.put({
      ...target,
      ...(node && input.setOwner
        ? {
            mode: (input.mode ?? target.mode) & 0o7777,
            uid: input.uid ?? target.uid,
            gid: input.gid ?? target.gid,
          }
        : {}),
      size: input.size,
      version,
      replicas: input.replicas,
      chunks: refs.length / REF_BYTES,
      mtimeMs,
      ctimeMs: now,
    });
    return target.ino;
  }

  /**
   * Sets the space reservation `id` of a write-back mount (see
   * reservations.ts): lowering always succeeds, a raise that does not fit
   * throws NO_SPACE. Memory only.
   */
  reserveSpace(
    id: string,
    bytes: number,
    replicas: number,
    ttlMs: number,
    batchBytes = PLACEMENT_GRANULE_BYTES,
  ): ReserveOutcome {
    this.checkOpen();
    if (!(replicas >= 1 && replicas <= MAX_REPLICAS)) {
      throw invalid(`replicas must be 1 to ${MAX_REPLICAS}, not ${replicas}`);
    }
    if (!(ttlMs >= MIN_RESERVATION_TTL_MS && ttlMs <= MAX_RESERVATION_TTL_MS)) {
      throw invalid(
        `ttl_ms must be from ${MIN_RESERVATION_TTL_MS} to ${MAX_RESERVATION_TTL_MS}, not ${ttlMs}`,
      );
    }
    if (!(batchBytes >= MIN_BATCH_BYTES && batchBytes <= MAX_BATCH_BYTES)) {
      throw invalid(`batch_bytes must be from ${MIN_BATCH_BYTES} to ${MAX_BATCH_BYTES}, not ${batchBytes}`);
    }
    const now = this.ctx.clock();
    const candidates = this.ctx.registry.candidates(now);
    try {
      return this.reservations.set(id, bytes, replicas, ttlMs, now, candidates, batchBytes);
    } catch (e) {
      // Not a lack of space but of benefactors: some are silent (not heard from since a
      // manager start, or lost, maybe restarting) and with their last known free space it
      // would fit. "Retry", not "full": the mount stages without a reservation and uploads
      // when they are back.
      if (isStdchkError(e, 'NO_SPACE')) {
        const known = this.ctx.registry
          .all()
          .map((b) => ({ num: b.num, host: b.host, freeBytes: Math.max(0, b.freeBytes - b.reservedBytes) }));
        if (
          bytes <= this.reservations.available(id, replicas, now, known, batchBytes) &&
          known.length > candidates.length
        ) {
          throw new StdchkError(
            'UNAVAILABLE',
            `${known.length - candidates.length} benefactor(s) silent: space for ${replicas} replicas not known now`,
          );
        }
      }
      throw e;
    }
    return this.reservations.set(
      id,
      bytes,
      replicas,
      ttlMs,
      now,
      this.ctx.registry.candidates(now),
      batchBytes,
    );
  }

  /** Some holder of the chunk has not been heard from since this manager started (state unknown). */
  private holderNotHeardFromYet(id: number): boolean {
    const holders = this.ctx.index.holders(id);
    for (let i = 0; i < holders.length; i++) {
      if (this.ctx.registry.at(holders[i] as number)?.state === 'unknown') return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- chunks

  /**
   * The batched dedup lookup: which chunks need uploading, and where to
   * (`lookupOnly`: which, without choosing targets or setting space aside). Memory only.
   */
  prepareChunks(refs: Uint8Array, replicas: number, lookupOnly = false): PrepareResult {
    this.checkOpen();
    return this.chunks.prepare(refs, replicas, lookupOnly);
  }

  /** Replacement targets after a benefactor failed mid-upload. */
  allocateTargets(count: number, bytes: number, excludeIds: readonly string[]): BenefactorAddress[] {
    this.checkOpen();
    return this.chunks.allocate(count, bytes, excludeIds);
  }

  /** Where chunks are: a benefactor table and, per hash, live holders first, then the others. */
  locateChunks(hashes: Uint8Array): LocateResult {
    this.checkOpen();
    return this.chunks.locate(hashes);
  }

  /**
   * Benefactors now hold these chunks (stored at `stamp`). Unknown chunks enter
   * with refcount 0 (GC'd unless committed). Reports older than a delete sent
   * to that benefactor since are ignored (see chunk-ops.ts).
   */
  async reportStored(replicas: readonly StoredReport[]): Promise<void> {
    this.checkOpen();
    await this.chunks.reportStored(replicas);
  }

  // ---------------------------------------------------------------- benefactors

  async registerBenefactor(
    input: RegisterInput,
  ): Promise<{ heartbeatIntervalMs: number; sendInventory: boolean }> {
    this.checkOpen();
    return this.membership.register(input);
  }

  async heartbeat(input: HeartbeatInput): Promise<HeartbeatResult> {
    this.checkOpen();
    return this.membership.heartbeat(input);
  }

  beginInventory(benefactorId: string): InventorySession {
    this.checkOpen();
    return this.inventory.begin(benefactorId);
  }

  abortInventory(session: InventorySession): void {
    this.inventory.abort(session);
  }

  async inventoryPart(session: InventorySession, refs: Uint8Array): Promise<void> {
    this.checkOpen();
    await this.inventory.part(session, refs);
  }

  async finishInventory(session: InventorySession): Promise<InventoryResult> {
    this.checkOpen();
    return this.inventory.finish(session);
  }

  /** One-call reconciliation (tests, tools): the parts of a whole inventory. */
  async reconcileInventory(benefactorId: string, parts: readonly Uint8Array[]): Promise<InventoryResult> {
    const session = this.beginInventory(benefactorId);
    try {
      for (const refs of parts) await this.inventoryPart(session, refs);
      return await this.finishInventory(session);
    } finally {
      this.abortInventory(session);
    }
  }

  // ---------------------------------------------------------------- background work

  /** Declares silent benefactors lost (logged) and re-plans what involved them. */
  checkLiveness(): void {
    if (!this.ctx.closed) this.membership.checkLiveness();
  }

  /**
   * Queues copies for under-replicated chunks. Held back for one heartbeat
   * timeout after start, while benefactors report in (otherwise the first
   * one back would look like the only holder of everything).
   */
  runRepair(): RepairSummary | undefined {
    if (this.ctx.closed) return undefined;
    const now = this.ctx.clock();
    if (now - this.ctx.startedAt < this.ctx.settings.heartbeatTimeoutMs) return undefined;
    if (!this.ctx.repair.pendingWork) return undefined;
    const summary = this.ctx.repair.run(now);
    if (summary.queued > 0) this.ctx.logger.info({ ...summary }, 'repair: copies queued');
    if (summary.unrecoverable > 0 && now - this.lastUnrecoverableLog > UNRECOVERABLE_LOG_EVERY_MS) {
      this.lastUnrecoverableLog = now;
      this.ctx.logger.warn(
        { chunks: summary.unrecoverable },
        'referenced chunks have no live replica (waiting for a holder to return)',
      );
    }
    return summary;
  }

  /** Removes chunks unreferenced for longer than the grace; their holders get DeleteCommands. */
  async collectGarbage(): Promise<number> {
    return this.ctx.closed ? 0 : collectGarbage(this.ctx);
  }

  // ---------------------------------------------------------------- status

  status(): StatusInfo {
    const { index } = this.ctx;
    const now = this.ctx.clock();
    const alive = this.ctx.registry.aliveMask(now);
    let under = 0;
    let unavailable = 0;
    for (const id of index.ids()) {
      if (index.refcount(id) === 0) continue;
      const live = index.liveCount(id, alive);
      if (live < index.target(id)) under++;
      if (live === 0) unavailable++;
    }
    let capacityBytes = 0;
    let freeBytes = 0;
    let corruptChunks = 0;
    let benefactorsAlive = 0;
    const benefactors = this.ctx.registry.all().map((b) => {
      const isAlive = alive[b.num] === 1;
      corruptChunks += b.corruptReported;
      const drain = this.admin().drainProgress(b);
      if (b.drain === 'retired') {
        // Out of service: neither capacity nor a lost benefactor.
      } else if (isAlive) {
        benefactorsAlive++;
        capacityBytes += b.capacityBytes;
        freeBytes += b.freeBytes;
      }
      return {
        id: b.id,
        host: b.host,
        address: b.address,
        dataAddress: b.dataAddress ?? '',
        dataSocket: b.dataSocket ?? '',
        dataSocketHost: b.dataSocketHost ?? '',
        alive: isAlive,
        capacityBytes: b.capacityBytes,
        usedBytes: b.usedBytes,
        freeBytes: b.freeBytes,
        chunks: b.chunks,
        lastHeartbeatMs: b.lastHeartbeatMs,
        corruptChunks: b.corruptReported,
        scrub: { ...b.scrub },
        ...drain,
      };
    });
    const retired = benefactors.filter((b) => b.drain === 'retired').length;
    return {
      benefactors,
      files: this.ns.files,
      directories: this.ns.directories,
      chunks: index.size,
      logicalBytes: this.ns.logicalBytes,
      storedBytes: index.storedBytes,
      underReplicatedChunks: under,
      pendingDeletions: this.ctx.commands.pendingDeletions,
      repairsInProgress: this.ctx.repair.repairsInProgress,
      capacityBytes,
      freeBytes,
      corruptChunks,
      unavailableChunks: unavailable,
      benefactorsAlive,
      benefactorsLost: benefactors.length - retired - benefactorsAlive,
    };
  }

  /** One chunk's index record (tools, tests), or undefined if not indexed. */
  chunkInfo(hash: Uint8Array): ChunkInfo | undefined {
    const { index } = this.ctx;
    const id = hash.length === HASH_BYTES ? index.find(hash, 0) : -1;
    if (id < 0) return undefined;
    return {
      length: index.length(id),
      refcount: index.refcount(id),
      target: index.target(id),
      zeroSince: index.zeroSince(id),
      holders: Array.from(index.holders(id), (num) => this.ctx.registry.at(num)?.id ?? `#${num}`),
    };
  }

  /** The operator's tools (stdchk info, fsck, admin dump) over this store's state. */
  admin(): AdminOps {
    return (this.adminOps ??= new AdminOps(this.ctx, this.ns, this.leases));
  }

  /** Memory held by the chunk index, for measurement. */
  chunkIndexBytes(): number {
    return this.ctx.index.memoryBytes();
  }
}
