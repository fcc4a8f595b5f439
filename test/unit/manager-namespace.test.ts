import test from 'ava';
import type { ExecutionContext } from 'ava';
import { MemoryKeyValueStore } from '../../src/manager/kv.ts';
import type { KeyValueStore } from '../../src/manager/kv.ts';
import { MetadataStore } from '../../src/manager/metadata-store.ts';
import type { MetadataStoreOptions } from '../../src/manager/metadata-store.ts';
import { chooseTargets } from '../../src/manager/placement.ts';
import type { Candidate } from '../../src/manager/placement.ts';
import { LeaseTable } from '../../src/manager/leases.ts';
import { encodeRefs } from '../../src/chunking/refs.ts';
import type { ChunkRef } from '../../src/chunking/refs.ts';
import { ZERO_HASH, hashChunk } from '../../src/hashing/index.ts';
import { StdchkError, isStdchkError, toErrno } from '../../src/errors/index.ts';
import { normalizePath } from '../../src/config/paths.ts';
import type { ErrorCode } from '../../src/errors/index.ts';

// Namespace rules, versions, leases and refcounts, commit validation and
// placement, on the in-memory engine with a hand-driven clock.

const GiB = 1024 ** 3;

interface Fixture {
  store: MetadataStore;
  clock: { now: number };
  advance(ms: number): void;
}

async function open(
  opts: MetadataStoreOptions = {},
  kv: KeyValueStore = new MemoryKeyValueStore(),
): Promise<Fixture> {
  const clock = { now: 1_700_000_000_000 };
  const store = await MetadataStore.open(kv, {
    clock: () => clock.now,
    heartbeatTimeoutMs: 10_000,
    gcGraceMs: 60_000,
    leaseTtlMs: 60_000,
    ...opts,
  });
  return { store, clock, advance: (ms) => (clock.now += ms) };
}

function hash(i: number | string): Buffer {
  return hashChunk(Buffer.from(`chunk-${i}`));
}

function ref(i: number | string, length = 1000): ChunkRef {
  return { hash: hash(i), length };
}

async function benefactor(store: MetadataStore, id: string, host = id, freeBytes = 100 * GiB): Promise<void> {
  await store.registerBenefactor({
    id,
    host,
    address: `127.0.0.1:${10_000 + Number(id.replace(/\D/g, '') || 0)}`,
    capacityBytes: freeBytes,
    usedBytes: 0,
    freeBytes,
    chunks: 0,
  });
}

/** Registers b1, b2 and stores the given chunks on both. */
async function withChunks(f: Fixture, refs: ChunkRef[]): Promise<void> {
  await benefactor(f.store, 'b1');
  await benefactor(f.store, 'b2');
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs(refs) },
    { benefactorId: 'b2', refs: encodeRefs(refs) },
  ]);
}

function commit(
  f: Fixture,
  path: string,
  refs: ChunkRef[],
  extra: { baseVersion?: number; replicas?: number; inode?: number } = {},
) {
  return f.store.commitVersion({
    path,
    refs: encodeRefs(refs),
    size: refs.reduce((n, r) => n + r.length, 0),
    replicas: extra.replicas ?? 2,
    mode: 0o600,
    uid: 1000,
    gid: 1000,
    ...(extra.baseVersion !== undefined ? { baseVersion: extra.baseVersion } : {}),
    ...(extra.inode !== undefined ? { inode: extra.inode } : {}),
  });
}

async function code(t: ExecutionContext, p: Promise<unknown> | (() => unknown), expected: ErrorCode) {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    t.true(isStdchkError(e, expected), `expected ${expected}, got ${String(e)}`);
    return e as Error;
  }
  t.fail(`expected ${expected}, but it succeeded`);
  return undefined;
}

/** Refcount of a chunk as Status-independent truth: what PrepareChunks/LocateChunks see plus GC. */
function refcountOf(store: MetadataStore, i: number | string): number | undefined {
  return store.chunkInfo(hash(i))?.refcount;
}

// ---------------------------------------------------------------- namespace

test('the root exists as a 0755 directory and cannot be removed or renamed', async (t) => {
  const f = await open();
  const root = f.store.stat('/');
  t.is(root.type, 'directory');
  t.is(root.mode, 0o755);
  t.is(root.nlink, 2);
  t.is(root.path, '/');
  t.deepEqual(f.store.list('/'), []);
  await code(t, f.store.remove('/', { recursive: true }), 'INVALID_ARGUMENT');
  await code(t, f.store.rename('/', '/x'), 'INVALID_ARGUMENT');
  await code(t, f.store.mkdir('/'), 'ALREADY_EXISTS');
  t.is((await f.store.mkdir('/', { parents: true })).inode, root.inode);
});

