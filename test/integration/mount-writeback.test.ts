import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupAll, startGrid, tempDir, waitFor } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import type { GridMount } from '../../src/grid/local-grid.ts';
import { mountSource } from '../../src/grid/local-grid.ts';
import { noHang, sha } from '../helpers/faults.ts';
import { run, sh } from '../helpers/run.ts';
import type { RunResult } from '../helpers/run.ts';

// Acceptance of the write-back mount (issue 13, section 1) through real
// kernel mounts: `stdchk mount --write-mode writeback` processes on a grid
// of a manager and 3 benefactors, and a second mount as another host. The
// uploader is held with the test-only fault STDCHK_FAULT_UPLOAD_PAUSE=FILE
// (nothing is uploaded or committed while FILE exists), so "after close()
// returned, before the upload" is a state, not a race.

const MiB = 1024 * 1024;
const CRIU = existsSync('/usr/local/sbin/criu') ? '/usr/local/sbin/criu' : 'criu';
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

let grid: LocalGrid;
let work: string;
let other: GridMount;
const pids = new Set<number>();

/** A write-back mount whose uploader is held while `pause` exists. */
function writeBack(mp: string, name: string, pause: string, extra: string[] = []): Promise<GridMount> {
  return grid.mount(mp, {
    name,
    replicas: 2,
    args: ['--write-mode', 'writeback', ...extra],
    env: { STDCHK_FAULT_UPLOAD_PAUSE: pause },
  });
}

function logOf(name: string): string {
  const f = path.join(grid.logDir, `${name}.log`);
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

test.before(async () => {
  work = tempDir('stdchk-wb-');
  grid = await startGrid({ benefactors: 3 });
  other = await grid.mount(path.join(work, 'other'), { name: 'other', args: ['--write-mode', 'sync'] });
});

test.after.always(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await grid?.stop();
  await cleanupAll();
  for (const name of ['w1', 'w2', 'w3', 'w4', 'other']) {
    const mp = path.join(work, name);
    if (mountSource(mp)) await run('umount', ['-l', mp]);
  }
});

test.serial(
  'kill -9 of the mount right after close() returned, before the upload: after a restart on the same staging folder every closed file is committed, byte-identical; no other mount ever sees a partial file',
  async (t) => {
    const pause = path.join(work, 'pause-kill');
    writeFileSync(pause, '');
    const mp = path.join(work, 'w1');
    const m = await writeBack(mp, 'wb-kill', pause);
    mkdirSync(path.join(mp, 'ck'));
    // A checkpoint-like folder: one large image, several small ones, written by separate processes.
    const files: Record<string, Buffer> = {
      'pages-1.img': randomBytes(24 * MiB + 4321),
      'core-1.img': randomBytes(8 * 1024),
      'inventory.img': randomBytes(200),
      'empty.img': Buffer.alloc(0),
    };
    for (let i = 0; i < 20; i++) files[`small-${i}.img`] = randomBytes(3000 + i);
    for (const [name, data] of Object.entries(files)) {
      const src = path.join(work, `src-${name}`);
      writeFileSync(src, data);
      const cp = await run('cp', [src, path.join(mp, 'ck', name)]);
      t.is(cp.code, 0, cp.stderr);
    }
    // close() returned for each: this mount shows them; the other host has none of them.
    t.is(statSync(path.join(mp, 'ck', 'pages-1.img')).size, 24 * MiB + 4321);
    t.deepEqual(readdirSync(path.join(other.mountpoint, 'ck')), []);

    await grid.kill(m, 'SIGKILL');
    t.regex((await run('ls', [mp], 10_000)).stderr, /not connected/);

    // Meanwhile and during the replay, the other host sees each file either absent or whole.
    let watching = true;
    const partial: string[] = [];
    const seenWhole = new Set<string>();
    const watcher = (async () => {
      while (watching) {
        for (const name of readdirSync(path.join(other.mountpoint, 'ck'))) {
          const want = files[name];
          const got = await readFile(path.join(other.mountpoint, 'ck', name)).catch(() => undefined);
          if (!want || !got) continue;
          if (sha(got) === sha(want)) seenWhole.add(name);
          else partial.push(`${name}: ${got.length} of ${want.length} bytes`);
        }
        await sleep(20);
      }
    })();
    await sleep(500);
    t.deepEqual(
      readdirSync(path.join(other.mountpoint, 'ck')),
      [],
      'nothing reached the manager before the kill',
    );
    rmSync(pause);
    const restarted = await writeBack(mp, 'wb-kill', pause);
    t.regex(logOf('wb-kill'), /staging journal replayed/);
    const sync = await sh(`sync ${path.join(mp, 'ck')}`, 120_000);
    t.is(sync.code, 0, sync.stderr);
    watching = false;
    await watcher;
    t.deepEqual(partial, [], 'no partial file was ever visible');
    for (const [name, data] of Object.entries(files)) {
      t.is(
        sha(readFileSync(path.join(other.mountpoint, 'ck', name))),
        sha(data),
        `${name} committed, identical`,
      );
    }
    t.log(
      `${Object.keys(files).length} files replayed; the other host saw ${seenWhole.size} of them appear whole while it watched`,
    );
    // The journal is empty once everything is committed.
    t.deepEqual(readdirSync(path.join(grid.dir, 'staging', 'wb-kill', 'journal')), []);
    await grid.unmount(restarted);
  },
);

