import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkCounts, cleanupAll, counterScript, waitFor } from '../helpers/jobs.ts';
import { SchedGrid } from '../helpers/sched-grid.ts';
import type { Host } from '../helpers/sched-grid.ts';

// "A job never runs twice" (issue 19, items 4-6), with real processes: a
// scheduler and two worker hosts, each in its own network namespace, sharing
// a plain folder as the checkpoint storage. Faults are injected from outside
// the code under test, so that each test also fails on the code before the
// fix: kill -9 of the worker agent alone, a step of one worker's wall clock
// (a preload that offsets Date.now in that process only), a dump made slow
// by a `criu` on the worker's PATH that sleeps first.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// 10 s, the scheduler's default: a restarted agent must register within it to
// keep its job, and on a loaded 2-core machine that took up to 8.5 s.
const TIMEOUT_S = 10;
const INTERVAL = 2; // seconds between checkpoints
const STEP = 0.25; // seconds between counts
const MAX_BACK = INTERVAL / STEP + 8;

const grid: SchedGrid = new SchedGrid({
  schedulerArgs: [
    '--heartbeat-timeout',
    `${TIMEOUT_S}s`,
    '--heartbeat-interval',
    '500ms',
    '--retention-grace',
    '3s',
  ],
  workerEnv: (host): Record<string, string> => ({
    PATH: `${fakebin(host)}:${process.env.PATH ?? ''}`,
    NODE_OPTIONS:
      `${process.env.NODE_OPTIONS ?? ''} --import=file://${ROOT}/test/helpers/wall-clock-step.mjs`.trim(),
    STDCHK_TEST_WALL_CLOCK_STEP_FILE: wallStepFile(host),
    STDCHK_FAULT_BARRIER_EIO_FILE: barrierFault(host),
  }),
});
let a: Host;
let b: Host;
let rootfs: string;

const wallStepFile = (h: Host): string => path.join(grid.dir, `wall-step-${h.name}`);
const slowDumpFlag = (h: Host): string => path.join(grid.dir, `slow-dump-${h.name}`);
const barrierFault = (h: Host): string => path.join(grid.dir, `barrier-eio-${h.name}`);
const fakebin = (h: Host): string => path.join(grid.dir, `fakebin-${h.name}`);