test('mkdir: parents like mkdir -p, otherwise ALREADY_EXISTS / NOT_FOUND / NOT_A_DIRECTORY', async (t) => {
  const f = await open();
  const c = await f.store.mkdir('/a/b/c', { parents: true, mode: 0o700, uid: 5, gid: 6 });
  t.is(c.path, '/a/b/c');
  t.is(c.mode, 0o700);
  t.is(c.uid, 5);
  t.is(f.store.stat('/a').nlink, 3);
  t.is(f.store.stat('/').nlink, 3);
  t.is((await f.store.mkdir('/a/b/c', { parents: true })).inode, c.inode);
  await code(t, f.store.mkdir('/a/b/c'), 'ALREADY_EXISTS');
  await code(t, f.store.mkdir('/x/y'), 'NOT_FOUND');
  await f.store.create('/a/file');
  await code(t, f.store.mkdir('/a/file/sub', { parents: true }), 'NOT_A_DIRECTORY');
  await code(t, f.store.mkdir('/a/file', { parents: true }), 'ALREADY_EXISTS');
  await code(t, () => f.store.stat('/a/file/sub'), 'NOT_A_DIRECTORY');
  await code(t, () => f.store.list('/a/file'), 'NOT_A_DIRECTORY');
  t.deepEqual(
    f.store.list('/a').map((e) => [e.name, e.type, e.path]),
    [
      ['b', 'directory', '/a/b'],
      ['file', 'file', '/a/file'],
    ],
  );
});

test('create: empty version 0 file; exclusive; existing file unchanged; IS_A_DIRECTORY; parent mtime moves', async (t) => {
  const f = await open();
  await f.store.mkdir('/d');
  const before = f.store.stat('/d');
  f.advance(1000);
  const file = await f.store.create('/d/f', { mode: 0o640, uid: 7, gid: 8 });
  t.like(file, { type: 'file', version: 0, size: 0, chunks: 0, nlink: 1, mode: 0o640, uid: 7, gid: 8 });
  t.is(f.store.stat('/d').mtimeMs, before.mtimeMs + 1000);
  f.advance(1000);
  const again = await f.store.create('/d/f', { mode: 0o600 });
  t.deepEqual(again, file);
  await code(t, f.store.create('/d/f', { exclusive: true }), 'ALREADY_EXISTS');
  await code(t, f.store.create('/d'), 'IS_A_DIRECTORY');
  await code(t, f.store.create('/nope/f'), 'NOT_FOUND');
  await code(t, f.store.create('/d/f/g'), 'NOT_A_DIRECTORY');
  t.is(f.store.status().files, 1);
});

test('remove: unlink, rmdir only when empty, -r, and the POSIX error for each misuse', async (t) => {
  const f = await open();
  await f.store.mkdir('/d/e', { parents: true });
  await f.store.create('/d/e/f');
  await f.store.create('/g');
  await code(t, f.store.remove('/d'), 'IS_A_DIRECTORY');
  await code(t, f.store.remove('/d', { directory: true }), 'NOT_EMPTY');
  await code(t, f.store.remove('/g', { directory: true }), 'NOT_A_DIRECTORY');
  await code(t, f.store.remove('/missing'), 'NOT_FOUND');
  await f.store.remove('/g');
  await code(t, () => f.store.stat('/g'), 'NOT_FOUND');
  await f.store.remove('/d', { recursive: true });
  t.deepEqual(f.store.list('/'), []);
  t.like(f.store.status(), { files: 0, directories: 1 });
  await f.store.mkdir('/empty');
  await f.store.remove('/empty', { directory: true });
  t.is(f.store.stat('/').nlink, 2);
});

test('rename: replaces a file atomically, a dir only an empty dir, and refuses cycles', async (t) => {
  const f = await open();
  await withChunks(f, [ref(1), ref(2)]);
  await commit(f, '/a', [ref(1)]);
  await commit(f, '/b', [ref(2)]);
  const a = f.store.stat('/a');
  f.advance(500);
  await f.store.rename('/a', '/b');
  const b = f.store.stat('/b');
  t.is(b.inode, a.inode);
  t.is(b.ctimeMs, a.ctimeMs + 500);
  await code(t, () => f.store.stat('/a'), 'NOT_FOUND');
  t.is(refcountOf(f.store, 2), 0, 'the replaced file was released');
  t.is(refcountOf(f.store, 1), 1);

  await f.store.mkdir('/x/sub', { parents: true });
  await f.store.mkdir('/empty');
  await f.store.mkdir('/full/inner', { parents: true });
  await code(t, f.store.rename('/b', '/x'), 'IS_A_DIRECTORY');
  await code(t, f.store.rename('/x', '/b'), 'NOT_A_DIRECTORY');
  await code(t, f.store.rename('/x', '/full'), 'NOT_EMPTY');
  await code(t, f.store.rename('/x', '/x/sub/deeper'), 'INVALID_ARGUMENT');
  await code(t, f.store.rename('/missing', '/y'), 'NOT_FOUND');
  await code(t, f.store.rename('/b', '/nodir/b'), 'NOT_FOUND');
  await f.store.rename('/x', '/empty');
  t.is(f.store.stat('/empty/sub').type, 'directory');
  await f.store.rename('/empty', '/full/inner/moved');
  t.is(f.store.stat('/full/inner/moved/sub').path, '/full/inner/moved/sub');
  t.is(f.store.stat('/full').nlink, 3);
  await f.store.rename('/b', '/b');
  t.is(f.store.stat('/b').inode, a.inode);
  t.like(f.store.status(), { files: 1, directories: 5 });
});

