import test from 'ava';
import type { ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkCounts, cleanupAll, counterScript, waitFor } from '../helpers/jobs.ts';
import { SchedGrid, runFailover } from '../helpers/sched-grid.ts';
import type { Host } from '../helpers/sched-grid.ts';
import { dalyInterval } from '../../src/scheduler/interval.ts';

// Issue 4, acceptance 2-6, with real processes: a scheduler and two worker
// "hosts", each in its own network namespace on a bridge. By default the
// hosts share a plain local folder as their checkpoint "mount" (a worker
// needs nothing more than a shared POSIX folder). With
// STDCHK_TEST_STORAGE=mount every host runs its own benefactor and
// `stdchk mount` instead, and the scheduler reaches the storage through the
// manager (scheduler-storage.test.ts always does, for acceptance 2).

const TIMEOUT = '5s';
const INTERVAL = 2; // seconds between checkpoints of the fixed-interval jobs
const STEP = 0.25; // seconds between counts
const MAX_BACK = INTERVAL / STEP + 8; // one interval plus the checkpoint, log shipping and restore slack

const grid = new SchedGrid({
  storage: process.env.STDCHK_TEST_STORAGE === 'mount',
  schedulerArgs: ['--heartbeat-timeout', TIMEOUT, '--heartbeat-interval', '500ms', '--retention-grace', '3s'],
});
let a: Host;
let b: Host;
let rootfs: string;

test.before(async () => {
  const g = await grid.setup(['a', 'b']);
  [a, b] = g.hosts as [Host, Host];
  rootfs = g.rootfs;
});

test.after.always(cleanupAll);

const hostOf = (workerId: string): Host => [a, b].find((h) => h.workerId === workerId) as Host;
const logsOf = (id: string) => grid.logCounts(id);

async function failover(t: ExecutionContext, spec: Record<string, unknown>, n: number): Promise<void> {
  await runFailover(t, grid, [a, b], spec, n, MAX_BACK);
}

test.serial(
  'a malformed job file is refused naming the field; a job that cannot start fails with a clear error',
  async (t) => {
    const bad = path.join(grid.dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ name: 'x', kind: 'container', args: ['sh'], checkpoint: { interval: 'soon' } }),
    );
    const r = await grid.cli(['submit', bad]);
    t.is(r.code, 2);
    t.regex(r.stderr, /^stdchk: job file: "rootfs" is required/m);
    writeFileSync(
      bad,
      JSON.stringify({ kind: 'container', rootfs, args: ['sh'], checkpoint: { interval: 'soon' } }),
    );
    t.regex((await grid.cli(['submit', bad])).stderr, /"checkpoint.interval" must be a duration/);

    const id = await grid.submit({
      name: 'noimage',
      kind: 'container',
      rootfs: '/no/such/image.tar',
      args: ['true'],
    });
    await waitFor('the job failed', async () => (await grid.job(id)).state === 'failed', 30_000, 200);
    const j = await grid.job(id);
    t.regex(j.error, /start failed on .*: rootfs \/no\/such\/image.tar/);
    t.is(j.exitCode, undefined);
    const shown = JSON.parse((await grid.cli(['job', id, '--json'])).stdout) as {
      state: string;
      exitCode: unknown;
      error: string;
    };
    t.like(shown, { state: 'failed', exitCode: null });
  },
);

test.serial('6. "interval": "auto" follows Daly for the measured C and the given M', async (t) => {
  const id = await grid.submit({
    name: 'auto',
    kind: 'process',
    args: ['sh', '-c', counterScript(10_000, 0.2)],
    checkpoint: { interval: 'auto', mtbf: '30s', keep: 3 },
  });
  const first = await grid.job(id);
  t.is(first.interval?.policy, 'auto');
  t.is(first.interval?.seconds, dalyInterval(1, 30), 'C = 1 s assumed before the first measurement');
  await waitFor('three checkpoints', async () => (await grid.job(id)).checkpoints.length >= 3, 60_000, 300);
  const r = await grid.cli(['job', id, '--json']);
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    interval: {
      seconds: number;
      policy: string;
      checkpointCost: number;
      mtbf: number;
      mtbfSource: string;
      reason: string;
    };
    checkpoints: { seconds: number }[];
  };
  const C = j.checkpoints.slice(-3).reduce((s, c) => s + c.seconds, 0) / 3;
  t.is(j.interval.policy, 'auto');
  t.is(j.interval.mtbf, 30);
  t.is(j.interval.mtbfSource, 'given');
  t.true(
    Math.abs(j.interval.checkpointCost - C) < 1e-9,
    `C = ${j.interval.checkpointCost}, mean of the last three = ${C}`,
  );
  t.true(Math.abs(j.interval.seconds - dalyInterval(C, 30)) < 1e-9);
  t.regex(j.interval.reason, /Daly/);
  t.log(`C = ${C.toFixed(3)} s, M = 30 s -> T = ${j.interval.seconds.toFixed(2)} s (${j.interval.reason})`);
  const human = await grid.cli(['job', id]);
  t.regex(human.stdout, /interval: +\d/);
  const c = await grid.cli(['cancel', id]);
  t.is(c.code, 0, c.stderr);
  t.is((await grid.job(id)).state, 'cancelled');
});

