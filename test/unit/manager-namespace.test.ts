import test from 'ava';
import type { ExecutionContext } from 'ava';
import { MemoryKeyValueStore } from '../../src/manager/kv.ts';
import { MetadataStore } from '../../src/manager/metadata-store.ts';
import type { MetadataStoreOptions } from '../../src/manager/metadata-store.ts';
import { chooseTargets } from '../../src/manager/placement.ts';
import type { Candidate } from '../../src/manager/placement.ts';
import { LeaseTable } from '../../src/manager/leases.ts';
import { encodeRefs } from '../../src/chunking/refs.ts';
import type { ChunkRef } from '../../src/chunking/refs.ts';
import { ZERO_HASH, hashChunk } from '../../src/hashing/index.ts';
import { isStdchkError } from '../../src/errors/index.ts';
import type { ErrorCode } from '../../src/errors/index.ts';

// Namespace rules, versions, leases and refcounts, commit validation and
// placement, on the in-memory engine with a hand-driven clock.

const GiB = 1024 ** 3;

interface Fixture {
  store: MetadataStore;
  clock: { now: number };
  advance(ms: number): void;
}

async function open(opts: MetadataStoreOptions = {}): Promise<Fixture> {
  const clock = { now: 1_700_000_000_000 };
  const store = await MetadataStore.open(new MemoryKeyValueStore(), {
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
  extra: { baseVersion?: number; replicas?: number } = {},
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