/** On the host's PATH: a criu that first sleeps, while the host's flag file exists, when it is to dump. */
function slowCriu(h: Host, realCriu: string): void {
  mkdirSync(fakebin(h));
  const flag = slowDumpFlag(h);
  const criu = path.join(fakebin(h), 'criu');
  writeFileSync(
    criu,
    [
      '#!/bin/sh',
      `# test-only: a slow dump while ${flag} exists`,
      `if [ -e '${flag}' ]; then`,
      '  if [ "$1" = dump ] || grep -q checkpoint "/proc/$PPID/cmdline" 2>/dev/null; then',
      `    touch '${flag}.started'; sleep 120`,
      '  fi',
      'fi',
      `exec '${realCriu}' "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(criu, 0o755);
}

test.before(async () => {
  const realCriu = execFileSync('sh', ['-c', 'command -v criu'], { encoding: 'utf8' }).trim();
  for (const name of ['a', 'b']) slowCriu({ name } as Host, realCriu);
  const g = await grid.setup(['a', 'b']);
  [a, b] = g.hosts as [Host, Host];
  rootfs = g.rootfs;
});

test.after.always(cleanupAll);

// A failed test must not leave its job holding a worker's only slot for the next one.
const submitted: string[] = [];
test.afterEach.always(async () => {
  for (const id of submitted.splice(0)) {
    if (!['done', 'failed', 'cancelled'].includes((await grid.job(id)).state)) await grid.cli(['cancel', id]);
  }
});

const hostOf = (workerId: string): Host => [a, b].find((h) => h.workerId === workerId) as Host;

function counter(name: string, kind: 'container' | 'process', n: number): Record<string, unknown> {
  return {
    name,
    kind,
    ...(kind === 'container' ? { rootfs } : {}),
    args: ['sh', '-c', counterScript(n, STEP)],
    checkpoint: { interval: `${INTERVAL}s`, keep: 2 },
  };
}

/** Submits a counter and waits for its first complete checkpoint; returns the job and its host. */
async function runningJob(name: string, kind: 'container' | 'process', n: number) {
  const id = await grid.submit(counter(name, kind, n));
  submitted.push(id);
  await waitFor('a complete checkpoint', async () => (await grid.job(id)).checkpointsTaken >= 1, 60_000, 200);
  const holder = hostOf((await grid.job(id)).worker);
  return { id, holder, other: holder === a ? b : a };
}

/**
 * The copy on `holder` is frozen while the scheduler still assigns the job to
 * `holder` (so before any other copy can start), stays frozen once the job
 * runs on `other`, and prints nothing more there.
 */
async function frozenBeforeItMoves(
  t: ExecutionContext,
  id: string,
  holder: Host,
  other: Host,
): Promise<void> {
  const t0 = performance.now();
  await waitFor(
    'the copy frozen on its host',
    () => grid.frozenOn(holder, id) === true,
    TIMEOUT_S * 1000,
    50,
  );
  const frozenAfter = (performance.now() - t0) / 1000;
  const j = await grid.job(id);
  t.is(
    j.worker,
    holder.workerId,
    'frozen while the job still belongs to its host: before it can run anywhere else',
  );
  t.is(j.epoch, 1);
  const printed = grid.localCounts(holder, id);
  await waitFor(
    'the job restored and running on the other host',
    async () => {
      const k = await grid.job(id);
      return k.worker === other.workerId && k.state === 'running' && k.restores.length > 0;
    },
    30_000,
    200,
  );
  const movedAfter = (performance.now() - t0) / 1000;
  t.true(grid.frozenOn(holder, id), 'still frozen on its old host while it runs on the other');
  await sleep(2_000);
  t.deepEqual(grid.localCounts(holder, id), printed, 'the old copy counted nothing more');
  t.log(
    `${id}: frozen on ${holder.name} ${frozenAfter.toFixed(1)} s after the fault, at count ${printed.at(-1)}; ` +
      `running on ${other.name} ${movedAfter.toFixed(1)} s after it (heartbeat timeout ${TIMEOUT_S} s)`,
  );
}

test.serial(
  'kill -9 of the worker agent alone: its job is frozen before it moves, and its old copy is killed when the agent comes back',
  async (t) => {
    const n = 100;
    const { id, holder, other } = await runningJob('agent9', 'container', n);
    await grid.killWorkerOnly(holder);
    t.log(`${id}: killed the worker agent of ${holder.name} (kill -9); the job itself still runs`);
    await frozenBeforeItMoves(t, id, holder, other);
    t.regex(grid.monitorLogOf(holder, id), /lease ran out .*: job frozen/);

    // The agent restarts late: the job has moved, so it kills its old copy.
    grid.startWorker(holder);
    await grid.waitForWorkers([holder.workerId]);
    await waitFor(
      'the old copy killed',
      () => grid.containersOf(holder).length === 0 && grid.instancesOn(holder).length === 0,
      20_000,
      200,
    );
    t.regex(
      grid.logOf(`worker-${holder.name}`),
      /stopping a job that moved while this worker agent was down/,
    );
    await waitFor('the job done', async () => (await grid.job(id)).state === 'done', 90_000, 300);
    const resumedAt = checkCounts(t, await grid.logCounts(id), n, MAX_BACK);
    t.log(`${id}: resumed at ${resumedAt}; the log never shows two copies`);
  },
);

test.serial(
  'kill -9 of the worker agent and a quick restart: the new agent takes its job over, no restore',
  async (t) => {
    const n = 80;
    const { id, holder, other } = await runningJob('quick', 'process', n);
    // Nowhere else to go, so that a slow restart on a busy machine cannot move it either.
    await grid.stopWorker(other);
    try {
      const before = await grid.job(id);
      const t0 = Date.now();
      await grid.killWorkerOnly(holder);
      grid.startWorker(holder);
      await waitFor(
        'a checkpoint by the new agent',
        async () => (await grid.job(id)).checkpointsTaken > before.checkpointsTaken + 1,
        60_000,
        200,
      );
      const registered = /"time":(\d+),[^\n]*"msg":"worker registered"/g;
      const times = [...grid.logOf(`worker-${holder.name}`).matchAll(registered)].map((m) => Number(m[1]));
      const froze = /job frozen/.test(grid.monitorLogOf(holder, id));
      t.log(
        `${id}: the new agent of ${holder.name} registered ${((Math.max(...times) - t0) / 1000).toFixed(1)} s after the kill; ` +
          (froze ? 'the old lease ran out first, so the job was frozen meanwhile' : 'the job never stopped'),
      );
      const j = await grid.job(id);
      t.like(
        j,
        { worker: holder.workerId, epoch: before.epoch, restores: [] },
        'the same placement: nothing restored',
      );
      t.regex(grid.logOf(`worker-${holder.name}`), /job taken over from an earlier run of this agent/);
      await waitFor('the job done', async () => (await grid.job(id)).state === 'done', 90_000, 300);
      const done = await grid.job(id);
      t.is(done.exitCode, 0);
      t.is(done.restores.length, 0);
      t.is(
        checkCounts(t, await grid.logCounts(id), n, 0),
        0,
        'one uninterrupted run: no count lost or repeated',
      );
    } finally {
      grid.startWorker(other);
      await grid.waitForWorkers([other.workerId]);
    }
  },
);

test.serial('a step of the wall clock on a worker does not let its job run twice', async (t) => {
  const n = 400;
  const { id, holder, other } = await runningJob('clock', 'container', n);
  // An hour back: a lease on the wall clock would now look valid for an hour.
  writeFileSync(wallStepFile(holder), String(-3600_000));
  await sleep(1_000);
  t.is((await grid.job(id)).worker, holder.workerId, 'the step alone moves nothing');
  grid.cut(holder, true);
  t.log(`${id}: stepped ${holder.name}'s wall clock an hour back and cut it off`);
  try {
    await frozenBeforeItMoves(t, id, holder, other);
  } finally {
    grid.cut(holder, false);
    rmSync(wallStepFile(holder), { force: true });
  }
  await waitFor('the cut-off copy stopped', () => grid.instanceDirsOf(holder, id).length === 0, 20_000, 200);
  await grid.cli(['cancel', id]);
  await waitFor('stopped everywhere', () => grid.containersOf(other).length === 0, 20_000, 200);
});

test.serial('a dump still running when the lease runs out is killed, and the job stays frozen', async (t) => {
  const n = 400;
  const { id, holder, other } = await runningJob('slowdump', 'container', n);
  writeFileSync(slowDumpFlag(holder), '');
  try {
    await waitFor('a dump under way', () => existsSync(`${slowDumpFlag(holder)}.started`), 30_000, 100);
    grid.cut(holder, true);
    t.log(`${id}: a dump under way on ${holder.name} (it sleeps 120 s); cut the host off`);
    await frozenBeforeItMoves(t, id, holder, other);
    t.regex(grid.monitorLogOf(holder, id), /killed the checkpoint in progress/);
  } finally {
    rmSync(slowDumpFlag(holder), { force: true });
    grid.cut(holder, false);
  }
  await waitFor('the cut-off copy stopped', () => grid.instanceDirsOf(holder, id).length === 0, 20_000, 200);
  const seen = await grid.logCounts(id);
  const jumps = seen.map((c, i) => (i > 0 ? c - (seen[i - 1] as number) : 1)).filter((d) => d !== 1);
  t.true(jumps.length <= 1, `the two copies never both wrote output: ${JSON.stringify(jumps)}`);
  await grid.cli(['cancel', id]);
  await waitFor('stopped everywhere', () => grid.containersOf(other).length === 0, 20_000, 200);
});

test.serial(
  'a checkpoint whose folder barrier fails is discarded and never complete; older ones stay, the job runs on',
  async (t) => {
    const n = 400;
    const { id, holder } = await runningJob('barrier', 'process', n);
    await waitFor(
      'two complete checkpoints',
      async () => (await grid.job(id)).checkpointsTaken >= 2,
      60_000,
      200,
    );
    const before = await grid.job(id);
    const ckDir = (seq: number) => path.join(grid.shared, 'jobs', id, String(seq));
    writeFileSync(barrierFault(holder), '');
    let failed: Awaited<ReturnType<typeof grid.job>>;
    try {
      failed = await waitFor(
        'a checkpoint failed at the barrier',
        async () => {
          const j = await grid.job(id);
          return /barrier/.test(j.lastCheckpointError) ? j : undefined;
        },
        30_000,
        200,
      );
    } finally {
      rmSync(barrierFault(holder), { force: true });
    }
    const seq = Number(/checkpoint (\d+) failed/.exec(failed.lastCheckpointError)?.[1]);
    t.log(`${id}: ${failed.lastCheckpointError}`);
    t.true(seq > (before.checkpoints.at(-1)?.seq ?? 0));
    t.false(existsSync(ckDir(seq)), 'its folder is discarded');
    t.false(
      failed.checkpoints.some((c) => c.seq === seq),
      'never recorded complete',
    );
    t.true(failed.checkpoints.length > 0);
    for (const c of failed.checkpoints)
      t.true(existsSync(path.join(ckDir(c.seq), 'stdchk-checkpoint.json')), `checkpoint ${c.seq} intact`);
    t.like(failed, { state: 'running', worker: holder.workerId, epoch: before.epoch, restores: [] });
    const counted = (await grid.logCounts(id)).at(-1) ?? 0;
    await waitFor(
      'a complete checkpoint after the fault is gone',
      async () => ((await grid.job(id)).checkpoints.at(-1)?.seq ?? 0) > seq,
      30_000,
      200,
    );
    t.true(((await grid.logCounts(id)).at(-1) ?? 0) > counted, 'the job kept counting');
    t.is((await grid.job(id)).restores.length, 0);
    await grid.cli(['cancel', id]);
  },
);
