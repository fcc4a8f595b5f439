import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { stat, readFile, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { STDCHK_BIN, cleanupAll, startGrid, tempDir, waitFor } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import type { GridMount } from '../../src/grid/local-grid.ts';
import { mountSource } from '../../src/grid/local-grid.ts';
import { run, sh } from '../helpers/run.ts';

// Acceptance 1, 2, 7 and 8 of the mount (issue 3), through real kernel
// mounts: `stdchk mount` processes on a grid of a manager and 3 benefactors.
// Serial, as root; every mount is unmounted in test.after.always.
// The mounts write back (the default): what one mount wrote is read through
// the other after the folder barrier (`sync DIR`), as a checkpoint's reader
// would after its writer's barrier.

const MiB = 1024 * 1024;

let grid: LocalGrid;
let work: string;
let m1: GridMount;
let m2: GridMount;

function vmKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** The last warnings and errors of a grid process's log, for failure messages. */
function logTail(name: string): string {
  const file = path.join(grid.logDir, `${name}.log`);
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => !l.includes('"level":30') && !l.includes('"level":20'))
    .slice(-15)
    .join('\n');
}

test.before(async () => {
  // The work folder first: cleanups run last-in first-out, so it is deleted after the grid and its mounts stop.
  work = tempDir('stdchk-mount-');
  grid = await startGrid({ benefactors: 3 });
  m1 = await grid.mount(path.join(work, 'm1'), { cacheDir: path.join(work, 'cache1'), cacheSize: '1GiB' });
  m2 = await grid.mount(path.join(work, 'm2'), { cacheDir: path.join(work, 'cache2'), cacheSize: '1GiB' });
});

test.after.always(async () => {
  await grid?.stop(); // mounts first, while the grid can take their last commits
  await cleanupAll();
  // Belt and braces: nothing of ours stays mounted.
  for (const name of ['m1', 'm2', 'm3', 'm4']) {
    const mp = path.join(work, name);
    if (mountSource(mp)) await run('umount', ['-l', mp]);
  }
});

// /usr/share/doc/l*: ~2300 entries (files, folders, symlinks), ~55 MB; the whole of
// /usr/share/doc (5200 entries) takes minutes on a loaded 2-core machine.
const TREE = { parent: '/usr/share/doc', pattern: 'l*' };

test.serial(
  'acceptance 1: tar of a source tree into the mount is identical (diff -r), through both mounts',
  async (t) => {
    const { parent, pattern } = TREE;
    const count = await sh(`cd ${parent} && find ${pattern} | wc -l; find ${pattern} -type l | wc -l`);
    const [entries, links] = count.stdout.trim().split('\n').map(Number);
    t.true((entries ?? 0) > 1000 && (links ?? 0) > 10, `source tree: ${entries} entries, ${links} symlinks`);
    const dest = (m: GridMount) => path.join(m.mountpoint, 'tree');
    await run('mkdir', [dest(m1)]);

    const x = await sh(`cd ${parent} && tar -cf - ${pattern} | tar -C ${dest(m1)} -xf -`, 600_000);
    if (x.code !== 0) t.log(logTail('mount-0'));
    t.is(x.code, 0, x.stderr.slice(0, 3000));
    const barrier = await sh(`sync ${dest(m1)}`, 600_000);
    t.is(barrier.code, 0, barrier.stderr);
    t.log(
      `tar extract of ${entries} entries (${links} symlinks) into the mount: ${x.seconds.toFixed(1)} s, ` +
        `then ${barrier.seconds.toFixed(1)} s until durable (sync DIR)`,
    );

    // diff -r compares every file and, with --no-dereference, every symlink's target.
    const diff = (m: GridMount) =>
      sh(
        `cd ${parent} && for d in ${pattern}; do diff -r --no-dereference "$d" "${dest(m)}/$d" || exit 1; done`,
      );
    const d1 = await diff(m1);
    t.is(d1.code, 0, d1.stdout.slice(0, 2000) + d1.stderr.slice(0, 2000));
    const d2 = await diff(m2);
    t.is(d2.code, 0, d2.stdout.slice(0, 2000) + d2.stderr.slice(0, 2000));
    t.log(
      `diff -r: ${d1.seconds.toFixed(1)} s through the writing mount, ${d2.seconds.toFixed(1)} s through the other`,
    );

    // Modes, owners, types and symlink targets survive too.
    const listing = (dir: string) => sh(`cd ${dir} && find ${pattern} -printf '%m %u %g %y %l %p\\n' | sort`);
    const a = await listing(parent);
    const b = await listing(dest(m2));
    t.is(b.stdout, a.stdout);
  },
);

