import test from 'ava';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import type { JobFiles } from '../../src/scheduler/job-files.ts';
import { MemorySchedulerStore } from '../../src/scheduler/store.ts';
import { dalyInterval } from '../../src/scheduler/interval.ts';
import { silentLogger } from '../../src/logging/index.ts';

/** Removed checkpoint folders, as "job/seq". */
class FakeFiles implements JobFiles {
  removed: string[] = [];
  async readLog() {
    return { data: Buffer.from('1\n2\n'), size: 4 };
  }
  async removeCheckpoint(jobId: string, seq: number) {
    this.removed.push(`${jobId}/${seq}`);
  }
  async close() {}
}

async function setup(opts: { timeoutMs?: number; graceMs?: number } = {}) {
  let now = 1_000_000;
  const store = new MemorySchedulerStore();
  const files = new FakeFiles();
  const open = () =>
    Scheduler.open({
      store,
      files,
      logger: silentLogger,
      heartbeatTimeoutMs: opts.timeoutMs ?? 10_000,
      retentionGraceMs: opts.graceMs ?? 60_000,
      now: () => now,
      monotonicNow: () => now,
    });
  const s = await open();
  return {
    s,
    store,
    files,
    open,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

const jobFile = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    name: 'counter',
    kind: 'process',
    args: ['sh', '-c', 'true'],
    checkpoint: { interval: '5s', keep: 2 },
    ...extra,
  });

const reg = (id: string, slots = 1, incarnation = `${id}-life1`) => ({
  workerId: id,
  incarnation,
  host: id,
  slots,
  kinds: ['container', 'process'],
});

async function checkpoint(s: Scheduler, worker: string, job: string, epoch: number, seconds = 0.5) {
  const seq = await s.beginCheckpoint(worker, job, epoch);
  await s.reportCheckpoint({
    workerId: worker,
    jobId: job,
    epoch,
    seq,
    ok: true,
    error: '',
    seconds,
    bytes: 1000,
    newBytes: 100,
  });
  return seq;
}

test('a job is queued, placed, started, checkpointed with retention, and finishes', async (t) => {
  const { s, files } = await setup();
  const job = await s.submit(jobFile());
  t.is(job.state, 'queued');
  t.regex(job.id, /^counter-[0-9a-f]{6}$/);

  await s.registerWorker(reg('w1'));
  t.is(s.get(job.id).state, 'running');
  t.is(s.get(job.id).activity, 'starting');
  const hb = await s.heartbeat('w1', 'w1-life1', []);
  t.is(hb.assignments.length, 1);
  t.like(hb.assignments[0], { jobId: job.id, epoch: 1, restoreSeq: 0, intervalSeconds: 5 });

  await s.reportStarted('w1', job.id, 1, 0, 0.1);
  t.is(s.get(job.id).activity, '');
  t.true(s.get(job.id).startedAtMs > 0);
  t.deepEqual(s.get(job.id).restores, [], 'a first start is no restore');

  t.is(await checkpoint(s, 'w1', job.id, 1), 1);
  t.is(await checkpoint(s, 'w1', job.id, 1), 2);
  t.is(await checkpoint(s, 'w1', job.id, 1), 3);
  const j = s.get(job.id);
  t.deepEqual(
    j.checkpoints.map((c) => c.seq),
    [2, 3],
    'keep 2',
  );
  t.is(j.checkpointsTaken, 3);
  await s.runDeletions();
  t.deepEqual(files.removed, [`${job.id}/1`]);
  t.is(s.get(job.id).checkpointsDeleted, 1);

  await s.reportExit({
    workerId: 'w1',
    jobId: job.id,
    epoch: 1,
    exitCode: 0,
    error: '',
    startFailed: false,
    restoreFailed: false,
    restoreSeq: 0,
  });
  t.is(s.get(job.id).state, 'done');
  t.is(s.get(job.id).exitCode, 0);
  t.deepEqual((await s.heartbeat('w1', 'w1-life1', [])).assignments, []);
});