test('symlink and setattr: mode/owner/times; size only 0 (a new empty version) or the current size', async (t) => {
  const f = await open();
  await withChunks(f, [ref(1)]);
  const link = await f.store.symlink('/l', '/target/path', { uid: 3, gid: 4 });
  t.like(link, { type: 'symlink', target: '/target/path', size: 12, mode: 0o777, nlink: 1 });
  await code(t, f.store.symlink('/l', '/x'), 'ALREADY_EXISTS');
  await code(t, f.store.openVersion('/l'), 'INVALID_ARGUMENT');

  await commit(f, '/f', [ref(1)]);
  f.advance(100);
  const changed = await f.store.setAttr('/f', { mode: 0o100755, uid: 9, gid: 10, atimeMs: 5, mtimeMs: 6 });
  t.like(changed, { mode: 0o755, uid: 9, gid: 10, atimeMs: 5, mtimeMs: 6, version: 1, size: 1000 });
  t.is(changed.ctimeMs, f.clock.now);
  await f.store.setAttr('/f', { size: 1000 });
  t.is(f.store.stat('/f').version, 1);
  await code(t, f.store.setAttr('/f', { size: 10 }), 'INVALID_ARGUMENT');
  await code(t, f.store.setAttr('/', { size: 0 }), 'IS_A_DIRECTORY');
  const truncated = await f.store.setAttr('/f', { size: 0 });
  t.like(truncated, { size: 0, version: 2, chunks: 0 });
  t.is(refcountOf(f.store, 1), 0);
  const opened = await f.store.openVersion('/f');
  t.is(opened.refs.length, 0);
  t.is(opened.info.version, 2);
});

// ---------------------------------------------------------------- special files, hard links, POSIX details

test('mknod: FIFOs, sockets and devices are entries with a type, mode, owner and rdev; nothing else is', async (t) => {
  const f = await open();
  await f.store.mkdir('/dev');
  const before = f.store.stat('/dev');
  f.advance(10);
  const fifo = await f.store.mknod('/dev/fifo', 'fifo', { mode: 0o600, uid: 7, gid: 8 });
  t.like(fifo, { type: 'fifo', mode: 0o600, uid: 7, gid: 8, rdev: 0, nlink: 1, size: 0, version: 0 });
  const tty = await f.store.mknod('/dev/tty', 'char-device', { mode: 0o666, rdev: (5 << 8) | 0 });
  t.like(tty, { type: 'char-device', rdev: 0x500, mode: 0o666 });
  t.like(await f.store.mknod('/dev/sda1', 'block-device', { mode: 0o660, rdev: (8 << 8) | 1 }), {
    type: 'block-device',
    rdev: 0x801,
  });
  t.like(await f.store.mknod('/dev/sock', 'socket', { mode: 0o755 }), { type: 'socket' });
  t.like(await f.store.mknod('/dev/zero-mode', 'fifo', { mode: 0 }), { mode: 0 }, 'mode 0 is mode 0');
  t.is(f.store.stat('/dev').mtimeMs, before.mtimeMs + 10, 'the folder changed');
  t.deepEqual(
    f.store.list('/dev').map((e) => `${e.name}:${e.type}`),
    ['fifo:fifo', 'sda1:block-device', 'sock:socket', 'tty:char-device', 'zero-mode:fifo'],
  );
  await code(t, f.store.mknod('/dev/tty', 'fifo'), 'ALREADY_EXISTS');
  await code(t, f.store.mknod('/nope/x', 'fifo'), 'NOT_FOUND');
  await code(t, f.store.mknod('/dev/fifo/x', 'fifo'), 'NOT_A_DIRECTORY');
  await code(t, f.store.mknod('/dev/p', 'fifo', { rdev: 3 }), 'INVALID_ARGUMENT');
  await code(t, f.store.mknod('/dev/p', 'file' as 'fifo'), 'INVALID_ARGUMENT');
  // No content: not opened, committed or truncated as a file.
  await code(t, f.store.openVersion('/dev/fifo'), 'INVALID_ARGUMENT');
  await code(t, commit(f, '/dev/fifo', []), 'INVALID_ARGUMENT');
  await code(t, f.store.setAttr('/dev/fifo', { size: 0 }), 'INVALID_ARGUMENT');
  // chmod, chown, utimens, rename and unlink as for any entry.
  f.advance(10);
  t.like(await f.store.setAttr('/dev/tty', { mode: 0o620, uid: 0, gid: 5, mtimeMs: 1234 }), {
    type: 'char-device',
    rdev: 0x500,
    mode: 0o620,
    gid: 5,
    mtimeMs: 1234,
    ctimeMs: f.clock.now,
  });
  await f.store.rename('/dev/tty', '/dev/console');
  t.like(f.store.stat('/dev/console'), { type: 'char-device', rdev: 0x500, inode: tty.inode });
  await f.store.remove('/dev/console');
  await code(t, () => f.store.stat('/dev/console'), 'NOT_FOUND');
  t.like(f.store.status(), { files: 0, directories: 2 }, 'special files are not counted as files');
});