test.serial('a file committed through one mount is readable through the other within a second', async (t) => {
  const name = `fresh-${Date.now()}.txt`;
  const content = `hello from m1 ${Math.random()}\n`;
  await writeFile(path.join(m1.mountpoint, name), content);
  // Committed: fsync (`sync FILE`) returns once it is (a write-back close() returns before).
  t.is((await run('sync', [path.join(m1.mountpoint, name)])).code, 0);
  const closedAt = performance.now();
  const seen = await waitFor(
    'the file through m2',
    async () => {
      const text = await readFile(path.join(m2.mountpoint, name), 'utf8');
      return text === content ? performance.now() : undefined;
    },
    5_000,
    20,
  );
  const ms = seen - closedAt;
  t.log(`visible and identical through the other mount after ${ms.toFixed(0)} ms`);
  t.true(ms < 1000, `took ${ms} ms`);

  // A new version replaces the content for new opens within a second too.
  const content2 = 'second version, longer than the first one\n';
  await writeFile(path.join(m1.mountpoint, name), content2);
  t.is((await run('sync', [path.join(m1.mountpoint, name)])).code, 0);
  const at2 = performance.now();
  await waitFor(
    'the new version through m2',
    async () => (await readFile(path.join(m2.mountpoint, name), 'utf8')) === content2,
    5_000,
    20,
  );
  t.true(performance.now() - at2 < 1500, `new version after ${(performance.now() - at2).toFixed(0)} ms`);
});

test.serial('acceptance 2: fio random and sequential writes with --verify report no errors', async (t) => {
  const dir = path.join(m1.mountpoint, 'fio');
  await run('mkdir', ['-p', dir]);
  const common = [
    `--directory=${dir}`,
    '--ioengine=psync',
    '--verify=crc32c',
    '--do_verify=1',
    '--verify_fatal=1',
    '--fallocate=none',
    '--output-format=json',
    '--verify_state_save=0',
  ];
  const rand = await run('fio', ['--name=randw', '--rw=randwrite', '--bs=4k', '--size=32m', ...common]);
  t.is(rand.code, 0, rand.stderr + rand.stdout.slice(0, 3000));
  const seq = await run('fio', ['--name=seqw', '--rw=write', '--bs=1m', '--size=256m', ...common]);
  t.is(seq.code, 0, seq.stderr + seq.stdout.slice(0, 3000));
  const mixed = await run('fio', [
    '--name=randrw',
    '--rw=randrw',
    '--bs=64k',
    '--size=64m',
    '--verify_backlog=64',
    ...common,
  ]);
  t.is(mixed.code, 0, mixed.stderr + mixed.stdout.slice(0, 3000));
  for (const [label, r] of [
    ['randwrite 4k', rand],
    ['write 1m', seq],
    ['randrw 64k', mixed],
  ] as const) {
    const job = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))).jobs[0];
    t.is(job.error, 0, `${label}: fio error ${job.error}`);
    t.log(
      `fio ${label}: write ${(job.write.bw / 1024).toFixed(1)} MiB/s, verified, ${r.seconds.toFixed(1)} s`,
    );
  }
  // The verified files also read back identically through the other mount (after the barrier).
  t.is((await run('sync', [dir])).code, 0);
  const a = await sh(`cd ${dir} && cat * | sha256sum`);
  const b = await sh(`cd ${path.join(m2.mountpoint, 'fio')} && cat * | sha256sum`);
  t.is(a.stdout, b.stdout);
});