test('a non-zero exit fails the job with its exit code', async (t) => {
  const { s } = await setup();
  await s.registerWorker(reg('w1'));
  const job = await s.submit(jobFile());
  await s.reportStarted('w1', job.id, 1, 0, 0);
  await s.reportExit({
    workerId: 'w1',
    jobId: job.id,
    epoch: 1,
    exitCode: 3,
    error: '',
    startFailed: false,
    restoreFailed: false,
    restoreSeq: 0,
  });
  t.is(s.get(job.id).state, 'failed');
  t.is(s.get(job.id).exitCode, 3);
});

test('a lost worker: its job is restored elsewhere from the newest complete checkpoint, and the old worker is fenced', async (t) => {
  const { s, advance } = await setup({ timeoutMs: 10_000 });
  await s.registerWorker(reg('w1'));
  const job = await s.submit(jobFile());
  await s.reportStarted('w1', job.id, 1, 0, 0);
  await checkpoint(s, 'w1', job.id, 1);
  await checkpoint(s, 'w1', job.id, 1);
  const seq3 = await s.beginCheckpoint('w1', job.id, 1); // in progress when w1 dies

  advance(5_000);
  await s.registerWorker(reg('w2'));
  await s.heartbeat('w2', 'w2-life1', []);
  advance(6_000);
  await s.heartbeat('w2', 'w2-life1', []);
  await s.tick();
  let j = s.get(job.id);
  t.is(j.state, 'restoring');
  t.is(j.worker, 'w2');
  t.is(j.epoch, 2);
  t.is(j.restoreSeq, 2);
  t.true(j.toDelete.includes(seq3), 'the half-written checkpoint goes');
  const hb = await s.heartbeat('w2', 'w2-life1', []);
  t.like(hb.assignments[0], { jobId: job.id, epoch: 2, restoreSeq: 2 });

  await s.reportStarted('w2', job.id, 2, 2, 0.3);
  j = s.get(job.id);
  t.is(j.state, 'running');
  t.is(j.restores.length, 1);
  t.like(j.restores[0], { fromSeq: 2, worker: 'w2', fromWorker: 'w1', seconds: 0.3 });
  t.regex(j.restores[0]?.reason ?? '', /w1 lost/);

  // w1 comes back: it gets no assignment (so it stops its copy) and its reports are refused.
  const back = await s.heartbeat('w1', 'w1-life1', [
    { jobId: job.id, epoch: 1, phase: 'running', exitCode: 0, error: '' },
  ]);
  t.deepEqual(back.assignments, []);
  const e = await t.throwsAsync(
    s.reportCheckpoint({
      workerId: 'w1',
      jobId: job.id,
      epoch: 1,
      seq: seq3,
      ok: true,
      error: '',
      seconds: 1,
      bytes: 1,
      newBytes: 1,
    }),
  );
  t.is((e as { code?: string }).code, 'CONFLICT');
  await t.throwsAsync(s.beginCheckpoint('w1', job.id, 1), { message: /fenced/ });
  t.is(s.get(job.id).worker, 'w2');
  t.is(s.listWorkers().grid.failures, 1);
});

test('a lost worker that comes back before its job moved keeps it at the same epoch', async (t) => {
  const { s, advance } = await setup({ timeoutMs: 10_000 });
  await s.registerWorker(reg('w1'));
  const job = await s.submit(jobFile());
  await s.reportStarted('w1', job.id, 1, 0, 0);
  advance(11_000);
  await s.tick();
  t.is(s.get(job.id).state, 'queued', 'no other worker to move to');
  const hb = await s.heartbeat('w1', 'w1-life1', [
    { jobId: job.id, epoch: 1, phase: 'running', exitCode: 0, error: '' },
  ]);
  t.is(s.get(job.id).state, 'running');
  t.is(s.get(job.id).epoch, 1);
  t.like(hb.assignments[0], { jobId: job.id, epoch: 1 });
});