test.serial(
  'a full staging area (--staging-size 8MiB, uploads held) makes writers wait, without an error; they finish once uploads go on, bytes identical',
  async (t) => {
    const pause = path.join(work, 'pause-full');
    writeFileSync(pause, '');
    const mp = path.join(work, 'w2');
    const m = await writeBack(mp, 'wb-full', pause, ['--staging-size', '8MiB']);
    mkdirSync(path.join(mp, 'full'));
    const datas = [randomBytes(6 * MiB), randomBytes(6 * MiB), randomBytes(20 * MiB)];
    const srcs = datas.map((d, i) => {
      const f = path.join(work, `full-src-${i}`);
      writeFileSync(f, d);
      return f;
    });
    const exits: (number | null)[] = [null, null, null];
    const writers = srcs.map(
      (src, i) =>
        new Promise<void>((resolve) => {
          const c = spawn('dd', [`if=${src}`, `of=${path.join(mp, 'full', `f${i}`)}`, 'bs=1M'], {
            stdio: 'ignore',
          });
          pids.add(c.pid as number);
          c.on('exit', (code) => {
            exits[i] = code;
            resolve();
          });
        }),
    );
    await sleep(3000);
    const staged = readdirSync(path.join(grid.dir, 'staging', 'wb-full', 'data')).reduce(
      (n, f) => n + statSync(path.join(grid.dir, 'staging', 'wb-full', 'data', f)).size,
      0,
    );
    t.true(
      exits.filter((e) => e !== null).length < 3,
      `writers wait while the staging area is full (exits so far: ${exits.join(', ')})`,
    );
    t.true(
      exits.every((e) => e === null || e === 0),
      `no writer failed: ${exits.join(', ')}`,
    );
    // At most one 1 MiB write per writer beyond the size.
    t.true(staged <= 11 * MiB, `the staging area holds ${(staged / MiB).toFixed(1)} MiB (size 8 MiB)`);
    rmSync(pause);
    await noHang(Promise.all(writers), 180_000, 'the writers');
    t.deepEqual(exits, [0, 0, 0]);
    const sync = await sh(`sync ${path.join(mp, 'full')}`, 120_000);
    t.is(sync.code, 0, sync.stderr);
    for (const [i, d] of datas.entries()) {
      t.is(sha(readFileSync(path.join(other.mountpoint, 'full', `f${i}`))), sha(d), `f${i} identical`);
    }
    await grid.unmount(m);
  },
);

