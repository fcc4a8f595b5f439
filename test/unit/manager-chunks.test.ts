import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ChunkIndex } from '../../src/manager/chunk-index.ts';
import { CommandQueues } from '../../src/manager/commands.ts';
import { ZeroQueue } from '../../src/manager/gc.ts';
import { LevelKeyValueStore, MemoryKeyValueStore } from '../../src/manager/kv.ts';
import type { KeyValueStore } from '../../src/manager/kv.ts';
import { MetadataStore } from '../../src/manager/metadata-store.ts';
import type { HeartbeatResult, MetadataStoreOptions } from '../../src/manager/metadata-store.ts';
import { encodeRefs, decodeHashes } from '../../src/chunking/refs.ts';
import type { ChunkRef } from '../../src/chunking/refs.ts';
import { hashChunk } from '../../src/hashing/index.ts';
import { isStdchkError } from '../../src/errors/index.ts';

// The chunk side of the manager: the compact index, GC, repair planning,
// inventory reconciliation, command bounds, and a restart on real LevelDB.

const GiB = 1024 ** 3;
const dirs: string[] = [];
test.after.always(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const hash = (i: number | string) => hashChunk(Buffer.from(`chunk-${i}`));
const ref = (i: number | string, length = 1000): ChunkRef => ({ hash: hash(i), length });

interface Fixture {
  store: MetadataStore;
  clock: { now: number };
  advance(ms: number): void;
  beat(id: string, corrupt?: Buffer[]): Promise<HeartbeatResult>;
  register(id: string, host?: string): Promise<void>;
}

async function open(opts: MetadataStoreOptions = {}, kv: KeyValueStore = new MemoryKeyValueStore()) {
  const clock = { now: 1_700_000_000_000 };
  const store = await MetadataStore.open(kv, {
    clock: () => clock.now,
    heartbeatTimeoutMs: 10_000,
    gcGraceMs: 60_000,
    repairRetryMs: 30_000,
    reconcileIntervalMs: 300_000,
    ...opts,
  });
  return fixture(store, clock);
}

function fixture(store: MetadataStore, clock: { now: number }): Fixture {
  return {
    store,
    clock,
    advance: (ms) => (clock.now += ms),
    beat: (id, corrupt = []) =>
      store.heartbeat({
        id,
        capacityBytes: 100 * GiB,
        usedBytes: 0,
        freeBytes: 100 * GiB,
        chunks: 0,
        corruptHashes: Buffer.concat(corrupt),
      }),
    register: async (id, host = id) => {
      await store.registerBenefactor({
        id,
        host,
        address: `127.0.0.1:${20_000 + Number(id.replace(/\D/g, ''))}`,
        capacityBytes: 100 * GiB,
        usedBytes: 0,
        freeBytes: 100 * GiB,
        chunks: 0,
      });
    },
  };
}

function commit(f: Fixture, p: string, refs: ChunkRef[], replicas = 2) {
  return f.store.commitVersion({
    path: p,
    refs: encodeRefs(refs),
    size: refs.reduce((n, r) => n + r.length, 0),
    replicas,
  });
}

function deletesIn(r: HeartbeatResult): string[] {
  return r.commands.flatMap((c) =>
    c.kind === 'delete' ? decodeHashes(c.hashes).map((h) => h.toString('hex')) : [],
  );
}

function replicationsIn(r: HeartbeatResult): { source: string; hashes: string[] }[] {
  return r.commands.flatMap((c) =>
    c.kind === 'replicate'
      ? [{ source: c.source.id, hashes: decodeHashes(c.hashes).map((h) => h.toString('hex')) }]
      : [],
  );
}

/** Moves the clock in heartbeat-sized steps, keeping `alive` benefactors beating. */
async function passTime(f: Fixture, ms: number, alive: string[]): Promise<HeartbeatResult[]> {
  const replies: HeartbeatResult[] = [];
  for (let left = ms; left > 0; left -= 1000) {
    f.advance(Math.min(1000, left));
    for (const id of alive) replies.push(await f.beat(id));
    f.store.checkLiveness();
  }
  return replies;
}

// ---------------------------------------------------------------- the index itself

test('chunk index: find and findMany agree with a Map over random inserts and removals', (t) => {
  const index = new ChunkIndex(16);
  const model = new Map<string, number>();
  const hashes: Buffer[] = [];
  for (let i = 0; i < 40_000; i++) hashes.push(randomBytes(32));
  for (const h of hashes) model.set(h.toString('hex'), index.insert(h, 0, 1 + (h[0] as number), 0, 0));
  t.is(index.size, hashes.length);
  for (let i = 0; i < hashes.length; i += 2) {
    const h = hashes[i] as Buffer;
    index.remove(model.get(h.toString('hex')) as number);
    model.delete(h.toString('hex'));
  }
  for (let i = 0; i < 10_000; i++) {
    const h = randomBytes(32);
    hashes.push(h);
    model.set(h.toString('hex'), index.insert(h, 0, 7, 0, 0));
  }
  for (const h of hashes) {
    const id = index.find(h, 0);
    const expected = model.get(h.toString('hex'));
    t.is(id, expected ?? -1);
    if (expected !== undefined) t.deepEqual(index.hash(id), h);
  }
  t.is(index.size, model.size);
  const packed = Buffer.concat(hashes);
  const many = new Int32Array(hashes.length);
  index.findMany(packed, 0, 32, hashes.length, many);
  t.deepEqual(
    Array.from(many),
    hashes.map((h) => model.get(h.toString('hex')) ?? -1),
  );
  let bytes = 0;
  for (const id of index.ids()) bytes += index.length(id);
  t.is(index.storedBytes, bytes);
  t.true(index.memoryBytes() / index.size < 200);
});

test('chunk index: holders inline and spilled, found at an offset inside a packed buffer', (t) => {
  const index = new ChunkIndex();
  const packed = Buffer.concat([randomBytes(36), randomBytes(36)]);
  const id = index.insert(packed, 36, 4096, 2, 0);
  t.is(index.find(packed, 36), id);
  t.is(index.find(packed, 0), -1);
  for (let num = 1; num <= 7; num++) t.true(index.addHolder(id, num));
  t.false(index.addHolder(id, 3));
  t.deepEqual(Array.from(index.holders(id)), [1, 2, 3, 4, 5, 6, 7]);
  const alive = new Uint8Array(8);
  alive[2] = alive[6] = 1;
  t.is(index.liveCount(id, alive), 2);
  t.true(index.removeHolder(id, 2));
  t.true(index.removeHolder(id, 5));
  t.true(index.removeHolder(id, 1));
  t.false(index.removeHolder(id, 1));
  t.deepEqual(Array.from(index.holders(id)), [3, 4, 6, 7]);
  t.true(index.hasHolder(id, 7));
  t.is(index.liveCount(id, alive), 1);
});

test('command queues: deletes and copies are bounded per heartbeat; an upload cancels a queued delete', (t) => {
  const q = new CommandQueues();
  for (let i = 0; i < 25; i++) q.queueDelete(1, hash(i));
  q.queueDelete(1, hash(0));
  t.is(q.pendingDeletions, 25);
  q.cancelDelete(1, hash(3));
  t.false(q.hasDelete(1, hash(3)));
  for (let i = 0; i < 10; i++) q.queueReplication(2, { record: i, hash: hash(i), length: 40, source: 3 });
  const first = q.take(1, { maxDeletes: 20, maxReplicationBytes: 100 });
  t.is(first.deletes.length, 20);
  t.is(q.take(1, { maxDeletes: 20, maxReplicationBytes: 100 }).deletes.length, 4);
  t.is(q.pendingDeletions, 0);
  t.is(q.take(2, { maxDeletes: 20, maxReplicationBytes: 100 }).replications.length, 2);
  t.is(q.take(2, { maxDeletes: 20, maxReplicationBytes: 10 }).replications.length, 1, 'at least one');
  const dropped = q.dropBenefactor(3);
  t.is(dropped.length, 7);
  t.is(q.queuedReplicationBytes(2), 0);
});

test('zero queue: yields only due, still-valid entries', (t) => {
  const z = new ZeroQueue();
  z.push(1, 10);
  z.push(2, 20);
  z.push(3, 30);
  t.deepEqual(
    z.takeDue(25, 10, (id) => id !== 1),
    [2],
  );
  t.deepEqual(
    z.takeDue(100, 10, () => true),
    [3],
  );
  t.is(z.length, 0);
});

// ---------------------------------------------------------------- GC

test('GC: uncommitted chunks are deleted from live holders after the grace, referenced ones never', async (t) => {
  const f = await open({ uploadGraceMs: 60_000 });
  await f.register('b1');
  await f.register('b2');
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs([ref(1), ref(2), ref(3)]) },
    { benefactorId: 'b2', refs: encodeRefs([ref(1), ref(2)]) },
  ]);
  await commit(f, '/keep', [ref(1)]);
  await passTime(f, 30_000, ['b1', 'b2']);
  t.is(await f.store.collectGarbage(), 0, 'inside the grace');
  await commit(f, '/late', [ref(2)]);
  await passTime(f, 31_000, ['b1', 'b2']);
  t.is(await f.store.collectGarbage(), 1);
  t.is(f.store.chunkInfo(hash(3)), undefined);
  t.like(f.store.status(), { chunks: 2, pendingDeletions: 1, storedBytes: 2000 });
  t.deepEqual(deletesIn(await f.beat('b1')), [hash(3).toString('hex')]);
  t.deepEqual(deletesIn(await f.beat('b2')), []);
  t.is(f.store.status().pendingDeletions, 0);

  // Released later: collected one grace after the refcount reached 0.
  await f.store.remove('/late');
  await passTime(f, 59_000, ['b1', 'b2']);
  t.is(await f.store.collectGarbage(), 0);
  await passTime(f, 2_000, ['b1', 'b2']);
  t.is(await f.store.collectGarbage(), 1);
  t.deepEqual(deletesIn(await f.beat('b2')), [hash(2).toString('hex')]);
});