test('link: one inode, several names; content, mode and nlink are shared; the inode goes with its last name', async (t) => {
  const f = await open();
  await withChunks(f, [ref(1), ref(2)]);
  await f.store.mkdir('/a');
  await f.store.mkdir('/b');
  const one = await commit(f, '/a/f', [ref(1)]);
  f.advance(100);
  const linked = await f.store.link('/a/f', '/b/g');
  t.like(linked, { path: '/b/g', name: 'g', inode: one.inode, nlink: 2, size: 1000, ctimeMs: f.clock.now });
  t.is(f.store.stat('/b').mtimeMs, f.clock.now, "the new name's folder changed");
  t.is(f.store.stat('/a').mtimeMs, one.mtimeMs, 'the old one did not');
  t.is(refcountOf(f.store, 1), 1, 'one inode, one reference');
  // A commit through one name is the content of both.
  await commit(f, '/b/g', [ref(2)]);
  t.like(f.store.stat('/a/f'), { version: 2, size: 1000, nlink: 2 });
  t.is(refcountOf(f.store, 2), 1);
  await f.store.setAttr('/a/f', { mode: 0o640 });
  t.is(f.store.stat('/b/g').mode, 0o640);
  t.deepEqual(
    f.store.list('/b').map((e) => [e.name, e.path, e.nlink]),
    [['g', '/b/g', 2]],
  );
  // A third name in the same folder, then unlinks one by one.
  await f.store.link('/b/g', '/a/h');
  t.deepEqual(
    f.store.list('/a').map((e) => [e.name, e.inode]),
    [
      ['f', one.inode],
      ['h', one.inode],
    ],
  );
  f.advance(100);
  await f.store.remove('/a/f');
  t.like(f.store.stat('/a/h'), { nlink: 2, ctimeMs: f.clock.now });
  await code(t, () => f.store.stat('/a/f'), 'NOT_FOUND');
  await f.store.remove('/b/g');
  t.like(f.store.stat('/a/h'), { nlink: 1, version: 2 });
  t.is(refcountOf(f.store, 2), 1, 'content kept while a name is left');
  await f.store.remove('/a/h');
  t.is(refcountOf(f.store, 2), 0, 'released with the last name');
  t.like(f.store.status(), { files: 0 });

  // Errors: folders, existing names, missing ends; symlinks and special files can be linked.
  await code(t, f.store.link('/a', '/x'), 'INVALID_ARGUMENT');
  await code(t, f.store.link('/missing', '/x'), 'NOT_FOUND');
  await f.store.create('/c');
  await code(t, f.store.link('/c', '/a'), 'ALREADY_EXISTS');
  await code(t, f.store.link('/c', '/nope/x'), 'NOT_FOUND');
  await f.store.symlink('/s', 'c');
  t.like(await f.store.link('/s', '/s2'), { type: 'symlink', target: 'c', nlink: 2 });
  await f.store.mknod('/p', 'fifo', { mode: 0o644 });
  t.like(await f.store.link('/p', '/a/p2'), { type: 'fifo', nlink: 2 });
});

test('rename and rm -r with hard links: one name moves or goes, the others stay', async (t) => {
  const f = await open();
  await withChunks(f, [ref(1)]);
  await f.store.mkdir('/d/sub', { parents: true });
  const file = await commit(f, '/d/sub/f', [ref(1)]);
  await f.store.link('/d/sub/f', '/keep');
  await f.store.link('/d/sub/f', '/d/sub/f2');
  // Renaming one name onto another name of the same inode does nothing (POSIX).
  await f.store.rename('/d/sub/f', '/keep');
  t.like(f.store.stat('/d/sub/f'), { inode: file.inode, nlink: 3 });
  t.like(f.store.stat('/keep'), { inode: file.inode, nlink: 3 });
  // Renaming a name moves only that name.
  await f.store.rename('/d/sub/f2', '/moved');
  t.deepEqual(
    f.store.list('/d/sub').map((e) => e.name),
    ['f'],
  );
  t.like(f.store.stat('/moved'), { inode: file.inode, nlink: 3 });
  // Another file renamed over one name: that name goes, the inode keeps its others.
  await f.store.create('/other');
  await f.store.rename('/other', '/moved');
  t.like(f.store.stat('/keep'), { inode: file.inode, nlink: 2 });
  t.is(refcountOf(f.store, 1), 1);
  // rm -r of the folder removes the names inside it; /keep survives with the content.
  await f.store.link('/keep', '/d/again');
  await f.store.remove('/d', { recursive: true });
  t.like(f.store.stat('/keep'), { inode: file.inode, nlink: 1, size: 1000 });
  t.is(refcountOf(f.store, 1), 1);
  t.deepEqual(
    f.store.list('/').map((e) => e.name),
    ['keep', 'moved'],
  );
});

