import test from 'ava';
import { DeleteLedger } from '../../src/manager/delete-ledger.ts';
import { MemoryKeyValueStore } from '../../src/manager/kv.ts';
import type { BatchOptions, KeyValueStore, KvOp } from '../../src/manager/kv.ts';
import { MetadataStore } from '../../src/manager/metadata-store.ts';
import type { HeartbeatResult, MetadataStoreOptions } from '../../src/manager/metadata-store.ts';
import { decodeHashes, encodeRefs } from '../../src/chunking/refs.ts';
import type { ChunkRef } from '../../src/chunking/refs.ts';
import { hashChunk } from '../../src/hashing/index.ts';
import { isStdchkError } from '../../src/errors/index.ts';

// The manager's half of ordering deletion against new references
// (docs/reliability.md, "Deletion and new references"): a report older than a
// delete sent to that benefactor since never brings the copy back; the bound
// and GC's record deletion are durable before the deletes leave.

const GiB = 1024 ** 3;
const hash = (i: number) => hashChunk(Buffer.from(`chunk-${i}`));
const ref = (i: number, length = 1000): ChunkRef => ({ hash: hash(i), length });
const hexOf = (i: number) => hash(i).toString('hex');

/**
 * A memory store that remembers which batches were synced. `afterPowerLoss()`
 * is what a crash of the host leaves: LevelDB appends every batch to its log
 * in order, and a synced batch makes it and everything before it durable.
 */
class PowerLossKv implements KeyValueStore {
  private readonly live = new MemoryKeyValueStore();
  private readonly log: { ops: KvOp[]; sync: boolean }[] = [];

  async batch(ops: readonly KvOp[], options: BatchOptions = {}): Promise<void> {
    await this.live.batch(ops, options);
    const copy = ops.map((op): KvOp =>
      op.type === 'put' ? { ...op, value: Buffer.from(op.value) } : { ...op },
    );
    this.log.push({ ops: copy, sync: options.sync === true });
  }

  get(key: string) {
    return this.live.get(key);
  }
  entries(prefix: string) {
    return this.live.entries(prefix);
  }
  keys(prefix: string) {
    return this.live.keys(prefix);
  }
  close() {
    return this.live.close();
  }

  async afterPowerLoss(): Promise<MemoryKeyValueStore> {
    const kv = new MemoryKeyValueStore();
    let last = -1;
    this.log.forEach((b, i) => {
      if (b.sync) last = i;
    });
    for (let i = 0; i <= last; i++) await kv.batch(this.log[i]!.ops);
    return kv;
  }
}

interface Fixture {
  store: MetadataStore;
  clock: { now: number };
  /** A heartbeat carrying the benefactor's store stamp. */
  beat(id: string, stamp: number, corrupt?: Buffer[]): Promise<HeartbeatResult>;
  register(id: string): Promise<void>;
  /** Advances the clock in 1 s steps; every listed benefactor beats with its stamp. */
  pass(ms: number, stamps: Record<string, number>): Promise<HeartbeatResult[]>;
  report(id: string, refs: ChunkRef[], stamp?: number): Promise<void>;
  commit(p: string, refs: ChunkRef[], replicas?: number): Promise<unknown>;
}

async function open(
  opts: MetadataStoreOptions = {},
  kv: KeyValueStore = new MemoryKeyValueStore(),
  now = 1_700_000_000_000,
) {
  const clock = { now };
  const store = await MetadataStore.open(kv, {
    clock: () => clock.now,
    heartbeatTimeoutMs: 10_000,
    gcGraceMs: 1_000,
    uploadGraceMs: 1_000,
    ...opts,
  });
  const stats = { capacityBytes: 100 * GiB, usedBytes: 0, freeBytes: 100 * GiB, chunks: 0 };
  const f: Fixture = {
    store,
    clock,
    beat: (id, stamp, corrupt = []) =>
      store.heartbeat({ id, ...stats, corruptHashes: Buffer.concat(corrupt), stamp }),
    register: async (id) => {
      await store.registerBenefactor({
        id,
        host: id,
        address: `127.0.0.1:${20_000 + Number(id.slice(1))}`,
        ...stats,
      });
    },
    pass: async (ms, stamps) => {
      const replies: HeartbeatResult[] = [];
      for (let left = ms; left > 0; left -= 1000) {
        clock.now += Math.min(1000, left);
        for (const [id, stamp] of Object.entries(stamps)) replies.push(await f.beat(id, stamp));
        store.checkLiveness();
      }
      return replies;
    },
    report: (id, refs, stamp) =>
      store.reportStored([
        { benefactorId: id, refs: encodeRefs(refs), ...(stamp !== undefined ? { stamp } : {}) },
      ]),
    commit: (p, refs, replicas = 1) =>
      store.commitVersion({
        path: p,
        refs: encodeRefs(refs),
        size: refs.reduce((n, r) => n + r.length, 0),
        replicas,
      }),
  };
  return f;
}