test('GC: a chunk uploaded again before its delete was sent keeps its new copy', async (t) => {
  const f = await open({ gcGraceMs: 1000, uploadGraceMs: 1000 });
  await f.register('b1');
  await f.store.reportStored([{ benefactorId: 'b1', refs: encodeRefs([ref(1)]) }]);
  await passTime(f, 2000, ['b1']);
  t.is(await f.store.collectGarbage(), 1);
  await f.store.reportStored([{ benefactorId: 'b1', refs: encodeRefs([ref(1)]) }]);
  t.deepEqual(deletesIn(await f.beat('b1')), []);
  await commit(f, '/f', [ref(1)], 1);
  t.is(f.store.chunkInfo(hash(1))?.refcount, 1);
});

test('GC: a dedup hit on an unreferenced chunk restarts its grace, so the commit that follows finds it', async (t) => {
  const f = await open({ gcGraceMs: 10_000, uploadGraceMs: 10_000 });
  await f.register('b1');
  await f.store.reportStored([{ benefactorId: 'b1', refs: encodeRefs([ref(1), ref(2)]) }]);
  await passTime(f, 8_000, ['b1']);
  t.deepEqual([...f.store.prepareChunks(encodeRefs([ref(1)]), 1).present], [1]);
  await passTime(f, 8_000, ['b1']);
  t.is(await f.store.collectGarbage(), 1, 'only the chunk nobody asked for');
  t.is(f.store.chunkInfo(hash(2)), undefined);
  t.is((await commit(f, '/f', [ref(1)], 1)).version, 1);
});