test('POSIX details: setgid folders pass on their group, mode 0 is kept, UTIME_NOW is the manager clock, name limits', async (t) => {
  const f = await open();
  await withChunks(f, [ref(1)]);
  await f.store.mkdir('/g', { mode: 0o2775, uid: 1, gid: 50 });
  t.like(await f.store.mkdir('/g/sub', { mode: 0o755, uid: 2, gid: 2 }), { gid: 50, mode: 0o2755 });
  t.like(await f.store.create('/g/file', { mode: 0o644, uid: 2, gid: 2 }), { gid: 50, mode: 0o644 });
  t.like(await commit(f, '/g/sub/committed', [ref(1)]), { uid: 1000, gid: 50 });
  t.like(await f.store.symlink('/g/l', 'x', { uid: 2, gid: 2 }), { gid: 50, mode: 0o777 });
  t.like(await f.store.mknod('/g/p', 'fifo', { mode: 0o600, uid: 2, gid: 2 }), { gid: 50 });
  t.like(await f.store.mkdir('/plain', { mode: 0o755, uid: 2, gid: 2 }), { gid: 2, mode: 0o755 });
  // An explicit mode 0 is mode 0; an absent one is the default.
  t.is((await f.store.mkdir('/m0', { mode: 0 })).mode, 0);
  t.is((await f.store.create('/f0', { mode: 0 })).mode, 0);
  t.is((await f.store.mkdir('/mdefault')).mode, 0o755);
  t.is((await f.store.create('/fdefault')).mode, 0o644);
  // utimensat(UTIME_NOW) takes the manager's clock; ctime moves with every change.
  f.advance(5000);
  t.like(await f.store.setAttr('/f0', { atimeNow: true, mtimeMs: 42 }), {
    atimeMs: f.clock.now,
    mtimeMs: 42,
    ctimeMs: f.clock.now,
  });
  t.like(await f.store.setAttr('/f0', { mtimeNow: true }), { atimeMs: f.clock.now, mtimeMs: f.clock.now });
  // Names over 255 bytes and paths over 4096 are NAME_TOO_LONG (ENAMETOOLONG), not INVALID_ARGUMENT.
  t.is(normalizePath('/' + 'x'.repeat(255)), '/' + 'x'.repeat(255));
  await code(t, () => normalizePath('/' + 'x'.repeat(256)), 'NAME_TOO_LONG');
  await code(t, () => normalizePath('/' + 'é'.repeat(128)), 'NAME_TOO_LONG');
  await code(t, () => normalizePath(('/' + 'y'.repeat(200)).repeat(21)), 'NAME_TOO_LONG');
  t.is(toErrno(new StdchkError('NAME_TOO_LONG', 'x')), -36);
});

test('reserveInodes: numbers handed out are never given to anyone else; a new file may take its reserved one', async (t) => {
  const f = await open();
  await withChunks(f, [ref(1)]);
  const a = await f.store.reserveInodes(100);
  const b = await f.store.reserveInodes(10);
  t.is(b.first, a.first + 100, 'blocks do not overlap');
  t.true((await f.store.mkdir('/d')).inode >= b.first + 10, 'nor does what the manager numbers itself');
  t.is((await f.store.create('/d/x', { inode: a.first + 5 })).inode, a.first + 5);
  t.is((await commit(f, '/d/y', [ref(1)], { inode: a.first + 6 })).inode, a.first + 6);
  // In use, never handed out, the root: ignored, the manager picks.
  for (const inode of [a.first + 5, b.first + 1000, 1]) {
    const made = await f.store.create(`/d/z${inode}`, { inode });
    t.not(made.inode, inode);
  }
  await code(t, f.store.reserveInodes(0), 'INVALID_ARGUMENT');
  await code(t, f.store.reserveInodes(4097), 'INVALID_ARGUMENT');
});

/** A memory store that survives its close, so a test can reopen what a manager left behind. */
function durable(kv = new MemoryKeyValueStore()): KeyValueStore & { data: MemoryKeyValueStore } {
  return {
    data: kv,
    get: (k) => kv.get(k),
    batch: (ops, o) => kv.batch(ops, o),
    entries: (p) => kv.entries(p),
    keys: (p) => kv.keys(p),
    close: async () => undefined,
  };
}

