import test from 'ava';
import type { ExecutionContext } from 'ava';
import { MemoryKeyValueStore } from '../../src/manager/kv.ts';
import type { BatchOptions, KvOp } from '../../src/manager/kv.ts';
import { MetadataStore } from '../../src/manager/metadata-store.ts';
import type { CommitInput } from '../../src/manager/metadata-store.ts';
import { replicatedCapacity } from '../../src/manager/reservations.ts';
import { encodeRefs } from '../../src/chunking/refs.ts';
import type { ChunkRef } from '../../src/chunking/refs.ts';
import { hashChunk } from '../../src/hashing/index.ts';
import { isStdchkError } from '../../src/errors/index.ts';
import type { ErrorCode } from '../../src/errors/index.ts';

// What the write-back mount needs from the manager (issue 13): many files'
// commits in one transaction (CommitVersions) and space reservations
// (ReserveSpace). In-memory engine, hand-driven clock.

const MiB = 1024 * 1024;

/** Counts the batches written, and the synced ones. */
class CountingKv extends MemoryKeyValueStore {
  batches = 0;
  synced = 0;
  override async batch(ops: readonly KvOp[], options: BatchOptions = {}): Promise<void> {
    this.batches++;
    if (options.sync) this.synced++;
    await super.batch(ops, options);
  }
}

async function open() {
  const clock = { now: 1_700_000_000_000 };
  const kv = new CountingKv();
  const store = await MetadataStore.open(kv, { clock: () => clock.now, heartbeatTimeoutMs: 10_000 });
  return { store, kv, clock };
}

const hash = (i: number | string) => hashChunk(Buffer.from(`chunk-${i}`));
const ref = (i: number | string, length = 1000): ChunkRef => ({ hash: hash(i), length });

async function benefactor(store: MetadataStore, id: string, freeBytes: number): Promise<void> {
  await store.registerBenefactor({
    id,
    host: id,
    address: `127.0.0.1:${10_000 + Number(id.replace(/\D/g, '') || 0)}`,
    capacityBytes: freeBytes,
    usedBytes: 0,
    freeBytes,
    chunks: 0,
  });
}

function input(path: string, refs: ChunkRef[], extra: Partial<CommitInput> = {}): CommitInput {
  return {
    path,
    refs: encodeRefs(refs),
    size: refs.reduce((n, r) => n + r.length, 0),
    replicas: 2,
    mode: 0o640,
    uid: 1000,
    gid: 1000,
    ...extra,
  };
}

function expectCode(t: ExecutionContext, e: unknown, code: ErrorCode): void {
  t.true(isStdchkError(e, code), `expected ${code}, got ${String(e)}`);
}

test('CommitVersions: many files in one synced batch; a failing commit changes nothing and the others commit', async (t) => {
  const { store, kv } = await open();
  await benefactor(store, 'b1', 10 * MiB * 1024);
  await benefactor(store, 'b2', 10 * MiB * 1024);
  const stored = [ref(1), ref(2), ref(3)];
  await store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs(stored) },
    { benefactorId: 'b2', refs: encodeRefs(stored) },
  ]);
  await store.mkdir('/ck');
  const before = { batches: kv.batches, synced: kv.synced };
  const outcomes = await store.commitVersions([
    input('/ck/a', [ref(1), ref(2)]),
    input('/missing/b', [ref(1)]), // no such folder
    input('/ck/c', [ref(3), ref('never stored')]), // a chunk nobody holds
    input('/ck/d', [ref(3)], { mtimeMs: 1_600_000_000_000 }),
    input('/ck/a', [ref(3)]), // the same path twice
    input('/ck/e', []),
  ]);
  t.is(kv.batches - before.batches, 1, 'one LevelDB batch');
  t.is(kv.synced - before.synced, 1, 'synced once');
  t.deepEqual(
    outcomes.map((o) => (o.info ? 'ok' : o.error.code)),
    ['ok', 'NOT_FOUND', 'CONFLICT', 'ok', 'INVALID_ARGUMENT', 'ok'],
  );
  t.is(outcomes[0]?.info?.size, 2000);
  t.is(outcomes[0]?.info?.version, 1);
  t.is(outcomes[3]?.info?.mtimeMs, 1_600_000_000_000);
  t.deepEqual(
    store.list('/ck').map((e) => [e.name, e.size, e.mode]),
    [
      ['a', 2000, 0o640],
      ['d', 1000, 0o640],
      ['e', 0, 0o640],
    ],
  );
  t.is(store.chunkInfo(hash(1))?.refcount, 1);
  t.is(store.chunkInfo(hash(3))?.refcount, 1, 'the refused commit of /ck/c took no reference');

  // A later batch replaces versions (the old one's chunks are released) and may set the owner.
  const next = await store.commitVersions([
    input('/ck/a', [ref(3)], { mode: 0o600, uid: 7, gid: 8, setOwner: true }),
    input('/ck/d', [ref(3)], { mode: 0o600, uid: 7, gid: 8 }),
  ]);
  t.deepEqual(
    next.map((o) => [o.info?.version, o.info?.mode, o.info?.uid]),
    [
      [2, 0o600, 7],
      [2, 0o640, 1000],
    ],
    'set_owner applies mode and owner to an existing file; without it they stay',
  );
  t.is(store.chunkInfo(hash(1))?.refcount, 0, 'the replaced version released its chunks');
  t.is(store.chunkInfo(hash(3))?.refcount, 2);

  // Checks that need no state fail only their own commit too.
  const bad = await store.commitVersions([
    { ...input('/ck/f', [ref(1)]), size: 5 },
    input('/ck/g', [ref(2)], { replicas: 17 }),
    input('/ck/h', [ref(2)]),
  ]);
  t.deepEqual(
    bad.map((o) => (o.info ? 'ok' : o.error.code)),
    ['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'ok'],
  );
  t.deepEqual(await store.commitVersions([]), []);
});