test('GC: an upload no commit has referenced yet outlives the short grace (a long write commits late)', async (t) => {
  const f = await open({ gcGraceMs: 2_000 });
  t.is(f.store.settings.uploadGraceMs, 3_600_000);
  await f.register('b1');
  await f.store.reportStored([{ benefactorId: 'b1', refs: encodeRefs([ref(1), ref(2)]) }]);
  await passTime(f, 10_000, ['b1']);
  t.is(await f.store.collectGarbage(), 0);
  await commit(f, '/late', [ref(1)], 1);
  await f.store.remove('/late');
  await passTime(f, 3_000, ['b1']);
  t.is(await f.store.collectGarbage(), 1, 'released chunks go after gcGrace');
  t.deepEqual(deletesIn(await f.beat('b1')), [hash(1).toString('hex')]);
  f.advance(3_600_000);
  await f.beat('b1');
  t.is(await f.store.collectGarbage(), 1, 'the never-committed upload goes after the upload grace');
});

// ---------------------------------------------------------------- repair

test('repair: a lost holder is replaced from a live one, on a distinct host, once reported it is done', async (t) => {
  const f = await open({ random: () => 0.5 });
  await f.register('b1', 'h1');
  await f.register('b2', 'h2');
  await f.register('b3', 'h3');
  await f.register('b4', 'h2');
  const refs = [ref(1), ref(2), ref(3)];
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs(refs) },
    { benefactorId: 'b2', refs: encodeRefs(refs) },
  ]);
  await commit(f, '/f', refs);
  t.is(f.store.runRepair(), undefined, 'held back right after start');
  await passTime(f, 10_000, ['b1', 'b2', 'b3', 'b4']);
  t.is(f.store.runRepair()?.queued, 0, 'healthy: nothing to do');
  t.is(f.store.runRepair(), undefined, 'no event since: no scan');

  await passTime(f, 11_000, ['b2', 'b3', 'b4']);
  t.like(f.store.status(), { underReplicatedChunks: 3 });
  t.like(f.store.runRepair(), { queued: 3, bytes: 3000 });
  t.is(f.store.status().repairsInProgress, 3);
  t.is(f.store.runRepair()?.queued, 0, 'in progress: not planned twice');
  const reply = await f.beat('b3');
  t.deepEqual(replicationsIn(reply), [{ source: 'b2', hashes: refs.map((r) => r.hash.toString('hex')) }]);
  t.deepEqual(replicationsIn(await f.beat('b4')), [], 'b4 shares host h2 with the surviving copy');
  await f.store.reportStored([{ benefactorId: 'b3', refs: encodeRefs(refs) }]);
  t.like(f.store.status(), { underReplicatedChunks: 0, repairsInProgress: 0 });
});

