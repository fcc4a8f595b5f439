import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LevelSchedulerStore, MemorySchedulerStore } from '../../src/scheduler/store.ts';
import type { SchedulerStore } from '../../src/scheduler/store.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import { silentLogger } from '../../src/logging/index.ts';

const dirs: string[] = [];
test.after.always(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stdchk-sstore-'));
  dirs.push(d);
  return d;
}

const files = {
  readLog: async () => ({ data: Buffer.alloc(0), size: 0 }),
  removeCheckpoint: async () => undefined,
  close: async () => undefined,
};

// One contract, both stores.
const stores: [string, () => Promise<{ open: () => Promise<SchedulerStore> }>][] = [
  [
    'memory',
    async () => {
      const s = new MemorySchedulerStore();
      return { open: async () => s };
    },
  ],
  [
    'level',
    async () => {
      const dir = path.join(tmp(), 'db');
      return { open: () => LevelSchedulerStore.open(dir) };
    },
  ],
];

for (const [name, make] of stores) {
  test(`${name}: jobs, workers and grid counters come back after a reopen`, async (t) => {
    const { open } = await make();
    let store = await open();
    const s = await Scheduler.open({ store, files, logger: silentLogger });
    await s.registerWorker({ workerId: 'w1', incarnation: 'i1', host: 'h', slots: 2, kinds: ['process'] });
    const job = await s.submit(
      JSON.stringify({ kind: 'process', args: ['true'], checkpoint: { interval: '3s', keep: 1 } }),
    );
    const seq = await s.beginCheckpoint('w1', job.id, 1).catch(() => 0);
    t.is(seq, 0, 'not running yet');
    await s.reportStarted('w1', job.id, 1, 0, 0.2);
    const seq1 = await s.beginCheckpoint('w1', job.id, 1);
    await s.reportCheckpoint({
      workerId: 'w1',
      jobId: job.id,
      epoch: 1,
      seq: seq1,
      ok: true,
      error: '',
      seconds: 0.4,
      bytes: 10,
      newBytes: 5,
    });
    await s.close();
    if (name === 'level') {
      await store.close();
      store = await open();
    }
    const s2 = await Scheduler.open({ store, files, logger: silentLogger });
    const j = s2.get(job.id);
    t.is(j.state, 'running');
    t.is(j.worker, 'w1');
    t.deepEqual(
      j.checkpoints.map((c) => [c.seq, c.seconds]),
      [[1, 0.4]],
    );
    t.is(j.nextSeq, 2);
    t.deepEqual(
      s2.listWorkers().workers.map((w) => [w.id, w.slots, w.alive]),
      [['w1', 2, true]],
    );
    await s2.close();
    await store.close();
  });
}

test('level: a second scheduler on the same data folder is refused clearly', async (t) => {
  const dir = path.join(tmp(), 'db');
  const first = await LevelSchedulerStore.open(dir);
  await t.throwsAsync(LevelSchedulerStore.open(dir), { message: /another scheduler/ });
  await first.close();
});