test('CommitVersions: the batch commits survive a restart like single commits', async (t) => {
  const kv = new MemoryKeyValueStore();
  const store = await MetadataStore.open(kv, {});
  await benefactor(store, 'b1', 1024 * MiB);
  await store.reportStored([{ benefactorId: 'b1', refs: encodeRefs([ref(1), ref(2)]) }]);
  await store.commitVersions([
    input('/x', [ref(1)], { replicas: 1 }),
    input('/y', [ref(2)], { replicas: 1 }),
  ]);
  await store.commitVersions([input('/x', [ref(2)], { replicas: 1 })]);
  // Reopen on the same data (close would close the memory store: copy it through a second store).
  const copy = new MemoryKeyValueStore();
  const ops: KvOp[] = [];
  for await (const [key, value] of kv.entries('')) ops.push({ type: 'put', key, value });
  await copy.batch(ops);
  await store.close();
  const again = await MetadataStore.open(copy, {});
  t.deepEqual(
    again.list('/').map((e) => [e.name, e.version, e.size]),
    [
      ['x', 2, 1000],
      ['y', 1, 1000],
    ],
  );
  t.is(again.chunkInfo(hash(1))?.refcount, 0);
  t.is(again.chunkInfo(hash(2))?.refcount, 2);
  await again.close();
});

test('replicatedCapacity: what r distinct copies fit in', (t) => {
  t.is(replicatedCapacity([100, 100], 2), 100);
  t.is(replicatedCapacity([100, 1], 2), 1, 'one full benefactor limits replicas 2 on two');
  t.is(replicatedCapacity([100, 0], 2), 0);
  t.is(replicatedCapacity([100, 100, 100], 2), 150);
  t.is(replicatedCapacity([300, 100, 100], 2), 200);
  t.is(replicatedCapacity([300, 100, 100], 3), 100);
  t.is(replicatedCapacity([300, 100, 100], 1), 500);
  t.is(replicatedCapacity([], 1), 0);
  t.is(replicatedCapacity([50, 50], 3), 0, 'fewer benefactors than replicas');
  // Placement is by batch: free space counts in whole batches.
  t.is(replicatedCapacity([1010, 110, 120], 2, 100), 200);
  t.is(replicatedCapacity([1010, 90, 120], 2, 100), 100, 'less than a batch takes nothing');
  t.is(replicatedCapacity([99, 99], 2, 100), 0);
});