test('repair: more to copy than one pass may queue (256 MiB per target) is planned over later passes, none forgotten', async (t) => {
  const f = await open();
  await f.register('b1', 'h1');
  await f.register('b2', 'h2');
  // A --sync-replicas 1 write: 300 one-MiB chunks on b1 only, committed with a target of 2.
  const refs = Array.from({ length: 300 }, (_, i) => ref(`big-${i}`, 1024 * 1024));
  await f.store.reportStored([{ benefactorId: 'b1', refs: encodeRefs(refs) }]);
  await commit(f, '/big', refs);
  await passTime(f, 11_000, ['b1', 'b2']);
  const first = f.store.runRepair();
  t.is(first?.queued, 256, 'one pass fills the target queue');
  const sent: string[] = [];
  for (let round = 0; round < 20 && new Set(sent).size < 300; round++) {
    sent.push(...replicationsIn(await f.beat('b2')).flatMap((c) => c.hashes));
    f.store.runRepair();
  }
  t.is(new Set(sent).size, 300, 'every chunk is copied once');
  await f.store.reportStored([{ benefactorId: 'b2', refs: encodeRefs(refs) }]);
  t.like(f.store.status(), { underReplicatedChunks: 0, repairsInProgress: 0 });
});

test('repair: copies without a report are planned again after the retry delay; corrupt copies are replaced', async (t) => {
  const f = await open({ repairRetryMs: 5_000 });
  await f.register('b1', 'h1');
  await f.register('b2', 'h2');
  await f.register('b3', 'h3');
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs([ref(1)]) },
    { benefactorId: 'b2', refs: encodeRefs([ref(1)]) },
  ]);
  await commit(f, '/f', [ref(1)]);
  await passTime(f, 11_000, ['b1', 'b2', 'b3']);
  f.store.runRepair();
  await f.beat('b1', [hash(1)]);
  t.deepEqual(f.store.chunkInfo(hash(1))?.holders, ['b2']);
  t.is(f.store.runRepair()?.queued, 1);
  const target = ['b1', 'b3'];
  let sent: string | undefined;
  for (const id of target) if (replicationsIn(await f.beat(id)).length) sent = id;
  t.truthy(sent);
  await passTime(f, 3_000, ['b1', 'b2', 'b3']);
  t.is(f.store.runRepair()?.queued, 0, 'still waiting for the report');
  await passTime(f, 3_000, ['b1', 'b2', 'b3']);
  t.is(f.store.runRepair()?.queued, 1, 'retried');
});