test.serial('acceptance 8: a multi-GiB sequential dd keeps the mount process memory bounded', async (t) => {
  const m3 = await grid.mount(path.join(work, 'm3'), { name: 'mount-dd' });
  const pid = m3.child.pid as number;
  const before = vmKb(pid, 'VmHWM');
  const gib = 2;
  const dd = await sh(
    `dd if=/dev/urandom of=${m3.mountpoint}/big.bin bs=1M count=${gib * 1024} conv=fsync 2>&1`,
    900_000,
  );
  if (dd.code !== 0) t.log(logTail('mount-dd'));
  t.is(dd.code, 0, dd.stdout);
  const after = vmKb(pid, 'VmHWM');
  const st = await stat(path.join(m3.mountpoint, 'big.bin'));
  t.is(st.size, gib * 1024 * MiB);
  const mbps = (gib * 1024) / dd.seconds;
  t.log(
    `dd ${gib} GiB from /dev/urandom into the mount: ${mbps.toFixed(0)} MiB/s (urandom itself ~300 MB/s here)`,
  );
  t.log(
    `mount VmHWM: ${(before / 1024).toFixed(0)} MiB after start, ${(after / 1024).toFixed(0)} MiB after the write`,
  );
  t.true(after < 600 * 1024, `VmHWM ${after} kB`);

  // Reference figures: the same bytes from the page cache to the mount and to local disk.
  const local = path.join(work, 'local.bin');
  const src = path.join(work, 'src.bin');
  await sh(`head -c ${512 * MiB} /dev/urandom > ${src}`);
  const toLocal = await sh(`dd if=${src} of=${local} bs=1M conv=fsync 2>&1`);
  const toMount = await sh(`dd if=${src} of=${m3.mountpoint}/copy.bin bs=1M conv=fsync 2>&1`);
  t.is(toMount.code, 0, toMount.stdout);
  t.log(
    `dd 512 MiB (page cache -> file, conv=fsync): local disk ${(512 / toLocal.seconds).toFixed(0)} MiB/s, ` +
      `mount ${(512 / toMount.seconds).toFixed(0)} MiB/s (2 replicas)`,
  );
  const back = await sh(`cmp ${src} ${m3.mountpoint}/copy.bin && echo same`);
  t.is(back.stdout.trim(), 'same', back.stderr);
  await rm(src, { force: true });
  await rm(local, { force: true });
  await grid.unmount(m3);
  t.is(mountSource(m3.mountpoint), undefined);
});

test.serial('acceptance 7: after kill -9 of the mount process the next mount starts cleanly', async (t) => {
  const mp = path.join(work, 'm4');
  // One staging folder for both: what the killed mount staged, the next one uploads.
  const staging = ['--staging', path.join(work, 'staging-m4')];
  const first = await grid.mount(mp, { name: 'mount-killed', args: staging });
  await writeFile(path.join(mp, 'before-kill.txt'), 'committed before the kill\n');
  await grid.kill(first, 'SIGKILL');
  t.false(existsSync(`/proc/${first.child.pid}`), 'the killed process is gone');
  // The dead mount fails fast instead of hanging.
  const dead = await run('ls', [mp], 10_000);
  t.not(dead.code, 0);
  t.regex(dead.stderr, /not connected/);
  t.truthy(mountSource(mp), 'the stale mount is still there');

  const second = await grid.mount(mp, { name: 'mount-after-kill', args: staging });
  t.is(mountSource(mp), `stdchk:${second.child.pid}`);
  t.is(await readFile(path.join(mp, 'before-kill.txt'), 'utf8'), 'committed before the kill\n');
  await writeFile(path.join(mp, 'after.txt'), 'ok');
  t.is((await run('sync', [mp])).code, 0);
  t.is(await readFile(path.join(m2.mountpoint, 'before-kill.txt'), 'utf8'), 'committed before the kill\n');
  t.is(await readFile(path.join(m2.mountpoint, 'after.txt'), 'utf8'), 'ok');
  const log = readFileSync(path.join(grid.logDir, 'mount-after-kill.log'), 'utf8');
  t.regex(log, /clearing a stale mount/);

  // SIGTERM unmounts cleanly and exits 0.
  second.child.kill('SIGTERM');
  const exit = await second.exited;
  t.is(exit.code, 0);
  t.is(mountSource(mp), undefined);
  // No stuck processes of these mounts remain.
  const ps = await sh(`ps -eo stat,args | grep -F ${mp} | grep -v grep || true`);
  t.is(ps.stdout.trim(), '');
});

test.serial('stdchk mount exits with one clear line on bad configuration', async (t) => {
  const flags = `--manager ${grid.managerAddress} --secret-file ${grid.secretFile}`;
  const r = await sh(
    `${STDCHK_BIN} mount ${path.join(work, 'bad')} ${flags} --replicas 0 2>&1; echo "exit=$?"`,
  );
  t.regex(r.stdout, /^stdchk: --replicas must be an integer from 1 to 16/m);
  t.regex(r.stdout, /exit=2/);
  writeFileSync(path.join(work, 'notdir'), 'x');
  const r2 = await sh(`${STDCHK_BIN} mount ${path.join(work, 'notdir')} ${flags} 2>&1; echo "exit=$?"`);
  t.regex(r2.stdout, /^stdchk: .*not a directory/im);
  t.regex(r2.stdout, /exit=1/);
  t.is(r2.stdout.trim().split('\n').length, 2, 'one line, then the exit code');
});
