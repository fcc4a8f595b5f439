import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { cleanupAll, startGrid, tempDir, waitFor } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import type { GridMount } from '../../src/grid/local-grid.ts';
import { mountSource } from '../../src/grid/local-grid.ts';

// Acceptance 3, 4, 5 and 6 of the mount (issue 3): CRIU and runc checkpoint
// into a `stdchk mount` and restore from a second mount of the same manager.
// Serial, as root; processes, containers and mounts are cleaned up at the end.

const MiB = 1024 * 1024;
const CRIU = existsSync('/usr/local/sbin/criu') ? '/usr/local/sbin/criu' : 'criu';
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

let grid: LocalGrid;
let work: string;
let m1: GridMount;
let m2: GridMount;
const pids = new Set<number>();
const containers = new Set<string>();

async function storedBytes(): Promise<number> {
  const c = grid.client();
  try {
    return (await c.status()).storedBytes;
  } finally {
    c.close();
  }
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) n += statSync(path.join(dir, f)).size;
  return n;
}

/**
 * A Python process holding `mb` MB of random state and a counter it appends
 * to `log` every 50 ms. Touching `log + '.mutate'` makes it rewrite ~10% of
 * its state in 64 KiB blocks at random places, then log "mutated".
 */
const STATEFUL_PY = `
import os, sys, time, random
log_path, mb = sys.argv[1], int(sys.argv[2])
state = bytearray(os.urandom(mb * 1024 * 1024))
block = 64 * 1024
counter = 0
mutated = False
log = open(log_path, 'a', buffering=1)
log.write('ready\\n')
while True:
    counter += 1
    log.write('%d\\n' % counter)
    if not mutated and os.path.exists(log_path + '.mutate'):
        blocks = len(state) // block
        for i in random.sample(range(blocks), blocks // 10):
            state[i * block:(i + 1) * block] = os.urandom(block)
        mutated = True
        log.write('mutated\\n')
    time.sleep(0.05)
`;
import { run, sh } from '../helpers/run.ts';

async function startStateful(name: string, mb: number): Promise<{ pid: number; log: string }> {
  const script = path.join(work, 'stateful.py');
  if (!existsSync(script)) writeFileSync(script, STATEFUL_PY);
  const log = path.join(work, `${name}.log`);
  // Its own session, no tty, /dev/null stdio: a tree CRIU dumps without --shell-job. This
  // process stays its parent, so it is reaped at once when criu dump kills it (its pid is
  // free again for the restore).
  const child = spawn(PYTHON, [script, log, String(mb)], { detached: true, stdio: 'ignore' });
  child.unref();
  const pid = child.pid as number;
  pids.add(pid);
  await waitFor('the process to fill its state', async () => lastCounter(log) >= 3, 60_000, 100);
  return { pid, log };
}

function lastCounter(log: string): number {
  if (!existsSync(log)) return 0;
  const nums = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
  return nums.length ? (nums[nums.length - 1] as number) : 0;
}

/**
 * criu dump into `dir`, then the folder barrier (`sync DIR`): the mounts write
 * back, so the images are on their replicas (and readable from the other
 * mount) once the barrier returns, as a worker marks a checkpoint complete.
 */
async function criuDump(t: ExecutionContext, pid: number, dir: string, extra: string[] = []) {
  mkdirSync(dir, { recursive: true });
  const logDir = tempDir('stdchk-criu-work-');
  const r = await run(CRIU, ['dump', '-t', String(pid), '-D', dir, '-W', logDir, '-o', 'dump.log', ...extra]);
  if (r.code !== 0)
    t.log(readFileSync(path.join(logDir, 'dump.log'), 'utf8').split('\n').slice(-30).join('\n'));
  t.is(r.code, 0, `criu dump failed: ${r.stderr}`);
  const barrier = await run('sync', [dir]);
  t.is(barrier.code, 0, `sync ${dir}: ${barrier.stderr}`);
  return { ...r, barrierSeconds: barrier.seconds };
}