// ---------------------------------------------------------------- inventory

test('inventory: unknown chunks deleted only after the grace; absent copies dropped; unrecorded ones added', async (t) => {
  const f = await open({ gcGraceMs: 20_000 });
  await f.register('b1');
  await f.register('b2');
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs([ref(1), ref(2)]) },
    { benefactorId: 'b2', refs: encodeRefs([ref(1), ref(2)]) },
  ]);
  await commit(f, '/f', [ref(1), ref(2)]);
  // b1 lost chunk 2, holds an unknown chunk 9, and also holds chunk 1 split over two parts.
  const first = await f.store.reconcileInventory('b1', [encodeRefs([ref(1)]), encodeRefs([ref(9)])]);
  t.deepEqual(first, { chunksKnown: 1, chunksOrphaned: 0, replicasMissing: 1 });
  t.deepEqual(f.store.chunkInfo(hash(2))?.holders, ['b2']);
  t.deepEqual(deletesIn(await f.beat('b1')), []);
  await passTime(f, 21_000, ['b1', 'b2']);
  const second = await f.store.reconcileInventory('b1', [encodeRefs([ref(1), ref(9)])]);
  t.like(second, { chunksOrphaned: 1 });
  t.deepEqual(deletesIn(await f.beat('b1')), [hash(9).toString('hex')]);

  // b2 also stores a committed chunk the manager did not record there.
  await f.register('b3');
  await f.store.reconcileInventory('b3', [encodeRefs([ref(2)])]);
  t.deepEqual(f.store.chunkInfo(hash(2))?.holders.sort(), ['b2', 'b3']);
  await t.throwsAsync(() => f.store.reconcileInventory('nobody', []), {
    message: /unknown benefactor nobody/,
  });
});

test('inventory: a benefactor back from the dead drops copies repair made elsewhere meanwhile', async (t) => {
  const f = await open();
  for (const id of ['b1', 'b2', 'b3']) await f.register(id);
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs([ref(1)]) },
    { benefactorId: 'b2', refs: encodeRefs([ref(1)]) },
  ]);
  await commit(f, '/f', [ref(1)]);
  await passTime(f, 12_000, ['b2', 'b3']);
  f.store.runRepair();
  t.is(replicationsIn(await f.beat('b3')).length, 1);
  await f.store.reportStored([{ benefactorId: 'b3', refs: encodeRefs([ref(1)]) }]);
  const back = await f.beat('b1');
  t.true(back.sendInventory, 'asked for its inventory');
  const result = await f.store.reconcileInventory('b1', [encodeRefs([ref(1)])]);
  t.like(result, { chunksKnown: 1, chunksOrphaned: 1 });
  t.deepEqual(deletesIn(await f.beat('b1')), [hash(1).toString('hex')]);
  t.deepEqual(f.store.chunkInfo(hash(1))?.holders.sort(), ['b2', 'b3']);
  t.false((await f.beat('b1')).sendInventory, 'reconciled just now');
});