test.serial(
  'the folder barrier waits for staged files, and fails with EIO (sync DIR exits 1) when a commit fails after close()',
  async (t) => {
    const pause = path.join(work, 'pause-barrier');
    writeFileSync(pause, '');
    const mp = path.join(work, 'w3');
    const m = await writeBack(mp, 'wb-barrier', pause);
    for (const d of ['jobs', 'jobs/a', 'jobs/b']) mkdirSync(path.join(mp, d));
    writeFileSync(path.join(mp, 'jobs/a/pages.img'), randomBytes(2 * MiB));
    writeFileSync(path.join(mp, 'jobs/b/pages.img'), randomBytes(MiB));
    // While the uploads are held, `sync DIR` does not return.
    let returned: RunResult | undefined;
    const barrier = sh(`sync ${path.join(mp, 'jobs/a')}`, 120_000).then((r) => (returned = r));
    await sleep(1500);
    t.is(returned, undefined, 'sync DIR waits for the staged files beneath it');
    // Another host removes jobs/b (still empty there): its file cannot be committed.
    t.is((await run('rmdir', [path.join(other.mountpoint, 'jobs/b')])).code, 0);
    rmSync(pause);
    const ra = await barrier;
    t.is(ra.code, 0, `the barrier on jobs/a succeeds once committed: ${ra.stderr}`);
    const rb = await sh(`sync ${path.join(mp, 'jobs')}`, 120_000);
    t.not(rb.code, 0, 'the barrier above the failed file fails');
    t.regex(rb.stderr, /Input\/output error/);
    t.regex(logOf('wb-barrier'), /jobs\/b\/pages\.img/);
    t.is(existsSync(path.join(other.mountpoint, 'jobs/a/pages.img')), true);
    await grid.unmount(m);
  },
);

test.serial(
  'a CRIU dump into the write-back mount restores from another mount after the barrier',
  async (t) => {
    const check = await run(CRIU, ['check']);
    if (check.code !== 0) {
      t.log(`criu check fails here, skipping: ${check.stderr.trim()}`);
      t.pass();
      return;
    }
    const mp = path.join(work, 'w4');
    const m = await grid.mount(mp, { name: 'wb-criu', replicas: 2, args: ['--write-mode', 'writeback'] });
    const log = path.join(work, 'counter.log');
    // One process (no children), its own session, /dev/null stdio: what CRIU dumps without options.
    const counter = [
      'import time',
      `log = open(${JSON.stringify(log)}, 'a', buffering=1)`,
      'i = 0',
      'while True:',
      '    i += 1',
      "    log.write('%d\\n' % i)",
      '    time.sleep(0.05)',
    ].join('\n');
    const child = spawn(PYTHON, ['-c', counter], { detached: true, stdio: 'ignore' });
    child.unref();
    const pid = child.pid as number;
    pids.add(pid);
    await waitFor(
      'the counter',
      async () => existsSync(log) && readFileSync(log, 'utf8').split('\n').length > 5,
      20_000,
      50,
    );
    const dir = path.join(mp, 'jobs/c/1');
    mkdirSync(dir, { recursive: true });
    const workDir = tempDir('stdchk-criu-work-');
    const dump = await run(CRIU, ['dump', '-t', String(pid), '-D', dir, '-W', workDir, '-o', 'dump.log']);
    t.is(
      dump.code,
      0,
      readFileSync(path.join(workDir, 'dump.log'), 'utf8').split('\n').slice(-20).join('\n'),
    );
    const barrier = await sh(`sync ${dir}`, 120_000);
    t.is(barrier.code, 0, barrier.stderr);
    t.log(
      `criu dump into the write-back mount: ${dump.seconds.toFixed(2)} s; the barrier after it: ${barrier.seconds.toFixed(2)} s`,
    );
    const before = readFileSync(log, 'utf8').trim().split('\n').length;
    await waitFor('the dumped process to be gone', async () => !existsSync(`/proc/${pid}`), 20_000, 50);
    const restoreWork = tempDir('stdchk-criu-work-');
    const restore = await run(CRIU, [
      'restore',
      '-D',
      path.join(other.mountpoint, 'jobs/c/1'),
      '-W',
      restoreWork,
      '-o',
      'restore.log',
      '--restore-detached',
    ]);
    if (restore.code !== 0) {
      t.log(readFileSync(path.join(restoreWork, 'restore.log'), 'utf8').split('\n').slice(-30).join('\n'));
      t.log((await sh(`ls -la ${dir} ${path.join(other.mountpoint, 'jobs/c/1')}`)).stdout);
    }
    t.is(restore.code, 0, restore.stderr);
    await waitFor(
      'the restored counter to go on',
      async () => readFileSync(log, 'utf8').trim().split('\n').length > before + 5,
      30_000,
      100,
    );
    const nums = readFileSync(log, 'utf8').trim().split('\n').map(Number);
    t.is(nums.filter((n) => n === 1).length, 1, 'restored, not restarted');
    process.kill(pid, 'SIGKILL');
    pids.delete(pid);
    await grid.unmount(m);
  },
);
