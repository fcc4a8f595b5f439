import test from 'ava';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { busyboxTarball, cleanupAll, counterScript, waitFor } from '../helpers/jobs.ts';
import { SchedGrid, canUseNetns, runFailover } from '../helpers/sched-grid.ts';
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

test.before(async () => {
  if (!canUseNetns()) throw new Error('these tests need root and iproute2 (network namespaces)');
  await grid.startStorage();
  await grid.startScheduler();
  a = grid.addHost('a', { netns: true });
  b = grid.addHost('b', { netns: true });
  await Promise.all([grid.startHostStorage(a), grid.startHostStorage(b)]);
  // The image goes into the storage (through host a's mount) once enough benefactors take writes.
  const tarball = busyboxTarball(grid.dir);
  await waitFor(
    'the image stored',
    () => {
      mkdirSync(path.join(a.mountpoint, 'images'), { recursive: true });
      copyFileSync(tarball, path.join(a.mountpoint, 'images', 'busybox.tar'));
      return existsSync(path.join(b.mountpoint, 'images', 'busybox.tar'));
    },
    60_000,
    1_000,
  );
  grid.startWorker(a);
  grid.startWorker(b);
  await grid.waitForWorkers([a.workerId, b.workerId]);
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
        rootfs: 'images/busybox.tar', // inside each worker's own mount
        args: ['sh', '-c', counterScript(n, step)],
        checkpoint: { interval: `${interval}s`, keep: 2 },
      },
      n,
      interval / step + 8,
    );
  },
);