test('format: a database of before (format 1) opens as it is and turns 2 with the first special file or link', async (t) => {
  // Exactly what the manager of before wrote: format "1", inodes with one name and no rdev.
  const old = new MemoryKeyValueStore();
  const inode = (n: object) => Buffer.from(JSON.stringify(n));
  const base = {
    atimeMs: 1,
    mtimeMs: 2,
    ctimeMs: 3,
    size: 0,
    version: 0,
    replicas: 0,
    chunks: 0,
    target: '',
  };
  await old.batch([
    { type: 'put', key: 'm:format', value: Buffer.from('1') },
    { type: 'put', key: 'm:nextInode', value: Buffer.from('4') },
    {
      type: 'put',
      key: 'i:1',
      value: inode({ ino: 1, type: 'directory', parent: 1, name: '', mode: 0o755, uid: 0, gid: 0, ...base }),
    },
    {
      type: 'put',
      key: 'i:2',
      value: inode({ ino: 2, type: 'directory', parent: 1, name: 'd', mode: 0o700, uid: 5, gid: 5, ...base }),
    },
    {
      type: 'put',
      key: 'i:3',
      value: inode({ ino: 3, type: 'file', parent: 2, name: 'f', mode: 0o600, uid: 5, gid: 5, ...base }),
    },
  ]);
  const kv = durable(old);
  let f = await open({}, kv);
  t.like(f.store.stat('/d/f'), { type: 'file', nlink: 1, rdev: 0, mode: 0o600, uid: 5 });
  t.like(f.store.stat('/d'), { nlink: 2 });
  await f.store.mkdir('/plain');
  t.is(
    (await kv.get('m:format'))?.toString(),
    '1',
    'nothing new yet: still readable by the manager of before',
  );
  await f.store.link('/d/f', '/f2');
  t.is((await kv.get('m:format'))?.toString(), '2', 'the batch with the link raised the format');
  await f.store.mknod('/d/p', 'char-device', { mode: 0o600, rdev: 0x103 });
  await f.store.close();
  f = await open({}, kv);
  t.like(f.store.stat('/f2'), { inode: 3, nlink: 2 });
  t.like(f.store.stat('/d/p'), { type: 'char-device', rdev: 0x103 });
  await f.store.close();
  // A format this code does not know is refused with one clear error.
  await kv.batch([{ type: 'put', key: 'm:format', value: Buffer.from('3') }]);
  const e = await code(t, open({}, kv), 'CORRUPT');
  t.regex(e?.message ?? '', /format 3 is not supported \(this manager reads 1 and 2\)/);
  // A malformed inode is CORRUPT too, not a silently odd namespace.
  await kv.batch([
    { type: 'put', key: 'm:format', value: Buffer.from('2') },
    {
      type: 'put',
      key: 'i:9',
      value: inode({ ino: 9, type: 'door', parent: 1, name: 'x', mode: 0, ...base }),
    },
  ]);
  await code(t, open({}, kv), 'CORRUPT');
});

// ---------------------------------------------------------------- versions, leases, refcounts

test('commits count each unique chunk once and release the superseded version', async (t) => {
  const f = await open();
  await withChunks(f, [ref('A'), ref('B'), ref('C')]);
  await f.store.mkdir('/jobs');
  f.advance(10);
  const v1 = await commit(f, '/jobs/ckpt', [ref('A'), ref('B'), ref('A'), { hash: ZERO_HASH, length: 4096 }]);
  t.like(v1, { version: 1, size: 7096, chunks: 4, replicas: 2, mode: 0o600, uid: 1000 });
  t.is(f.store.stat('/jobs').mtimeMs, f.clock.now, 'creating the file touched its directory');
  t.is(refcountOf(f.store, 'A'), 1);
  t.is(refcountOf(f.store, 'B'), 1);
  t.is(refcountOf(f.store, 'C'), 0);
  t.is(f.store.chunkInfo(ZERO_HASH), undefined, 'holes are never indexed');

  const v2 = await commit(f, '/jobs/ckpt', [ref('B'), ref('C')], { replicas: 3 });
  t.like(v2, { version: 2, size: 2000, chunks: 2, replicas: 3, inode: v1.inode });
  t.is(refcountOf(f.store, 'A'), 0);
  t.is(f.store.chunkInfo(hash('A'))?.zeroSince, f.clock.now);
  t.is(refcountOf(f.store, 'B'), 1);
  t.is(f.store.chunkInfo(hash('B'))?.target, 3);
  t.like(f.store.status(), { files: 1, logicalBytes: 2000, chunks: 3, storedBytes: 3000 });
  await code(t, f.store.openVersion('/jobs/ckpt', 1), 'NOT_FOUND');
});

test('a lease pins the version it opened across newer commits until released or expired', async (t) => {
  const f = await open();
  await withChunks(f, [ref('A'), ref('B'), ref('C')]);
  await commit(f, '/f', [ref('A')]);
  const reader = await f.store.openVersion('/f');
  t.is(reader.info.version, 1);
  t.deepEqual(reader.refs, encodeRefs([ref('A')]));
  t.is(reader.leaseTtlMs, 60_000);

  await commit(f, '/f', [ref('B')]);
  t.is(refcountOf(f.store, 'A'), 1, 'pinned by the reader');
  const again = await f.store.openVersion('/f', 1);
  t.deepEqual(again.refs, encodeRefs([ref('A')]));
  t.is(again.info.version, 1);
  t.is(again.info.size, 1000);
  await f.store.releaseLeases([reader.leaseId]);
  t.is(refcountOf(f.store, 'A'), 1, 'still pinned by the second lease');

  f.advance(30_000);
  f.store.renewLeases([again.leaseId]);
  f.advance(40_000);
  await f.store.expireLeases();
  t.is(refcountOf(f.store, 'A'), 1, 'renewed, not expired');
  f.advance(30_000);
  await f.store.expireLeases();
  t.is(refcountOf(f.store, 'A'), 0, 'expired lease released the old version');
  await code(t, () => f.store.renewLeases([again.leaseId]), 'NOT_FOUND');
  await code(t, f.store.openVersion('/f', 1), 'NOT_FOUND');

  // Unlinking a file being read keeps its chunks until the reader is done.
  const r2 = await f.store.openVersion('/f');
  await f.store.remove('/f');
  t.is(refcountOf(f.store, 'B'), 1);
  await f.store.releaseLeases([r2.leaseId, r2.leaseId, 'unknown-is-ignored']);
  t.is(refcountOf(f.store, 'B'), 0);
});

