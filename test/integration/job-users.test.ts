import test from 'ava';
import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanupAll, counterScript, waitFor } from '../helpers/jobs.ts';
import { SchedGrid, runFailover } from '../helpers/sched-grid.ts';
import type { Host } from '../helpers/sched-grid.ts';

// Issue 19, items 9 and 7, on a real grid: a scheduler, two hosts each with
// its own benefactor, `stdchk mount` and worker (network namespaces), all
// with their default job-user policy (jobs run as nobody). Jobs must not get
// root, must still checkpoint and move between hosts, and another user of a
// worker must read neither their checkpoints nor their output.

const STEP = 0.25;
const INTERVAL = 2;
const MAX_BACK = INTERVAL / STEP + 8;
/** A uid that exists nowhere else: "another user of the worker". */
const OTHER_USER = 40_021;

const grid = new SchedGrid({
  storage: true,
  schedulerArgs: [
    '--heartbeat-timeout',
    '5s',
    '--heartbeat-interval',
    '500ms',
    '--retention-grace',
    '3s',
    // The scheduler lets 4242 through; the workers (default policy) do not.
    '--allow-users',
    '4242',
  ],
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

/** Runs `cmd` as `uid` (gid = uid, no groups). */
function runAs(uid: number, script: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', 'sh', '-c', script],
      { timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
  });
}

/** Says who it runs as and probes what root could do, then counts to n. */
function probingCounter(n: number): string {
  return [
    'echo "who=$(id -u):$(id -g)"',
    'cat /etc/shadow >/dev/null 2>&1 && echo shadow=read || echo shadow=denied',
    'unshare -U true 2>/dev/null && echo unshare=allowed || echo unshare=denied',
    counterScript(n, STEP).replace(/; exit 0$/, ''),
    // After the count: runs in the restored copy.
    'echo "after=$(id -u):$(id -g)"',
    'unshare -U true 2>/dev/null && echo unshare-after=allowed || echo unshare-after=denied',
  ].join('; ');
}

async function logText(id: string): Promise<string> {
  const r = await grid.cli(['logs', id]);
  if (r.code !== 0) throw new Error(`stdchk logs: ${r.stderr}`);
  return r.stdout;
}

test.serial('a job file naming a user the grid does not allow is refused at submit', async (t) => {
  const file = path.join(grid.dir, 'root-job.json');
  for (const user of ['root', '0', '0:0', '1000']) {
    writeFileSync(file, JSON.stringify({ kind: 'process', args: ['cat', '/etc/shadow'], user }));
    const r = await grid.cli(['submit', file]);
    t.is(r.code, 1, user);
    t.regex(
      r.stderr,
      /^stdchk: job file: "user" "[^"]+"( \([a-z]+\))? is not allowed on this grid: (root|uid 1000) is not in --allow-users \(allowed: the default user nobody, 4242\)\n$/,
      user,
    );
  }
  t.is((await grid.cli(['jobs', '--json'])).stdout.trim(), '[]', 'nothing was queued');
});

test.serial(
  "a user the scheduler lets through but the workers do not fails with the worker's reason",
  async (t) => {
    const id = await grid.submit({ name: 'u4242', kind: 'process', args: ['id'], user: '4242' });
    await waitFor('the job failed', async () => (await grid.job(id)).state === 'failed', 60_000, 300);
    t.regex(
      (await grid.job(id)).error,
      /"user" "4242" is not allowed on this grid: uid 4242 is not in --allow-users/,
    );
  },
);

test.serial('a process job runs as nobody and moves to the other host through criu', async (t) => {
  const n = 60;
  await runFailover(
    t,
    grid,
    [a, b],
    {
      name: 'proc-nobody',
      kind: 'process',
      args: ['sh', '-c', probingCounter(n)],
      checkpoint: { interval: `${INTERVAL}s`, keep: 2 },
    },
    n,
    MAX_BACK,
  );
  const id = (await grid.cli(['jobs', '--json'])).stdout.match(/"id": "(proc-nobody[^"]*)"/)?.[1] as string;
  const out = await logText(id);
  t.regex(out, /^who=65534:65534$/m);
  t.regex(out, /^shadow=denied$/m, 'a process job cannot read /etc/shadow');
  t.regex(out, /^after=65534:65534$/m, 'the restored copy on the other host runs as nobody too');
});

test.serial('a container job runs as nobody under seccomp and moves to the other host', async (t) => {
  const n = 60;
  await runFailover(
    t,
    grid,
    [a, b],
    {
      name: 'ctr-nobody',
      kind: 'container',
      rootfs,
      args: ['sh', '-c', probingCounter(n)],
      checkpoint: { interval: `${INTERVAL}s`, keep: 2 },
    },
    n,
    MAX_BACK,
  );
  const id = (await grid.cli(['jobs', '--json'])).stdout.match(/"id": "(ctr-nobody[^"]*)"/)?.[1] as string;
  const out = await logText(id);
  t.regex(out, /^who=65534:65534$/m);
  t.regex(out, /^unshare=denied$/m, 'the seccomp profile denies new namespaces');
  t.regex(out, /^after=65534:65534$/m);
  t.regex(out, /^unshare-after=denied$/m, 'and still does after the restore on the other host');
});

test.serial(
  "another user of a worker reads neither a job's checkpoints nor its output, in the mount or the work folder",
  async (t) => {
    const id = await grid.submit({
      name: 'private',
      kind: 'container',
      rootfs,
      args: ['sh', '-c', `echo secret-$((6*7)); ${counterScript(400, STEP)}`],
      checkpoint: { interval: `${INTERVAL}s`, keep: 2 },
    });
    await waitFor('two checkpoints', async () => (await grid.job(id)).checkpoints.length >= 2, 90_000, 300);
    const j = await grid.job(id);
    const host = [a, b].find((h) => h.workerId === j.worker) as Host;
    const seq = j.checkpoints[j.checkpoints.length - 1]?.seq as number;
    const ckDir = path.join(host.mountpoint, 'jobs', id, String(seq));
    const image = readdirSync(ckDir).find((f) => f.startsWith('pages-')) as string;
    const instance = readdirSync(path.join(host.workDir, 'instances')).find((n) =>
      n.startsWith(id),
    ) as string;
    const localLog = path.join(host.workDir, 'instances', instance, 'output.log');
    const logSegment = path.join(
      host.mountpoint,
      'jobs',
      id,
      'log',
      readdirSync(path.join(host.mountpoint, 'jobs', id, 'log'))[0] as string,
    );
    t.truthy(image);

    for (const script of [
      `ls ${host.mountpoint}/jobs`,
      `ls ${ckDir}`,
      `cat ${path.join(ckDir, image)}`,
      `cat ${logSegment}`,
      `ls ${host.workDir}`,
      `cat ${localLog}`,
    ]) {
      const r = await runAs(OTHER_USER, script);
      t.not(r.code, 0, `uid ${OTHER_USER} could: ${script}`);
      t.regex(r.out, /Permission denied/, script);
    }
    // Root still reads it all (that is what restores and `stdchk logs` use).
    t.regex(await logText(id), /^secret-42$/m);
    const c = await grid.cli(['cancel', id]);
    t.is(c.code, 0, c.stderr);
  },
);