function deletesIn(replies: HeartbeatResult | HeartbeatResult[]): { hashes: string[]; bound: number }[] {
  return [replies]
    .flat()
    .flatMap((r) => r.commands)
    .flatMap((c) =>
      c.kind === 'delete'
        ? [{ hashes: decodeHashes(c.hashes).map((h) => h.toString('hex')), bound: c.bound }]
        : [],
    );
}

const present = (f: Fixture, refs: ChunkRef[]) => [...f.store.prepareChunks(encodeRefs(refs), 1).present];

const sortedDeletes = (r: HeartbeatResult | HeartbeatResult[]) =>
  deletesIn(r).map((d) => ({ hashes: [...d.hashes].sort(), bound: d.bound }));

test('item 1: a writer re-sending its old reports after a CONFLICT does not resurrect chunks deleted since; new stores are accepted', async (t) => {
  const f = await open();
  await f.register('b1');
  await f.register('b2');
  // A slow writer's first chunks, stored at stamps 100 (b1) and 200 (b2).
  await f.report('b1', [ref(1), ref(2)], 100);
  await f.report('b2', [ref(1), ref(2)], 200);
  // No commit within the upload grace: collected; the deletes leave with the next beats.
  await f.pass(1_500, { b1: 110, b2: 210 });
  t.is(await f.store.collectGarbage(), 2);
  const both = [hexOf(1), hexOf(2)].sort();
  t.deepEqual(sortedDeletes(await f.beat('b1', 120)), [{ hashes: both, bound: 120 }]);
  t.deepEqual(sortedDeletes(await f.beat('b2', 220)), [{ hashes: both, bound: 220 }]);

  // The commit finds them missing (CONFLICT); the writer sends its reports again.
  await t.throwsAsync(f.commit('/slow', [ref(1), ref(2), ref(3)]), {
    message: /not stored on any live benefactor/,
  });
  await f.report('b1', [ref(1), ref(2)], 100);
  await f.report('b2', [ref(1), ref(2)], 200);
  t.is(f.store.chunkInfo(hash(1)), undefined, 'not back in the index');
  t.deepEqual(present(f, [ref(1), ref(2)]), [0, 0], 'the lookup says: upload them again');
  await t.throwsAsync(f.commit('/slow', [ref(1), ref(2)]), { message: /not stored on any live benefactor/ });

  // Uploaded again: stamped after the deletes' bounds (stored fresh, or renewed before the delete ran).
  await f.report('b1', [ref(1), ref(2)], 121);
  await f.report('b2', [ref(1), ref(2)], 221);
  t.deepEqual(f.store.chunkInfo(hash(1))?.holders.sort(), ['b1', 'b2']);
  t.like(await f.commit('/slow', [ref(1), ref(2)]), { version: 1 });
});

test('item 2: a store answered "existing" while the delete was on its way is not a new copy; one after the beat is', async (t) => {
  const f = await open();
  await f.register('b1');
  await f.report('b1', [ref(1)], 10);
  await f.commit('/old', [ref(1)]);
  await f.store.remove('/old');
  await f.pass(1_500, { b1: 10 });
  t.is(await f.store.collectGarbage(), 1);
  t.deepEqual(sortedDeletes(await f.beat('b1', 20)), [{ hashes: [hexOf(1)], bound: 20 }]);

  // A writer's dedup lookup no longer knows the chunk; its store on b1 is answered "existing".
  t.deepEqual(present(f, [ref(1)]), [0]);
  // Stamped before the beat that carried the delete: the delete may remove that copy.
  await f.report('b1', [ref(1)], 20);
  t.deepEqual(present(f, [ref(1)]), [0], 'never "present" on a holder whose delete is outstanding');
  await t.throwsAsync(f.commit('/new', [ref(1)]), { message: /not stored on any live benefactor/ });
  // Stamped after it: b1 refuses the delete (or stored it afresh after applying it).
  await f.report('b1', [ref(1)], 21);
  t.deepEqual(present(f, [ref(1)]), [1]);
  t.like(await f.commit('/new', [ref(1)]), { version: 1 });
  t.deepEqual(f.store.chunkInfo(hash(1))?.holders, ['b1']);
});

