import test from 'ava';
import type { ExecutionContext } from 'ava';
import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startScheduler } from '../../src/scheduler/daemon.ts';
import type { SchedulerHandle } from '../../src/scheduler/daemon.ts';
import { startWorker } from '../../src/workers/agent.ts';
import type { WorkerHandle } from '../../src/workers/agent.ts';
import { connectScheduler, unary } from '../../src/rpc/index.ts';
import { jobDir, logDir } from '../../src/jobs/layout.ts';
import pino from 'pino';

const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }, pino.destination(2));
import {
  busyboxTarball,
  checkCounts,
  cleanupAll,
  countsOf,
  counterScript,
  onCleanup,
  runcContainers,
  tempDir,
  waitFor,
} from '../helpers/jobs.ts';

// The scheduler and two workers in this process, sharing a plain local folder
// as the checkpoint storage. A worker "crash" stops its heartbeats and kills
// its jobs without telling the scheduler.

const base = tempDir('stdchk-agent-');
chmodSync(base, 0o711); // containers' root (in their user namespace) passes through to the rootfs cache
const shared = path.join(base, 'shared');
mkdirSync(shared);
let sched: SchedulerHandle;
const workers: WorkerHandle[] = [];

test.before(async () => {
  sched = await startScheduler({
    dataDir: path.join(base, 'scheduler'),
    listen: '127.0.0.1:0',
    logger: silentLogger,
    checkpointsDir: shared,
    heartbeatTimeoutMs: 4_000,
    heartbeatIntervalMs: 300,
    retentionGraceMs: 1_000,
  });
  onCleanup(() => sched.stop());
  for (const id of ['wa', 'wb']) {
    const w = await startWorker({
      schedulerAddress: sched.address,
      mount: shared,
      workDir: path.join(base, id),
      id: `agent-${id}`,
      slots: 1,
      logger: silentLogger,
    });
    workers.push(w);
    onCleanup(() => w.stop({ checkpoint: false, deregister: false }));
  }
});

test.after.always(cleanupAll);

async function runAndCrash(t: ExecutionContext, spec: Record<string, unknown>, n: number) {
  const client = connectScheduler(sched.address);
  onCleanup(() => client.close());
  const submitted = await unary(client, 'submitJob', { specJson: JSON.stringify(spec) });
  const id = submitted.id;
  const s = sched.scheduler;
  await waitFor('two complete checkpoints', () => s.get(id).checkpointsTaken >= 2, 30_000);
  await sleep(800); // let it count past the checkpoint
  const before = s.get(id);
  const holder = workers.find((w) => w.id === before.worker) as WorkerHandle;
  const lastSeq = before.checkpoints[before.checkpoints.length - 1]?.seq as number;
  const logText = async () => (await s.logs(id, 0, 1 << 22)).data.toString();
  await holder.stop({ checkpoint: false, deregister: false });
  const maxBefore = Math.max(...countsOf(await logText()));
  t.log(`${id}: ${holder.id} crashed at count ~${maxBefore}, newest checkpoint ${lastSeq}`);

  await waitFor('the job restored on the other worker', () => s.get(id).restores.length > 0, 20_000);
  const moved = s.get(id);
  t.not(moved.worker, holder.id);
  // A checkpoint can complete between reading `before` and the crash: the
  // restore must come from the newest one the scheduler had from the holder.
  const newestOfHolder = Math.max(
    lastSeq,
    ...moved.checkpoints.filter((c) => c.worker === holder.id).map((c) => c.seq),
  );
  t.like(moved.restores[0], { fromSeq: newestOfHolder, fromWorker: holder.id, worker: moved.worker });
  await waitFor('the job done', () => s.get(id).state === 'done', 60_000, 250);
  const done = s.get(id);
  t.is(done.exitCode, 0);
  const resumedAt = checkCounts(t, countsOf(await logText()), n, 2 / 0.25 + 4);
  t.log(`${id}: first copy reached ~${maxBefore}, restored copy resumed at ${resumedAt || 'the next count'}`);
  t.log(`${id}: restored on ${moved.worker} in ${moved.restores[0]?.seconds.toFixed(3)} s`);
  await waitFor(
    'old checkpoints deleted after the grace',
    () => s.get(id).checkpoints.length === 0 && s.get(id).toDelete.length === 0,
    10_000,
  );
  t.deepEqual(
    readdirSync(jobDir(shared, id)).filter((f) => /^\d+$/.test(f)),
    [],
  );
  t.deepEqual(
    readdirSync(logDir(shared, id)),
    ['000001', '000002'],
    'the log stays: one segment per placement',
  );
  return holder;
}

test.serial(
  'a container job moves to the other worker after its worker crashes, from its newest checkpoint',
  async (t) => {
    const tarball = busyboxTarball(base);
    const n = 40;
    const crashed = await runAndCrash(
      t,
      {
        name: 'counter',
        kind: 'container',
        rootfs: tarball,
        args: ['sh', '-c', counterScript(n, 0.25)],
        checkpoint: { interval: '2s', keep: 2 },
      },
      n,
    );
    t.deepEqual(runcContainers(`stdchk-${crashed.id}-`), [], 'the crashed worker left no container');
    // Bring a worker back for the next test.
    const w = await startWorker({
      schedulerAddress: sched.address,
      mount: shared,
      workDir: path.join(base, `${crashed.id}-2`),
      id: `${crashed.id}-2`,
      slots: 1,
      logger: silentLogger,
    });
    workers.push(w);
    onCleanup(() => w.stop({ checkpoint: false, deregister: false }));
  },
);

test.serial('a process job is restored through criu on the other worker', async (t) => {
  const n = 30;
  await runAndCrash(
    t,
    {
      name: 'proc',
      kind: 'process',
      args: ['sh', '-c', counterScript(n, 0.25)],
      checkpoint: { interval: '2s', keep: 1 },
    },
    n,
  );
});