test('a job without a checkpoint is restarted from the beginning, and that is recorded', async (t) => {
  const { s, advance } = await setup({ timeoutMs: 10_000 });
  await s.registerWorker(reg('w1'));
  const job = await s.submit(jobFile());
  await s.reportStarted('w1', job.id, 1, 0, 0);
  advance(11_000);
  await s.registerWorker(reg('w2'));
  await s.tick();
  const j = s.get(job.id);
  t.is(j.state, 'running');
  t.is(j.activity, 'starting');
  t.is(j.restoreSeq, 0);
  await s.reportStarted('w2', job.id, 2, 0, 0.1);
  t.like(s.get(job.id).restores[0], { fromSeq: 0, worker: 'w2', fromWorker: 'w1' });
});

test('a failed restore falls back to an older checkpoint, then to a fresh start', async (t) => {
  const { s, advance } = await setup({ timeoutMs: 10_000 });
  await s.registerWorker(reg('w1'));
  const job = await s.submit(jobFile());
  await s.reportStarted('w1', job.id, 1, 0, 0);
  await checkpoint(s, 'w1', job.id, 1);
  await checkpoint(s, 'w1', job.id, 1);
  advance(11_000);
  await s.registerWorker(reg('w2'));
  await s.tick();
  t.is(s.get(job.id).restoreSeq, 2);
  const fail = (epoch: number, seq: number) =>
    s.reportExit({
      workerId: 'w2',
      jobId: job.id,
      epoch,
      exitCode: 0,
      error: 'criu said no',
      startFailed: false,
      restoreFailed: true,
      restoreSeq: seq,
    });
  await fail(2, 2);
  t.is(s.get(job.id).restoreSeq, 1);
  t.is(s.get(job.id).epoch, 4, 'requeued (fenced, epoch 3) and placed again (epoch 4)');
  await fail(4, 1);
  t.is(s.get(job.id).restoreSeq, 0);
  t.is(s.get(job.id).state, 'running');
});

test('cancel fences the worker and deletes the checkpoints after the grace', async (t) => {
  const { s, files, advance } = await setup({ graceMs: 30_000 });
  await s.registerWorker(reg('w1'));
  const job = await s.submit(jobFile());
  await s.reportStarted('w1', job.id, 1, 0, 0);
  await checkpoint(s, 'w1', job.id, 1);
  const c = await s.cancel(job.id);
  t.is(c.state, 'cancelled');
  t.deepEqual((await s.heartbeat('w1', 'w1-life1', [])).assignments, []);
  await t.throwsAsync(s.cancel(job.id), { message: /already cancelled/ });
  await s.tick();
  await s.runDeletions();
  t.deepEqual(files.removed, []);
  advance(31_000);
  await s.heartbeat('w1', 'w1-life1', []);
  await s.tick();
  await s.runDeletions();
  t.deepEqual(files.removed, [`${job.id}/1`]);
  t.deepEqual(s.get(job.id).checkpoints, []);
});

test('the state survives a restart of the scheduler, and workers get a fresh grace', async (t) => {
  const { s, open, advance } = await setup({ timeoutMs: 10_000 });
  await s.registerWorker(reg('w1'));
  const job = await s.submit(jobFile());
  await s.reportStarted('w1', job.id, 1, 0, 0);
  await checkpoint(s, 'w1', job.id, 1);
  await s.close();
  advance(60_000); // the scheduler was down a minute
  const s2 = await open();
  await s2.tick();
  const j = s2.get(job.id);
  t.is(j.state, 'running', 'no failure declared for the scheduler downtime');
  t.is(j.worker, 'w1');
  t.deepEqual(
    j.checkpoints.map((c) => c.seq),
    [1],
  );
  const hb = await s2.heartbeat('w1', 'w1-life1', [
    { jobId: job.id, epoch: 1, phase: 'running', exitCode: 0, error: '' },
  ]);
  t.like(hb.assignments[0], { jobId: job.id, epoch: 1 });
  t.is(await s2.beginCheckpoint('w1', job.id, 1), 2);
});