test('inventory: chunks collected while a benefactor was away leave it one grace after its return', async (t) => {
  const f = await open({ gcGraceMs: 5_000 });
  for (const id of ['b1', 'b2', 'b3']) await f.register(id);
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs([ref(1), ref(2)]) },
    { benefactorId: 'b2', refs: encodeRefs([ref(1), ref(2)]) },
  ]);
  await commit(f, '/keep', [ref(1)]);
  await commit(f, '/gone', [ref(2)]);
  await passTime(f, 11_000, ['b2', 'b3']);
  await f.store.remove('/gone');
  await passTime(f, 6_000, ['b2', 'b3']);
  t.is(await f.store.collectGarbage(), 1);
  t.is(f.store.status().pendingDeletions, 1, 'only the live holder is told to delete');

  t.true((await f.beat('b1')).sendInventory, 'back: asked for its inventory');
  const first = await f.store.reconcileInventory('b1', [encodeRefs([ref(1), ref(2)])]);
  t.like(first, { chunksKnown: 1, chunksOrphaned: 0 }, 'the unknown chunk may be an upload in flight');
  t.false((await f.beat('b1')).sendInventory);
  await passTime(f, 4_000, ['b1', 'b2', 'b3']);
  t.false((await f.beat('b1')).sendInventory, 'inside the grace');
  await passTime(f, 3_000, ['b2', 'b3']);
  t.true((await f.beat('b1')).sendInventory, 'asked again once the grace is over, not after 5 minutes');
  t.like(await f.store.reconcileInventory('b1', [encodeRefs([ref(1), ref(2)])]), { chunksOrphaned: 1 });
  t.deepEqual(deletesIn(await f.beat('b1')), [hash(2).toString('hex')]);
  await passTime(f, 7_000, ['b1', 'b2', 'b3']);
  t.false((await f.beat('b1')).sendInventory, 'no third one');

  // A benefactor that was never away gets no early second inventory for unknown chunks.
  await f.store.reconcileInventory('b3', [encodeRefs([ref(9)])]);
  await passTime(f, 7_000, ['b1', 'b2', 'b3']);
  t.false((await f.beat('b3')).sendInventory);
});

test('repair: copies a returning holder made unnecessary are deleted again, never below the target', async (t) => {
  const f = await open();
  for (const id of ['b1', 'b2', 'b3']) await f.register(id);
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs([ref(1), ref(2)]) },
    { benefactorId: 'b2', refs: encodeRefs([ref(1), ref(2)]) },
  ]);
  await commit(f, '/f', [ref(1), ref(2)]);
  await passTime(f, 12_000, ['b2', 'b3']);
  t.like(f.store.runRepair(), { queued: 2 });
  t.is(replicationsIn(await f.beat('b3'))[0]?.hashes.length, 2);
  await f.beat('b1');
  // Copy 1 lands before b1's inventory: kept, b1's own copy is the surplus one.
  await f.store.reportStored([{ benefactorId: 'b3', refs: encodeRefs([ref(1)]) }]);
  t.deepEqual(f.store.chunkInfo(hash(1))?.holders.sort(), ['b1', 'b2', 'b3']);
  await f.store.reconcileInventory('b1', [encodeRefs([ref(1), ref(2)])]);
  t.deepEqual(f.store.chunkInfo(hash(1))?.holders.sort(), ['b2', 'b3']);
  t.deepEqual(deletesIn(await f.beat('b1')), [hash(1).toString('hex')]);
  // Copy 2 lands after it: the new copy is the surplus one.
  await f.store.reportStored([{ benefactorId: 'b3', refs: encodeRefs([ref(2)]) }]);
  t.deepEqual(f.store.chunkInfo(hash(2))?.holders.sort(), ['b1', 'b2']);
  t.deepEqual(deletesIn(await f.beat('b3')), [hash(2).toString('hex')]);
  t.like(f.store.status(), { underReplicatedChunks: 0, repairsInProgress: 0 });

  // A copy still queued when the holder returns is not sent at all.
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs([ref(3)]) },
    { benefactorId: 'b2', refs: encodeRefs([ref(3)]) },
  ]);
  await commit(f, '/g', [ref(3)]);
  await passTime(f, 12_000, ['b2', 'b3']);
  t.like(f.store.runRepair(), { queued: 2 }, 'chunks 2 and 3: b1 is away again');
  await f.beat('b1');
  t.deepEqual(replicationsIn(await f.beat('b3')), []);
  t.like(f.store.status(), { underReplicatedChunks: 0, repairsInProgress: 0 });
});