test('commit validation: sizes, base version, missing or dead chunks, wrong targets', async (t) => {
  const f = await open();
  await withChunks(f, [ref(1), ref(2)]);
  await f.store.mkdir('/d');
  const base = { refs: encodeRefs([ref(1)]), replicas: 2 };
  await code(t, f.store.commitVersion({ path: '/f', ...base, size: 999 }), 'INVALID_ARGUMENT');
  await code(t, f.store.commitVersion({ path: '/f', ...base, size: 1000, replicas: 0 }), 'INVALID_ARGUMENT');
  await code(
    t,
    f.store.commitVersion({ path: '/f', refs: Buffer.alloc(35), size: 0, replicas: 1 }),
    'INVALID_ARGUMENT',
  );
  await code(t, f.store.commitVersion({ path: '/d', ...base, size: 1000 }), 'IS_A_DIRECTORY');
  await code(t, f.store.commitVersion({ path: '/', ...base, size: 1000 }), 'IS_A_DIRECTORY');
  await code(t, f.store.commitVersion({ path: '/no/f', ...base, size: 1000 }), 'NOT_FOUND');
  await code(t, commit(f, '/f', [ref(1)], { baseVersion: 3 }), 'CONFLICT');
  t.is((await commit(f, '/f', [ref(1)], { baseVersion: 0 })).version, 1);
  await code(t, commit(f, '/f', [ref(2)], { baseVersion: 0 }), 'CONFLICT');
  t.is((await commit(f, '/f', [ref(2)], { baseVersion: 1 })).version, 2);

  const missing = await code(t, commit(f, '/g', [ref(1), ref('never-stored')]), 'CONFLICT');
  t.true(missing?.message.includes(hash('never-stored').toString('hex')));
  await code(t, commit(f, '/g', [{ hash: hash(1), length: 999 }]), 'INVALID_ARGUMENT');

  // Every holder silent: the chunk is known but has no live replica.
  f.advance(20_000);
  await code(t, commit(f, '/g', [ref(1)]), 'CONFLICT');
  await f.store.heartbeat({ id: 'b2', capacityBytes: GiB, usedBytes: 0, freeBytes: GiB, chunks: 2 });
  t.is((await commit(f, '/g', [ref(1), { hash: ZERO_HASH, length: 5 }])).size, 1005);
  await code(t, () => f.store.stat('/missing-after-failures'), 'NOT_FOUND');
  t.is(f.store.status().files, 2, 'failed commits created nothing');
});

// ---------------------------------------------------------------- PrepareChunks and placement

test('PrepareChunks: holes and chunks on enough live replicas are present; targets are live and distinct', async (t) => {
  const f = await open({ random: seeded(7) });
  await code(t, () => f.store.prepareChunks(encodeRefs([ref(1)]), 2), 'UNAVAILABLE');
  await benefactor(f.store, 'b1', 'h1');
  await benefactor(f.store, 'b2', 'h2');
  await benefactor(f.store, 'b3', 'h3');
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs([ref(1), ref(2)]) },
    { benefactorId: 'b2', refs: encodeRefs([ref(1)]) },
  ]);
  const refs = [ref(1), ref(2), { hash: ZERO_HASH, length: 100 }, ref(3)];
  const r = f.store.prepareChunks(encodeRefs(refs), 2);
  t.deepEqual([...r.present], [1, 0, 1, 0]);
  t.is(r.targets.length, 2);
  t.is(new Set(r.targets.map((x) => x.id)).size, 2);
  t.deepEqual([...f.store.prepareChunks(encodeRefs(refs), 1).present], [1, 1, 1, 0]);
  const none = f.store.prepareChunks(encodeRefs([ref(1)]), 2);
  t.deepEqual(none.targets, [], 'nothing to upload, no targets');
  t.is(f.store.prepareChunks(encodeRefs([ref(9)]), 5).targets.length, 3, 'as many as exist');
  t.deepEqual(
    f.store.allocateTargets(3, 1000, ['b1', 'b3', 'unknown']).map((x) => x.id),
    ['b2'],
  );
  await code(t, () => f.store.allocateTargets(1, 1000, ['b1', 'b2', 'b3']), 'UNAVAILABLE');

  // b1 silent: its copy no longer counts.
  f.advance(8_000);
  await f.store.heartbeat({ id: 'b2', capacityBytes: GiB, usedBytes: 0, freeBytes: 100 * GiB, chunks: 1 });
  await f.store.heartbeat({ id: 'b3', capacityBytes: GiB, usedBytes: 0, freeBytes: 100 * GiB, chunks: 0 });
  f.advance(4_000);
  const later = f.store.prepareChunks(encodeRefs(refs), 2);
  t.deepEqual([...later.present], [0, 0, 1, 0]);
  t.deepEqual(later.targets.map((x) => x.id).sort(), ['b2', 'b3']);
});

