import test from 'ava';
import { cleanupAll, counterScript } from '../helpers/jobs.ts';
import { SchedGrid, runFailover } from '../helpers/sched-grid.ts';
import type { Host } from '../helpers/sched-grid.ts';

// Acceptance 2 on the real storage: a manager and a benefactor on the
// "server"; two hosts, each in its own network namespace with its own
// benefactor, `stdchk mount` and worker. The container image and every
// checkpoint live in the storage; the host running the job is killed
// (worker, container, mount, benefactor: kill -9) and the job resumes on the
// other host from its newest complete checkpoint, read through that host's
// own mount.

const grid = new SchedGrid({
  storage: true,
  schedulerArgs: ['--heartbeat-timeout', '5s', '--heartbeat-interval', '500ms', '--retention-grace', '3s'],
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

test.serial(
  '2 (real storage). a container job resumes on the other host from the storage after its host is killed',
  async (t) => {
    const n = 100;
    const interval = 2;
    const step = 0.25;
    await runFailover(
      t,
      grid,
      [a, b],
      {
        name: 'counter',
        kind: 'container',
        rootfs, // inside the storage: each worker reads it through its own mount
        args: ['sh', '-c', counterScript(n, step)],
        checkpoint: { interval: `${interval}s`, keep: 2 },
      },
      n,
      interval / step + 8,
    );
  },
);