test('ReserveSpace: raises fit the free space net of other reservations; lowering always works; reservations lapse', async (t) => {
  const { store, clock } = await open();
  await benefactor(store, 'b1', 100 * MiB);
  await benefactor(store, 'b2', 100 * MiB);
  const A = 'a'.repeat(32);
  const B = 'b'.repeat(32);
  t.deepEqual(store.reserveSpace(A, 60 * MiB, 2, 30_000, MiB), {
    bytes: 60 * MiB,
    availableBytes: 100 * MiB,
  });
  // B cannot have more than what is left at 2 replicas.
  let err = (() => {
    try {
      store.reserveSpace(B, 50 * MiB, 2, 30_000, MiB);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  expectCode(t, err, 'NO_SPACE');
  t.regex(String(err), /41943040 bytes available/);
  t.is(store.reserveSpace(B, 40 * MiB, 2, 30_000, MiB).bytes, 40 * MiB);
  // At replicas 1, A's 60 MiB x 2 and B's 40 MiB x 2 leave nothing of the 200 MiB raw (less G each).
  err = (() => {
    try {
      store.reserveSpace('c'.repeat(32), 1, 1, 30_000, MiB);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  expectCode(t, err, 'NO_SPACE');
  // A refused raise keeps (and renews) the previous size; lowering always succeeds.
  err = (() => {
    try {
      store.reserveSpace(A, 70 * MiB, 2, 30_000, MiB);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  expectCode(t, err, 'NO_SPACE');
  t.is(store.reserveSpace(A, 10 * MiB, 2, 30_000, MiB).bytes, 10 * MiB);
  t.is(store.reserveSpace(B, 90 * MiB, 2, 30_000, MiB).bytes, 90 * MiB, 'what A gave back is B’s to take');
  // B lapses after its TTL unless set again: then A may take everything (the benefactors keep beating).
  clock.now += 20_000;
  t.is(store.reserveSpace(A, 10 * MiB, 2, 30_000, MiB).bytes, 10 * MiB, 'renewed');
  clock.now += 15_000;
  for (const id of ['b1', 'b2']) {
    await store.heartbeat({ id, capacityBytes: 100 * MiB, usedBytes: 0, freeBytes: 100 * MiB, chunks: 0 });
  }
  t.is(store.reserveSpace(A, 100 * MiB, 2, 30_000, MiB).bytes, 100 * MiB, "B's reservation lapsed");
  t.is(store.reserveSpace(A, 0, 2, 30_000, MiB).bytes, 0, 'dropped');
  t.throws(() => store.reserveSpace(A, 1, 0, 30_000, MiB), { message: /replicas/ });
  t.throws(() => store.reserveSpace(A, 1, 2, 10), { message: /ttl_ms/ });
  t.throws(() => store.reserveSpace(A, 1, 2, 30_000, 1), { message: /batch_bytes/ });
  // Small batches use crumbs a 1 MiB batch cannot: two benefactors with 100 KiB left take a 64 KiB file.
  const f2 = await open();
  await benefactor(f2.store, 'b1', 100 * 1024);
  await benefactor(f2.store, 'b2', 100 * 1024);
  t.is(f2.store.reserveSpace(A, 64 * 1024, 2, 30_000, 64 * 1024).bytes, 64 * 1024);
  t.throws(() => f2.store.reserveSpace(B, 64 * 1024, 2, 30_000, 1024 * 1024), { message: /no space/ });
});

test('ReserveSpace: while benefactors are silent (after a manager start, lost), a raise that would fit with them is UNAVAILABLE, not NO_SPACE', async (t) => {
  const kv = new MemoryKeyValueStore();
  const f = { clock: { now: 1_700_000_000_000 } };
  const first = await MetadataStore.open(kv, { clock: () => f.clock.now });
  await benefactor(first, 'b1', 100 * MiB);
  await benefactor(first, 'b2', 100 * MiB);
  // Reopen on the same records: the benefactors are known, not heard from yet.
  const copy = new MemoryKeyValueStore();
  const ops: KvOp[] = [];
  for await (const [key, value] of kv.entries('')) ops.push({ type: 'put', key, value });
  await copy.batch(ops);
  await first.close();
  const store = await MetadataStore.open(copy, { clock: () => f.clock.now, heartbeatTimeoutMs: 10_000 });
  const A = 'a'.repeat(32);
  t.throws(() => store.reserveSpace(A, MiB, 2, 30_000, MiB), { message: /silent/ });
  for (const id of ['b1', 'b2']) {
    await store.heartbeat({ id, capacityBytes: 100 * MiB, usedBytes: 0, freeBytes: 100 * MiB, chunks: 0 });
  }
  t.is(store.reserveSpace(A, MiB, 2, 30_000, MiB).bytes, MiB);
  t.throws(() => store.reserveSpace(A, 200 * MiB, 2, 30_000, MiB), { message: /no space/ });
  // One of the two falls silent (lost, maybe restarting): a raise is "retry", not "full".
  f.clock.now += 11_000;
  await store.heartbeat({
    id: 'b1',
    capacityBytes: 100 * MiB,
    usedBytes: 0,
    freeBytes: 100 * MiB,
    chunks: 0,
  });
  t.throws(() => store.reserveSpace(A, 2 * MiB, 2, 30_000, MiB), { message: /1 benefactor\(s\) silent/ });
  await store.close();
});

test('ReserveSpace: a benefactor that stopped beating takes nothing; recent placements count as used', async (t) => {
  const { store, clock } = await open();
  await benefactor(store, 'b1', 100 * MiB);
  await benefactor(store, 'b2', 100 * MiB);
  await benefactor(store, 'b3', 100 * MiB);
  const A = 'a'.repeat(32);
  t.is(store.reserveSpace(A, 1, 2, 30_000, MiB).availableBytes, 150 * MiB);
  // Placement of an upload reserves 40 MiB on two benefactors until their next heartbeat.
  const prep = store.prepareChunks(encodeRefs([ref('big', 16 * MiB), ref('big2', 16 * MiB)]), 2);
  t.is(prep.targets.length, 2);
  t.is(store.reserveSpace(A, 1, 2, 30_000, MiB).availableBytes, 118 * MiB);
  // A lookup only (the write-back mount's check at close) chooses no target and sets nothing aside.
  const look = store.prepareChunks(encodeRefs([ref('big3', 16 * MiB)]), 2, true);
  t.deepEqual([...look.present], [0]);
  t.deepEqual(look.targets, []);
  t.is(store.reserveSpace(A, 1, 2, 30_000, MiB).availableBytes, 118 * MiB);
  // b3 stops beating: only b1 and b2 remain (their placement reservations end with their beat).
  clock.now += 11_000;
  for (const id of ['b1', 'b2']) {
    await store.heartbeat({ id, capacityBytes: 100 * MiB, usedBytes: 0, freeBytes: 100 * MiB, chunks: 0 });
  }
  t.is(store.reserveSpace(A, 1, 2, 30_000, MiB).availableBytes, 100 * MiB);
});