test('auto interval follows the measured checkpoint cost and the given MTBF', async (t) => {
  const { s } = await setup();
  await s.registerWorker(reg('w1'));
  const job = await s.submit(jobFile({ checkpoint: { interval: 'auto', mtbf: '2m' } }));
  t.is(s.get(job.id).interval.seconds, dalyInterval(1, 120));
  await s.reportStarted('w1', job.id, 1, 0, 0);
  await checkpoint(s, 'w1', job.id, 1, 0.5);
  await checkpoint(s, 'w1', job.id, 1, 0.7);
  const iv = s.get(job.id).interval;
  t.is(iv.policy, 'auto');
  t.is(iv.mtbf, 120);
  t.true(Math.abs(iv.checkpointCost - 0.6) < 1e-9);
  t.is(iv.seconds, dalyInterval(0.6, 120));
  const hb = await s.heartbeat('w1', 'w1-life1', []);
  t.is(hb.assignments[0]?.intervalSeconds, iv.seconds);
});

test('placement respects slots and job kinds; a restarted worker loses its jobs', async (t) => {
  const { s, advance } = await setup();
  await s.registerWorker({ ...reg('w1', 2), kinds: ['process'] });
  const submit = async (text: string) => {
    advance(1); // placement goes by submission time
    return s.submit(text);
  };
  const a = await submit(jobFile());
  const b = await submit(jobFile());
  const c = await submit(jobFile());
  const d = await submit(JSON.stringify({ kind: 'container', rootfs: '/r.tar', args: ['x'] }));
  t.deepEqual(
    [a, b, c, d].map((j) => s.get(j.id).state),
    ['running', 'running', 'queued', 'queued'],
  );
  await s.registerWorker({ ...reg('w1', 2, 'w1-life2'), kinds: ['process'] });
  // Its earlier life's jobs were requeued (epoch bumped) and placed again on the new life.
  t.is(s.get(a.id).epoch, 3);
  t.is(s.get(a.id).worker, 'w1');
  await s.registerWorker(reg('w2', 4));
  t.is(s.get(c.id).state, 'running');
  t.is(s.get(d.id).worker, 'w2');
});

test('unknown workers are told to register; bad requests are refused clearly', async (t) => {
  const { s } = await setup();
  t.true((await s.heartbeat('ghost', 'x', [])).reregister);
  await t.throwsAsync(s.registerWorker({ ...reg('bad id!'), workerId: 'bad id!' }), { message: /worker id/ });
  await t.throwsAsync(s.submit('{"args": []}'), { message: /"args"/ });
  t.throws(() => s.get('nope'), { message: /no job nope/ });
  t.throws(() => s.get('../etc'), { message: /not a job id/ });
  t.throws(() => s.list(['sleeping']), { message: /unknown job state/ });
});

test('a step of the wall clock neither declares a live worker lost nor keeps a silent one alive', async (t) => {
  // Two clocks, as on a real machine: NTP or an operator steps the wall
  // clock; the monotonic clock only ever moves forward with time.
  let wall = Date.parse('2026-12-01T12:00:00Z');
  let mono = 5_000;
  const tick = (ms: number) => {
    wall += ms;
    mono += ms;
  };
  const s = await Scheduler.open({
    store: new MemorySchedulerStore(),
    files: new FakeFiles(),
    logger: silentLogger,
    heartbeatTimeoutMs: 10_000,
    now: () => wall,
    monotonicNow: () => mono,
  });
  await s.registerWorker(reg('w1'));
  await s.registerWorker(reg('w2'));
  const job = await s.submit(jobFile());
  const holder = s.get(job.id).worker;
  const other = holder === 'w1' ? 'w2' : 'w1';
  await s.reportStarted(holder, job.id, 1, 0, 0);
  t.is(s.get(job.id).startedAtMs, wall, 'times users see are wall-clock times');

  // The wall clock jumps an hour ahead between two heartbeats.
  tick(1_000);
  await s.heartbeat(holder, `${holder}-life1`, []);
  await s.heartbeat(other, `${other}-life1`, []);
  wall += 3600_000;
  tick(1_000);
  await s.tick();
  t.true(
    s.listWorkers().workers.every((w) => w.alive),
    'nobody was silent for the timeout',
  );
  t.like(
    s.get(job.id),
    { worker: holder, epoch: 1, state: 'running' },
    'the job did not move (its holder still runs it)',
  );

  // ...and back two hours; now the holder really goes silent.
  wall -= 7200_000;
  for (let i = 0; i < 11; i++) {
    tick(1_000);
    await s.heartbeat(other, `${other}-life1`, []);
    await s.tick();
  }
  const moved = s.get(job.id);
  t.is(moved.worker, other, 'a worker silent for the timeout is lost, whatever the wall clock did');
  t.is(moved.epoch, 2);
  t.deepEqual(
    s.listWorkers().workers.map((w) => [w.id, w.alive]),
    [
      ['w1', holder !== 'w1'],
      ['w2', holder !== 'w2'],
    ],
  );
});

