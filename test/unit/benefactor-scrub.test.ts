import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PackChunkStore } from '../../src/benefactor/pack-store.ts';
import { SCRUB_STATE_FILE, Scrubber } from '../../src/benefactor/scrub.ts';
import type { StoredChunk } from '../../src/benefactor/chunk-store.ts';
import { hashChunk } from '../../src/hashing/index.ts';
import { silentLogger } from '../../src/logging/index.ts';
import { flipChunkByte } from '../helpers/replicas.ts';
import { waitFor } from '../helpers/grid.ts';

// The benefactor's scrub over a real pack store on disk: every chunk is read
// back and verified at a bounded rate; a flipped byte is found, reported and
// dropped without anyone reading that chunk; the schedule survives restarts.

const KiB = 1024;
const MiB = 1024 * KiB;
const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];

test.after.always(async () => {
  for (const c of closers) await c().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function chunk(size: number): StoredChunk {
  const data = randomBytes(size);
  return { hash: hashChunk(data), data };
}

async function setup(n: number, size: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stdchk-scrub-'));
  dirs.push(dir);
  const reported: string[] = [];
  const store = await PackChunkStore.open(dir, {
    capacityBytes: 256 * MiB,
    packTargetBytes: 256 * KiB,
    onCorrupt: (h) => reported.push(h.toString('hex')),
  });
  closers.push(() => store.close());
  const cs = Array.from({ length: n }, () => chunk(size));
  await store.putBatch(cs);
  return { dir, store, cs, reported };
}

test('a scrub finds a flipped byte nobody read, reports it once and drops it; good chunks stay', async (t) => {
  const { dir, store, cs, reported } = await setup(64, 16 * KiB);
  const victims = [cs[5], cs[40]] as StoredChunk[];
  for (const v of victims) flipChunkByte(dir, v.hash);
  const scrub = new Scrubber({
    store,
    storeDir: dir,
    intervalMs: 20,
    rateBytesPerSec: 64 * MiB,
    logger: silentLogger,
  });
  closers.push(() => scrub.stop());
  scrub.start();
  await waitFor('a complete pass', async () => scrub.report().passes >= 1, 30_000, 20);
  t.deepEqual(reported.sort(), victims.map((v) => v.hash.toString('hex')).sort());
  for (const v of victims) t.false(store.has(v.hash), 'dropped from the index');
  for (const c of cs.filter((c) => !victims.includes(c))) t.true((await store.get(c.hash))?.equals(c.data));
  await waitFor('a second pass', async () => scrub.report().passes >= 2, 30_000, 20);
  t.is(reported.length, 2, 'reported once, not again at every pass');
  await scrub.stop();
  const r = scrub.report();
  t.true(r.verifiedBytes >= 2 * 62 * 16 * KiB);
  t.true(r.lastCompletedMs > 0);
  t.is(
    (JSON.parse(readFileSync(path.join(dir, SCRUB_STATE_FILE), 'utf8')) as { lastCompletedMs: number })
      .lastCompletedMs,
    r.lastCompletedMs,
    'the end of the last pass is remembered on disk',
  );
});

test('the schedule survives a restart; a new store counts as verified now; the rate bounds a pass', async (t) => {
  const { dir, store } = await setup(32, 64 * KiB); // 2 MiB
  let now = 1_000_000;
  const first = new Scrubber({
    store,
    storeDir: dir,
    intervalMs: 3_600_000,
    rateBytesPerSec: 8 * MiB,
    logger: silentLogger,
    clock: () => now,
  });
  first.start();
  await first.stop();
  t.is(first.report().lastCompletedMs, now, 'first start: the clock starts now');
  t.is(first.report().passes, 0, 'no pass right away');

  // Restarted an hour and a bit later (real time for the pacing, offset clock for the schedule).
  const offset = 1_000_000 + 3_600_001 - Date.now();
  now = 0;
  const second = new Scrubber({
    store,
    storeDir: dir,
    intervalMs: 3_600_000,
    rateBytesPerSec: 8 * MiB,
    logger: silentLogger,
    clock: () => Date.now() + offset,
  });
  closers.push(() => second.stop());
  const started = Date.now();
  second.start();
  await waitFor('the pass that was due', async () => second.report().passes === 1, 30_000, 10);
  // 2 MiB at 8 MiB/s cannot take less than 1/4 s (a lower bound: a slow machine only adds to it).
  t.true(Date.now() - started >= 240, `paced: ${Date.now() - started} ms`);
  await second.stop();
});

test('interval 0 turns scrubbing off', async (t) => {
  const { dir, store } = await setup(4, 4 * KiB);
  const off = new Scrubber({
    store,
    storeDir: dir,
    intervalMs: 0,
    rateBytesPerSec: MiB,
    logger: silentLogger,
  });
  off.start();
  await off.stop();
  t.deepEqual(off.report(), { lastCompletedMs: 0, passes: 0, progress: 0, verifiedBytes: 0 });
});