test.serial(
  '2. a container job resumes on the other host from its last complete checkpoint after its host is killed',
  async (t) => {
    const n = 60;
    await failover(
      t,
      {
        name: 'counter',
        kind: 'container',
        rootfs,
        args: ['sh', '-c', counterScript(n, STEP)],
        env: {},
        checkpoint: { interval: `${INTERVAL}s`, keep: 2 },
      },
      n,
    );
  },
);

test.serial('3. a process job resumes on the other host through criu after its host is killed', async (t) => {
  const n = 60;
  await failover(
    t,
    {
      name: 'proc',
      kind: 'process',
      args: ['sh', '-c', counterScript(n, STEP)],
      checkpoint: { interval: `${INTERVAL}s`, keep: 2 },
    },
    n,
  );
});

test.serial('4. kill -9 of the scheduler while jobs run and checkpoint loses nothing', async (t) => {
  const n = 80;
  const ids = [
    await grid.submit({
      name: 'c4',
      kind: 'container',
      rootfs,
      args: ['sh', '-c', counterScript(n, STEP)],
      checkpoint: { interval: `${INTERVAL}s`, keep: 2 },
    }),
    await grid.submit({
      name: 'p4',
      kind: 'process',
      args: ['sh', '-c', counterScript(n, STEP)],
      checkpoint: { interval: `${INTERVAL}s`, keep: 2 },
    }),
  ];
  await waitFor(
    'checkpoints of both',
    async () => (await Promise.all(ids.map((id) => grid.job(id)))).every((j) => j.checkpointsTaken >= 2),
    40_000,
    200,
  );
  const before = await Promise.all(ids.map((id) => grid.job(id)));
  await grid.killScheduler();
  const tDown = Date.now();
  await sleep(500);
  await grid.startScheduler();
  t.log(`scheduler down ${((Date.now() - tDown) / 1000).toFixed(1)} s`);
  for (const [i, id] of ids.entries()) {
    const j = await grid.job(id);
    const b0 = before[i] as (typeof before)[number];
    t.is(j.state, 'running');
    t.is(j.worker, b0.worker, 'the job stays where it ran');
    t.is(j.epoch, b0.epoch, 'no fencing, no move');
    t.true(j.checkpointsTaken >= b0.checkpointsTaken, 'checkpoint history kept');
    for (const c of b0.checkpoints.slice(-1))
      t.true(j.checkpoints.some((x) => x.seq === c.seq) || j.checkpointsDeleted > b0.checkpointsDeleted);
  }
  await waitFor(
    'both done',
    async () => (await Promise.all(ids.map((id) => grid.job(id)))).every((j) => j.state === 'done'),
    60_000,
    300,
  );
  for (const id of ids) {
    const j = await grid.job(id);
    t.is(j.exitCode, 0);
    t.is(j.restores.length, 0, 'never restored: it kept running');
    t.true(
      j.checkpointsTaken > (before.find((x) => x.id === id)?.checkpointsTaken ?? 0),
      'checkpoints went on after the restart',
    );
    t.is(checkCounts(t, await logsOf(id), n, 0), 0, 'the output is one uninterrupted run');
  }
});

test.serial(
  '5. a worker cut off from the scheduler stops its copy once it is back and its job has moved',
  async (t) => {
    const n = 400;
    const id = await grid.submit({
      name: 'cut',
      kind: 'container',
      rootfs,
      args: ['sh', '-c', counterScript(n, STEP)],
      checkpoint: { interval: `${INTERVAL}s`, keep: 2 },
    });
    await waitFor('a checkpoint', async () => (await grid.job(id)).checkpointsTaken >= 1, 40_000, 200);
    const cutHost = hostOf((await grid.job(id)).worker);
    const other = cutHost === a ? b : a;
    grid.cut(cutHost, true);
    t.log(`${id}: cut ${cutHost.name} off`);
    await waitFor(
      'the job moved and running on the other host',
      async () => {
        const j = await grid.job(id);
        return j.worker === other.workerId && j.state === 'running';
      },
      30_000,
      200,
    );
    t.true(grid.containersOf(cutHost).length > 0, 'the cut-off host still has its (paused) copy');
    await sleep(1_000);
    grid.cut(cutHost, false);
    t.log(`${id}: ${cutHost.name} reconnected`);
    await waitFor(
      'the cut-off host to stop its copy',
      () => grid.containersOf(cutHost).length === 0 && grid.instancesOn(cutHost).length === 0,
      20_000,
      200,
    );
    const cutLog = grid.logOf(`worker-${cutHost.name}`);
    t.regex(cutLog, /job paused/, 'the cut-off worker froze its copy when its lease ran out');
    t.regex(cutLog, /stopping job/);
    t.is((await grid.job(id)).worker, other.workerId);
    await sleep(2_000);
    const seen = await logsOf(id);
    const jumps = seen.map((c, i) => (i > 0 ? c - (seen[i - 1] as number) : 1)).filter((d) => d !== 1);
    t.true(jumps.length <= 1, `the two copies never both wrote output: ${JSON.stringify(jumps)}`);
    t.is(seen.filter((c) => c === 1).length, 1);

    const c = await grid.cli(['cancel', id, '--json']);
    t.is(c.code, 0, c.stderr);
    t.is((JSON.parse(c.stdout) as { state: string }).state, 'cancelled');
    await waitFor('the job stopped everywhere', () => grid.containersOf(other).length === 0, 20_000, 200);
  },
);