test('a restarted worker keeps the jobs it still runs at their epoch; its other jobs move', async (t) => {
  const { s } = await setup();
  await s.registerWorker(reg('w1', 2));
  const a = await s.submit(jobFile());
  const b = await s.submit(jobFile());
  await s.reportStarted('w1', a.id, 1, 0, 0);
  await s.reportStarted('w1', b.id, 1, 0, 0);
  await checkpoint(s, 'w1', a.id, 1);
  // The agent restarts (new incarnation) and finds only a still running.
  await s.registerWorker({
    ...reg('w1', 2, 'w1-life2'),
    jobs: [{ jobId: a.id, epoch: 1, phase: 'running', exitCode: 0, error: '' }],
  });
  t.like(s.get(a.id), { worker: 'w1', epoch: 1, state: 'running', restores: [] }, 'kept: no restore');
  t.is(s.get(b.id).epoch, 3, 'b was requeued (fenced) and placed again');
  const hb = await s.heartbeat('w1', 'w1-life2', []);
  t.deepEqual(
    hb.assignments.map((x) => [x.jobId, x.epoch]).sort(),
    [
      [a.id, 1],
      [b.id, 3],
    ].sort(),
  );
  t.is(await s.beginCheckpoint('w1', a.id, 1), 2, 'it goes on checkpointing at the same epoch');
});

test('a restarted worker whose job moved meanwhile does not get it back', async (t) => {
  const { s, advance } = await setup({ timeoutMs: 10_000 });
  await s.registerWorker(reg('w1'));
  const job = await s.submit(jobFile());
  await s.reportStarted('w1', job.id, 1, 0, 0);
  advance(11_000);
  await s.registerWorker(reg('w2'));
  await s.tick();
  t.like(s.get(job.id), { worker: 'w2', epoch: 2 });
  await s.registerWorker({
    ...reg('w1', 1, 'w1-life2'),
    jobs: [{ jobId: job.id, epoch: 1, phase: 'running', exitCode: 0, error: '' }],
  });
  t.like(s.get(job.id), { worker: 'w2', epoch: 2 }, 'the stale epoch changes nothing');
  t.deepEqual((await s.heartbeat('w1', 'w1-life2', [])).assignments, [], 'so w1 kills its copy');
});

test('a restarted worker declared lost keeps its job if it has not moved yet', async (t) => {
  const { s, advance } = await setup({ timeoutMs: 10_000 });
  await s.registerWorker(reg('w1'));
  const job = await s.submit(jobFile());
  await s.reportStarted('w1', job.id, 1, 0, 0);
  advance(11_000);
  await s.tick();
  t.like(s.get(job.id), { state: 'queued', epoch: 1 }, 'lost, and nowhere else to go');
  await s.registerWorker({
    ...reg('w1', 1, 'w1-life2'),
    jobs: [{ jobId: job.id, epoch: 1, phase: 'running', exitCode: 0, error: '' }],
  });
  t.like(s.get(job.id), { worker: 'w1', epoch: 1, state: 'running', restores: [] });
  t.like((await s.heartbeat('w1', 'w1-life2', [])).assignments[0], { jobId: job.id, epoch: 1 });
});