test('a delete still queued (not sent) is cancelled by a report of that copy, whatever its stamp', async (t) => {
  const f = await open();
  await f.register('b1');
  await f.report('b1', [ref(1)], 10);
  await f.pass(1_500, {});
  t.is(await f.store.collectGarbage(), 1);
  await f.report('b1', [ref(1)], 10);
  t.deepEqual(deletesIn(await f.beat('b1', 30)), [], 'nothing left to send');
  t.like(await f.commit('/f', [ref(1)]), { version: 1 });
});

test('sent deletes are remembered per chunk for the retention, then as a floor: prompt reports pass, old ones do not', async (t) => {
  const f = await open({ deleteRetainMs: 10_000 });
  await f.register('b1');
  await f.register('b2');
  t.true(
    await f.report('b2', [ref(9)]).then(() => true),
    'no delete ever went to b2: a report without a stamp counts',
  );
  t.deepEqual(f.store.chunkInfo(hash(9))?.holders, ['b2']);
  await f.report('b1', [ref(1)], 100);
  await f.pass(1_500, {});
  await f.store.collectGarbage();
  t.deepEqual(sortedDeletes(await f.beat('b1', 150)), [{ hashes: [hexOf(1)], bound: 150 }]);

  // Within the retention only that chunk's own record judges: another chunk stored at 120 is fine.
  await f.report('b1', [ref(2)], 120);
  t.deepEqual(f.store.chunkInfo(hash(2))?.holders, ['b1']);
  t.deepEqual(present(f, [ref(1)]), [0]);
  await f.report('b1', [ref(1)], 140);
  t.deepEqual(present(f, [ref(1)]), [0], 'chunk 1 reported at 140 <= 150: refused');
  await f.report('b1', [ref(1)]);
  t.deepEqual(present(f, [ref(1)]), [0], 'a report without a stamp is the oldest: refused');

  // After the retention: folded into b1's floor, reports of any chunk stored before 150 are old.
  await f.pass(11_000, { b1: 150, b2: 5 });
  await f.report('b1', [ref(3)], 149);
  t.is(f.store.chunkInfo(hash(3)), undefined);
  await f.report('b1', [ref(3)], 151);
  t.deepEqual(f.store.chunkInfo(hash(3))?.holders, ['b1']);
  // A chunk b1 is already recorded as holding is not questioned.
  await f.report('b1', [ref(2)], 1);
  t.deepEqual(f.store.chunkInfo(hash(2))?.holders, ['b1']);
});

test('a copy reported corrupt counts as deleted as of that beat: an older report does not bring it back', async (t) => {
  const f = await open();
  await f.register('b1');
  await f.register('b2');
  await f.report('b1', [ref(1)], 10);
  await f.report('b2', [ref(1)], 10);
  await f.commit('/f', [ref(1)], 2);
  await f.beat('b1', 50, [hash(1)]);
  t.deepEqual(f.store.chunkInfo(hash(1))?.holders, ['b2']);
  await f.report('b1', [ref(1)], 40);
  t.deepEqual(f.store.chunkInfo(hash(1))?.holders, ['b2'], 'answered "existing" before it was found corrupt');
  await f.report('b1', [ref(1)], 51);
  t.deepEqual(f.store.chunkInfo(hash(1))?.holders.sort(), ['b1', 'b2'], 'stored again after that beat');
});

test('restart: the highest bound sent is durable before the deletes leave, so stale reports stay refused after a power loss', async (t) => {
  const kv = new PowerLossKv();
  const f = await open({}, kv);
  await f.register('b1');
  await f.report('b1', [ref(1)], 100);
  await f.pass(1_500, {});
  await f.store.collectGarbage();
  t.deepEqual(sortedDeletes(await f.beat('b1', 150)), [{ hashes: [hexOf(1)], bound: 150 }]);

  const g = await open({}, await kv.afterPowerLoss(), f.clock.now + 5_000);
  await g.beat('b1', 160);
  await g.report('b1', [ref(1)], 100);
  t.is(g.store.chunkInfo(hash(1)), undefined, 'the old report is refused by the restarted manager');
  await g.report('b1', [ref(1)], 161);
  t.deepEqual(g.store.chunkInfo(hash(1))?.holders, ['b1']);
});