test('heartbeats: an inventory request lost with its reply is made again two beats later, not a minute', async (t) => {
  const f = await open({ heartbeatIntervalMs: 1_000 });
  await f.register('b1'); // its reply (send_inventory) never arrives
  f.advance(1_000);
  t.false((await f.beat('b1')).sendInventory, 'one beat: maybe still on its way');
  f.advance(1_500);
  t.true((await f.beat('b1')).sendInventory, 'asked again');
  f.advance(500);
  await f.store.reconcileInventory('b1', [encodeRefs([])]);
  f.advance(1_000);
  t.false((await f.beat('b1')).sendInventory, 'received: not asked again');

  // An inventory that began is given the long patience (it may be large).
  await f.register('b2');
  const session = f.store.beginInventory('b2');
  f.advance(5_000);
  t.false((await f.beat('b2')).sendInventory);
  f.store.abortInventory(session);
});

test('heartbeats: unknown ids must re-register; commands respect the per-beat bounds', async (t) => {
  const f = await open({
    commandLimits: { maxDeletes: 2, maxReplicationBytes: 1500 },
    gcGraceMs: 1,
    uploadGraceMs: 1,
  });
  t.deepEqual(await f.beat('ghost'), { commands: [], reregister: true, sendInventory: false });
  await f.register('b1');
  await f.store.reportStored([{ benefactorId: 'b1', refs: encodeRefs([ref(1), ref(2), ref(3)]) }]);
  await passTime(f, 1000, ['b1']);
  await f.store.collectGarbage();
  t.is(deletesIn(await f.beat('b1')).length, 2);
  t.is(deletesIn(await f.beat('b1')).length, 1);
  await t.throwsAsync(() => f.store.reportStored([{ benefactorId: 'nobody', refs: encodeRefs([ref(1)]) }]), {
    message: 'unknown benefactor nobody',
  });
});

// ---------------------------------------------------------------- restart

test('restart on LevelDB: namespace, versions and chunk index survive; reader-pinned versions are released', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stdchk-manager-unit-'));
  dirs.push(dir);
  const db = path.join(dir, 'db');
  const f = await open({}, await LevelKeyValueStore.open(db));
  await f.register('b1', 'h1');
  await f.register('b2', 'h2');
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs([ref(1), ref(2), ref(3)]) },
    { benefactorId: 'b2', refs: encodeRefs([ref(1), ref(2)]) },
  ]);
  await f.store.mkdir('/jobs/a', { parents: true });
  await commit(f, '/jobs/a/ckpt', [ref(1), ref(2)]);
  await f.store.openVersion('/jobs/a/ckpt');
  const v2 = await commit(f, '/jobs/a/ckpt', [ref(2)]);
  await f.store.symlink('/latest', '/jobs/a/ckpt');
  t.is(f.store.chunkInfo(hash(1))?.refcount, 1, 'pinned before the restart');
  const before = f.store.status();
  await f.store.close();

  const clock = { now: f.clock.now + 5_000 };
  const again = fixture(
    await MetadataStore.open(await LevelKeyValueStore.open(db), { clock: () => clock.now }),
    clock,
  );
  t.deepEqual(again.store.stat('/jobs/a/ckpt'), v2);
  t.is(again.store.stat('/latest').target, '/jobs/a/ckpt');
  const opened = await again.store.openVersion('/jobs/a/ckpt');
  t.deepEqual(opened.refs, encodeRefs([ref(2)]));
  t.like(again.store.chunkInfo(hash(1)), { refcount: 0, zeroSince: clock.now, holders: ['b1', 'b2'] });
  t.like(again.store.chunkInfo(hash(2)), { refcount: 1, target: 2, holders: ['b1', 'b2'] });
  t.like(again.store.chunkInfo(hash(3)), { refcount: 0, holders: ['b1'] });
  const after = again.store.status();
  t.like(after, { files: before.files, directories: before.directories, chunks: 3, storedBytes: 3000 });
  t.deepEqual(
    after.benefactors.map((b) => [b.id, b.alive]),
    [
      ['b1', false],
      ['b2', false],
    ],
  );
  t.is(after.underReplicatedChunks, 1, 'nobody has heartbeated yet');
  await again.beat('b1');
  await again.beat('b2');
  t.is(again.store.status().underReplicatedChunks, 0);
  t.is((await again.store.mkdir('/new')).inode > v2.inode, true, 'inode numbers are never reused');
  await again.store.close();
});