/** True while `pid` is a live process (not gone, not a zombie). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

async function criuRestore(t: ExecutionContext, dir: string, pid: number) {
  // The dumped process must be gone (and reaped: its pid is restored as it was).
  await waitFor('the dumped process to be reaped', async () => !existsSync(`/proc/${pid}`), 20_000, 50);
  const logDir = tempDir('stdchk-criu-work-');
  const r = await run(CRIU, ['restore', '-D', dir, '-W', logDir, '-o', 'restore.log', '--restore-detached']);
  if (r.code !== 0)
    t.log(readFileSync(path.join(logDir, 'restore.log'), 'utf8').split('\n').slice(-30).join('\n'));
  t.is(r.code, 0, `criu restore failed: ${r.stderr}`);
  return r;
}

test.before(async () => {
  const check = await run(CRIU, ['check']);
  if (check.code !== 0) throw new Error(`criu check fails here: ${check.stderr}`);
  work = tempDir('stdchk-criu-'); // deleted after the grid stops (cleanups run in reverse)
  grid = await startGrid({ benefactors: 3 });
  m1 = await grid.mount(path.join(work, 'm1'), { cacheDir: path.join(work, 'cache1') });
  m2 = await grid.mount(path.join(work, 'm2'), { cacheDir: path.join(work, 'cache2') });
});

test.after.always(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const id of containers) await run('runc', ['delete', '--force', id]);
  await grid?.stop();
  await cleanupAll();
  for (const name of ['m1', 'm2']) {
    const mp = path.join(work, name);
    if (mountSource(mp)) await run('umount', ['-l', mp]);
  }
});

test.serial(
  'acceptance 3 and 4: criu dump of a 200 MB Python process into one mount, restore from another; the second dump adds at most 20%',
  async (t) => {
    const { pid, log } = await startStateful('py', 200);
    const dir1 = path.join(m1.mountpoint, 'jobs/py/1');
    const s0 = await storedBytes();
    const d1 = await criuDump(t, pid, dir1);
    const beforeDump = lastCounter(log);
    const image = dirBytes(dir1);
    const s1 = await storedBytes();
    t.log(
      `dump 1: ${(image / MiB).toFixed(0)} MiB image in ${d1.seconds.toFixed(1)} s ` +
        `(${(image / MiB / d1.seconds).toFixed(0)} MiB/s), durable ${d1.barrierSeconds.toFixed(1)} s later, ` +
        `storedBytes +${((s1 - s0) / MiB).toFixed(0)} MiB`,
    );
    t.false(running(pid), 'criu dump killed the process');

    // Restore from the second mount (another "host").
    const r = await criuRestore(t, path.join(m2.mountpoint, 'jobs/py/1'), pid);
    t.log(`restore from the other mount: ${r.seconds.toFixed(1)} s`);
    await waitFor('the counter to go on', async () => lastCounter(log) > beforeDump + 3, 30_000, 100);
    const lines = readFileSync(log, 'utf8').split('\n');
    t.is(lines.filter((l) => l === 'ready').length, 1, 'the process was restored, not restarted');

    // Acceptance 4: change ~10% of its memory, dump again into a new folder.
    writeFileSync(log + '.mutate', '');
    await waitFor(
      'the process to rewrite 10% of its state',
      async () => readFileSync(log, 'utf8').includes('mutated'),
      60_000,
      100,
    );
    const dir2 = path.join(m1.mountpoint, 'jobs/py/2');
    const s2 = await storedBytes();
    const d2 = await criuDump(t, pid, dir2, ['--leave-running']);
    const s3 = await storedBytes();
    const image2 = dirBytes(dir2);
    const added = s3 - s2;
    t.log(
      `dump 2 (after 10% changed): ${(image2 / MiB).toFixed(0)} MiB image in ${d2.seconds.toFixed(1)} s, ` +
        `storedBytes +${(added / MiB).toFixed(1)} MiB = ${((100 * added) / image2).toFixed(1)}% of the image`,
    );
    t.true(added <= 0.2 * image2, `second dump added ${added} bytes for a ${image2}-byte image`);
    process.kill(pid, 'SIGKILL');
    pids.delete(pid);
  },
);

test.serial(
  'acceptance 6: kill -9 of a benefactor during a criu dump at --replicas 2; dump and restore work',
  async (t) => {
    const { pid, log } = await startStateful('py6', 300);
    const dir = path.join(m1.mountpoint, 'jobs/py6/1');
    const s0 = await storedBytes();
    const dump = criuDump(t, pid, dir);
    await waitFor('the dump to be under way', async () => (await storedBytes()) > s0 + 40 * MiB, 60_000, 20);
    await grid.kill(grid.benefactors[1], 'SIGKILL');
    await dump;
    const before = lastCounter(log);
    await criuRestore(t, path.join(m2.mountpoint, 'jobs/py6/1'), pid);
    await waitFor('the counter to go on', async () => lastCounter(log) > before + 3, 30_000, 100);
    process.kill(pid, 'SIGKILL');
    pids.delete(pid);
    grid.startBenefactor(1);
    await grid.waitForAlive(3);
    t.pass();
  },
);

test.serial(
  'acceptance 5: a runc busybox container checkpointed into the mount and restored from the other',
  async (t) => {
    const bundle = path.join(work, 'bundle');
    const rootfs = path.join(bundle, 'rootfs');
    mkdirSync(rootfs, { recursive: true });
    const tar = path.join(work, 'rootfs.tar');
    const mk = await run('bash', [path.resolve('scripts/make-busybox-rootfs.sh'), tar]);
    t.is(mk.code, 0, mk.stderr);
    t.is((await run('tar', ['-C', rootfs, '-xf', tar])).code, 0);
    const spec = await run('runc', ['spec', '--bundle', bundle]);
    t.is(spec.code, 0, spec.stderr);
    const config = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    config.process.terminal = false;
    config.process.args = ['/bin/sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done'];
    config.root.readonly = false;
    writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config, null, 2));

    const id = `stdchk-test-${process.pid}`;
    containers.add(id);
    const out = path.join(work, 'container.log');
    // runc's stdio must be real pipes (not sockets, not a host file) for CRIU.
    await sh(`cd ${bundle} && (runc run ${id} </dev/null 2>&1 | cat >> ${out}) >/dev/null 2>&1 &`);
    await waitFor('the container to count', async () => lastCounter(out) >= 5, 30_000, 100);

    const images = path.join(m1.mountpoint, 'jobs/runc/1');
    mkdirSync(images, { recursive: true });
    const ck = await run('runc', [
      'checkpoint',
      '--image-path',
      images,
      '--work-path',
      tempDir('stdchk-runc-work-'),
      id,
    ]);
    t.is(ck.code, 0, ck.stderr);
    t.is((await run('sync', [images])).code, 0, 'the barrier after the checkpoint');
    const before = lastCounter(out);
    await waitFor(
      'the container to stop',
      async () => (await run('runc', ['state', id])).code !== 0,
      10_000,
      100,
    );

    await sh(
      `cd ${bundle} && (runc restore --image-path ${path.join(m2.mountpoint, 'jobs/runc/1')} ` +
        `--work-path ${tempDir('stdchk-runc-work-')} ${id} </dev/null 2>&1 | cat >> ${out}) >/dev/null 2>&1 &`,
    );
    await waitFor(
      'the restored container to count on',
      async () => lastCounter(out) > before + 5,
      30_000,
      100,
    );
    const nums = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
    t.is(nums.filter((n) => n === 1).length, 1, 'the counter continued rather than restarted');
    await run('runc', ['kill', id, 'KILL']);
    await run('runc', ['delete', '--force', id]);
    containers.delete(id);
  },
);