test('item 3: GC deletes a chunk record durably before its deletes leave (a power loss does not bring it back)', async (t) => {
  const kv = new PowerLossKv();
  const f = await open({}, kv);
  await f.register('b1');
  await f.register('b2');
  await f.report('b1', [ref(1)], 10);
  await f.report('b2', [ref(1)], 10);
  f.clock.now += 10;
  await f.commit('/f', [ref(1)], 2); // synced: the chunk record is durable
  f.clock.now += 10;
  await f.store.remove('/f');
  await f.pass(1_500, { b1: 10, b2: 10 });
  t.is(await f.store.collectGarbage(), 1);
  t.is(deletesIn([await f.beat('b1', 20), await f.beat('b2', 20)]).length, 2, 'the deletes left');

  const g = await open({}, await kv.afterPowerLoss(), f.clock.now + 5_000);
  await g.beat('b1', 30);
  await g.beat('b2', 30);
  t.is(g.store.chunkInfo(hash(1)), undefined, 'still collected after the power loss');
  t.deepEqual(present(g, [ref(1)]), [0], 'a writer uploads it again instead of referencing deleted copies');
});

test('a location removed because its copy is surplus is durable before the delete is queued', async (t) => {
  const kv = new PowerLossKv();
  const f = await open({}, kv);
  for (const id of ['b1', 'b2', 'b3']) await f.register(id);
  await f.report('b1', [ref(1)], 10);
  await f.report('b2', [ref(1)], 10);
  await f.commit('/f', [ref(1)], 2);
  // b1 goes silent and is lost; repair copies the chunk to b3.
  const replies = await f.pass(12_000, { b2: 10, b3: 10 });
  t.like(f.store.runRepair(), { queued: 1 });
  t.true((await f.beat('b3', 10)).commands.some((c) => c.kind === 'replicate'));
  await f.report('b3', [ref(1)], 11);
  // b1 returns with its old copy: its inventory trims the surplus one.
  await f.beat('b1', 10);
  await f.store.reconcileInventory('b1', [encodeRefs([ref(1)])]);
  t.deepEqual(f.store.chunkInfo(hash(1))?.holders.sort(), ['b2', 'b3']);
  t.deepEqual(
    deletesIn(await f.beat('b1', 12)).map((d) => d.hashes),
    [[hexOf(1)]],
  );
  t.true(replies.length > 0);

  const g = await open({}, await kv.afterPowerLoss(), f.clock.now + 5_000);
  t.false(
    g.store.chunkInfo(hash(1))?.holders.includes('b1'),
    'b1, told to delete its copy, is not a holder after a power loss',
  );
});

test('delete ledger: per-chunk records, a floor per benefactor, expiry and the cap', (t) => {
  const l = new DeleteLedger({ retainMs: 1_000, maxRecords: 3 });
  const buf = Buffer.concat([hash(1), hash(2), hash(3), hash(4)]);
  l.sent(1, [hash(1)], 100, 0);
  t.true(l.refuses(1, buf, 0, 100));
  t.false(l.refuses(1, buf, 0, 101));
  t.false(l.refuses(1, buf, 32, 50), 'another chunk');
  t.false(l.refuses(2, buf, 0, 50), 'another benefactor');
  l.sent(1, [hash(2), hash(3)], 200, 500);
  l.sent(1, [hash(4)], 300, 600); // over the cap: the oldest record folds into the floor
  t.is(l.size, 3);
  t.is(l.floor(1), 100);
  t.true(l.refuses(1, buf, 32, 99), 'below the floor');
  l.expire(1_550);
  t.is(l.floor(1), 200);
  t.is(l.size, 1);
  t.true(l.refuses(1, buf, 96, 300));
  t.false(l.refuses(1, buf, 96, 301));
  t.false(l.refuses(1, buf, 0, 201));
});

test('old peers: a benefactor without stamps gets bound 0; writers without stamps are refused only once a delete went there', async (t) => {
  const f = await open();
  await f.register('b1');
  await f.report('b1', [ref(1)]);
  await f.pass(1_500, {});
  await f.store.collectGarbage();
  const sent = deletesIn(
    await f.store.heartbeat({ id: 'b1', capacityBytes: GiB, usedBytes: 0, freeBytes: GiB, chunks: 0 }),
  );
  t.deepEqual(sent, [{ hashes: [hexOf(1)], bound: 0 }]);
  await f.report('b1', [ref(1)]);
  t.is(f.store.chunkInfo(hash(1)), undefined);
  t.true(isStdchkError(await f.commit('/f', [ref(1)]).catch((e: unknown) => e), 'CONFLICT'));
});