test('PrepareChunks: full benefactors are skipped, NO_SPACE when none has room for the batch', async (t) => {
  const f = await open();
  await benefactor(f.store, 'b1', 'h1', 5000);
  await benefactor(f.store, 'b2', 'h2', 0);
  const small = f.store.prepareChunks(encodeRefs([ref(1, 3000)]), 2);
  t.deepEqual(
    small.targets.map((x) => x.id),
    ['b1'],
  );
  // The 3000 bytes just placed are reserved until b1's next heartbeat.
  await code(t, () => f.store.prepareChunks(encodeRefs([ref(2, 3000)]), 1), 'NO_SPACE');
  const err = await code(t, () => f.store.prepareChunks(encodeRefs([ref(3, 6000)]), 1), 'NO_SPACE');
  t.is(err?.message, 'no benefactor has free space');
  await f.store.heartbeat({ id: 'b1', capacityBytes: 5000, usedBytes: 0, freeBytes: 5000, chunks: 0 });
  t.is(f.store.prepareChunks(encodeRefs([ref(2, 3000)]), 1).targets.length, 1);
});

/** A small deterministic PRNG (mulberry32) for placement statistics. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

test('placement: distinct hosts first, then same-host benefactors; never one twice', (t) => {
  const cands: Candidate[] = [
    { num: 1, host: 'a', freeBytes: 1000 },
    { num: 2, host: 'a', freeBytes: 1000 },
    { num: 3, host: 'b', freeBytes: 10 },
    { num: 4, host: 'c', freeBytes: 10 },
  ];
  const random = seeded(1);
  for (let i = 0; i < 200; i++) {
    const two = chooseTargets(cands, 2, 5, { random });
    t.not(two[0]?.host, two[1]?.host);
    const three = chooseTargets(cands, 3, 5, { random });
    t.deepEqual(three.map((c) => c.host).sort(), ['a', 'b', 'c']);
    t.is(chooseTargets(cands, 9, 5, { random }).length, 4);
  }
  const avoid = chooseTargets(cands, 1, 5, { random, avoidHosts: ['a', 'b'] });
  t.deepEqual(
    avoid.map((c) => c.num),
    [4],
  );
  t.deepEqual(
    chooseTargets(cands, 4, 500, { random })
      .map((c) => c.num)
      .sort(),
    [1, 2],
    'no room for 500 bytes on 3 and 4',
  );
  t.deepEqual(chooseTargets([{ num: 1, host: 'a', freeBytes: 0 }], 1, 0, { random }), []);
});

test('placement: picks are weighted by free space', (t) => {
  const cands: Candidate[] = [
    { num: 1, host: 'a', freeBytes: 100 },
    { num: 2, host: 'b', freeBytes: 300 },
    { num: 3, host: 'c', freeBytes: 600 },
  ];
  const random = seeded(42);
  const counts = [0, 0, 0, 0];
  const n = 20_000;
  for (let i = 0; i < n; i++) counts[chooseTargets(cands, 1, 1, { random })[0]!.num]!++;
  t.true(Math.abs(counts[1]! / n - 0.1) < 0.015, `${counts[1]! / n}`);
  t.true(Math.abs(counts[2]! / n - 0.3) < 0.015, `${counts[2]! / n}`);
  t.true(Math.abs(counts[3]! / n - 0.6) < 0.015, `${counts[3]! / n}`);
});

test('lease table: pins count per version; retiring needs a pin; release and expiry free retired versions', (t) => {
  const leases = new LeaseTable();
  const a = leases.acquire(1, 1, 0, 100);
  const b = leases.acquire(1, 1, 0, 100);
  t.true(leases.isPinned(1, 1));
  t.false(leases.retire(2, 1), 'nothing pins 2:1');
  t.true(leases.retire(1, 1));
  t.deepEqual(leases.release([a]), []);
  t.deepEqual(leases.renew([b, 'x'], 50, 100), ['x']);
  t.deepEqual(leases.expire(120), []);
  t.deepEqual(leases.expire(150), [{ ino: 1, version: 1 }]);
  t.false(leases.isPinned(1, 1));
  leases.forget(1, 1);
  t.false(leases.isRetired(1, 1));
  t.is(leases.size, 0);
});

test('the single writer: concurrent commits on one base version, exactly one wins', async (t) => {
  const f = await open();
  await withChunks(f, [ref(1), ref(2)]);
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) => commit(f, '/race', [ref(1 + (i % 2))], { baseVersion: 0 })),
  );
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
  t.true(results.every((r) => r.status === 'fulfilled' || isStdchkError(r.reason, 'CONFLICT')));
  t.is(f.store.stat('/race').version, 1);
  t.is((refcountOf(f.store, 1) ?? 0) + (refcountOf(f.store, 2) ?? 0), 1);
});
