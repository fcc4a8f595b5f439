import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BOOT_FILE, EPOCH_FACTOR, PendingDeletes, StoreStamps } from '../../src/benefactor/stamps.ts';
import { PackChunkStore } from '../../src/benefactor/pack-store.ts';
import type { StoredChunk } from '../../src/benefactor/chunk-store.ts';
import { hashChunk } from '../../src/hashing/index.ts';
import { isStdchkError } from '../../src/errors/index.ts';

// The benefactor's half of ordering deletion against new references
// (docs/reliability.md, "Deletion and new references"): store stamps, the
// delete rule, and its atomicity with the pack store's "held already?" check.

const dirs: string[] = [];
const stores: PackChunkStore[] = [];
test.after.always(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stdchk-stamps-'));
  dirs.push(d);
  return d;
}

function chunk(size = 4096): StoredChunk {
  const data = randomBytes(size);
  return { hash: hashChunk(data), data };
}

const h = (i: number) => hashChunk(Buffer.from(`chunk-${i}`));

test('every start takes a new epoch, durably: stamps increase across restarts, a bound from an earlier start is refused', (t) => {
  const dir = tempDir();
  const first = StoreStamps.open(dir);
  t.is(readFileSync(path.join(dir, BOOT_FILE), 'utf8'), '1\n');
  const s1 = first.stamp([h(1)]);
  const bound1 = first.current();
  t.is(bound1, s1);
  t.true(first.mayDelete(h(1), bound1), 'stamped at or before the bound');
  t.true(first.mayDelete(h(2), bound1), 'never stamped');

  const second = StoreStamps.open(dir);
  t.is(readFileSync(path.join(dir, BOOT_FILE), 'utf8'), '2\n');
  t.true(second.current() > bound1);
  t.true(second.stamp([h(3)]) > s1);
  t.false(second.mayDelete(h(2), bound1), 'the stamps of the earlier start are gone: its bounds are refused');
  t.true(second.mayDelete(h(2), second.current()));
});

test('a chunk stored or answered "existing" after the heartbeat a delete answers is not deleted', (t) => {
  const st = new StoreStamps(undefined);
  st.stamp([h(1), h(2)]);
  const beat = st.current(); // what the heartbeat carries; its reply's deletes are bounded by it
  const later = st.stamp([h(2), h(3)]); // a writer's store after the beat (h(2) answered "existing")
  t.true(later > beat);
  t.true(st.mayDelete(h(1), beat), 'not touched since: deleted');
  t.false(st.mayDelete(h(2), beat), 'renewed after the beat: refused');
  t.false(st.mayDelete(h(3), beat), 'stored after the beat: refused');
  t.true(st.mayDelete(h(3), st.current()), 'a delete answering a later beat applies');
  t.is(st.stampOf(h(2)), later);
});

test('prune forgets old stamps without changing any answer for bounds it keeps; the cap only ever refuses more', (t) => {
  const st = new StoreStamps(undefined, { maxTracked: 100 });
  for (let i = 0; i < 50; i++) st.stamp([h(i)]);
  const mid = st.current();
  for (let i = 50; i < 80; i++) st.stamp([h(i)]);
  const answers = (bound: number) => Array.from({ length: 80 }, (_, i) => st.mayDelete(h(i), bound));
  const before = answers(mid);
  const beforeNow = answers(st.current());
  st.prune(mid);
  t.is(st.tracked, 30);
  t.is(st.floor, mid);
  t.deepEqual(answers(mid), before);
  t.deepEqual(answers(st.current()), beforeNow);
  t.false(st.mayDelete(h(100), mid - 1), 'bounds below the floor are refused');

  // Over the cap: the oldest half goes and the floor rises past their stamps.
  for (let i = 100; i < 200; i++) st.stamp([h(i)]);
  t.true(st.tracked <= 100);
  t.true(st.floor > mid);
  const b = st.current();
  t.false(st.mayDelete(h(199), b - 1));
  t.true(st.mayDelete(h(150), b) && st.mayDelete(h(120), b));
});

test('stamps keep increasing when an epoch runs out of counter values', (t) => {
  const dir = tempDir();
  const st = StoreStamps.open(dir, { epochSpan: 4 });
  let last = st.current();
  for (let i = 0; i < 10; i++) {
    const s = st.stamp([h(i)]);
    t.true(s > last);
    last = s;
  }
  t.true(last >= 3 * EPOCH_FACTOR, 'new epochs were taken');
  t.true(Number(readFileSync(path.join(dir, BOOT_FILE), 'utf8')) >= 3, 'and recorded');
  t.true(st.mayDelete(h(0), st.current()), 'earlier epochs of the same run stay valid bounds');
});

test('a damaged boot file stops the start with one clear error', (t) => {
  const dir = tempDir();
  writeFileSync(path.join(dir, BOOT_FILE), 'garbage\n');
  const e = t.throws(() => StoreStamps.open(dir));
  t.true(isStdchkError(e, 'CORRUPT'));
  t.regex(e!.message, /boot number/);
});

test('pending deletes: the inventory leaves out what a pending delete would remove, not what it would refuse', (t) => {
  const st = new StoreStamps(undefined);
  const pending = new PendingDeletes();
  st.stamp([h(1), h(2)]);
  const token = pending.add([h(1), h(2)], st.current());
  t.is(pending.lowestBound, st.current());
  st.stamp([h(2)]); // stored again after that beat
  t.true(pending.aboutToDelete(h(1), st));
  t.false(pending.aboutToDelete(h(2), st), 'the delete will be refused: listed');
  t.false(pending.aboutToDelete(h(3), st));
  pending.done(token);
  t.false(pending.aboutToDelete(h(1), st));
  t.is(pending.size, 0);
  t.is(pending.lowestBound, Infinity);
});

test('pack store: the delete rule is checked in the same tick as the removal, so a store answered "existing" just before wins', async (t) => {
  const dir = tempDir();
  const store = await PackChunkStore.open(dir, { capacityBytes: 64 * 1024 * 1024 });
  stores.push(store);
  const st = new StoreStamps(undefined);
  const a = chunk();
  const b = chunk();
  st.stamp([a.hash, b.hash]);
  await store.putBatch([a, b]);
  const bound = st.current();

  // The delete is queued behind other maintenance; before it runs, a writer's store of `a`
  // is answered "existing" (stamped after the bound). The delete must leave `a`.
  const deleting = store.delete([a.hash, b.hash], (hash) => st.mayDelete(hash, bound));
  st.stamp([a.hash]);
  const ack = await store.putBatch([a]);
  t.deepEqual(ack, { stored: 0, existing: 1 });
  t.is(await deleting, 1);
  t.deepEqual(await store.get(a.hash), a.data, 'the copy the writer referenced is still there');
  t.is(await store.get(b.hash), undefined);

  // Without a newer stamp the delete applies; a store after it writes the chunk again.
  t.is(await store.delete([a.hash], (hash) => st.mayDelete(hash, st.current())), 1);
  t.false(store.has(a.hash));
  t.deepEqual(await store.putBatch([a]), { stored: 1, existing: 0 });
  t.deepEqual(await store.get(a.hash), a.data);
});