test('restart: a commit waits (UNAVAILABLE) for holders not heard from since the start, and is refused (CONFLICT) once they are lost', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stdchk-manager-unit-'));
  dirs.push(dir);
  const db = path.join(dir, 'db');
  const f = await open({}, await LevelKeyValueStore.open(db));
  await f.register('b1', 'h1');
  await f.register('b2', 'h2');
  await f.store.reportStored([
    { benefactorId: 'b1', refs: encodeRefs([ref(1)]) },
    { benefactorId: 'b2', refs: encodeRefs([ref(1), ref(2)]) },
  ]);
  await commit(f, '/a', [ref(1), ref(2)], 1);
  await f.store.close();

  const clock = { now: f.clock.now + 5_000 };
  const again = fixture(
    await MetadataStore.open(await LevelKeyValueStore.open(db), {
      clock: () => clock.now,
      heartbeatTimeoutMs: 10_000,
    }),
    clock,
  );
  // Nobody has beaten yet: the chunks may well be there, so the writer is told to retry, not to upload again.
  const early = await t.throwsAsync(commit(again, '/b', [ref(1)], 1));
  t.true(isStdchkError(early, 'UNAVAILABLE'), String(early));
  await again.beat('b1');
  t.is((await commit(again, '/b', [ref(1)], 1)).size, 1000, 'a holder beat: the commit goes through');
  const waiting = await t.throwsAsync(commit(again, '/c', [ref(2)], 1));
  t.true(isStdchkError(waiting, 'UNAVAILABLE'), 'ref(2) lives on b2 only, not heard from yet');
  // b2 stays silent past the heartbeat timeout: declared lost, its chunks are really gone.
  await passTime(again, 11_000, ['b1']);
  const lost = await t.throwsAsync(commit(again, '/c', [ref(2)], 1));
  t.true(isStdchkError(lost, 'CONFLICT'), String(lost));
  t.regex(lost?.message ?? '', /not stored on any live benefactor/);
  t.throws(() => again.store.stat('/c'), undefined, 'nothing half-committed');
  await again.store.close();
});

test('inventory: a newer inventory from the same benefactor replaces an unfinished one', async (t) => {
  const f = await open();
  await f.register('b1');
  const old = f.store.beginInventory('b1');
  await f.store.inventoryPart(old, encodeRefs([ref(1)]));
  const fresh = f.store.beginInventory('b1');
  await t.throwsAsync(() => f.store.inventoryPart(old, encodeRefs([ref(2)])), { message: /newer inventory/ });
  await f.store.inventoryPart(fresh, encodeRefs([]));
  t.like(await f.store.finishInventory(fresh), { chunksKnown: 0, replicasMissing: 0 });
});
