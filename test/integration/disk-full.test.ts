import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { cleanupAll, runCli, startGrid, tempDir, waitFor } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { mountSource } from '../../src/grid/local-grid.ts';
import type { GridMount } from '../../src/grid/local-grid.ts';
import { clusterStatus as status, noHang, sha, writeThroughMount } from '../helpers/faults.ts';
import type { MountWrite } from '../helpers/faults.ts';

// Issue 6, fault 3: disk full. Four real benefactors: one with a small
// --capacity, one whose store is a small tmpfs (the file system itself fills
// up), two larger ones. A real FUSE mount and `stdchk put` write at replicas 2
// until the whole cluster is full.

const MiB = 1024 * 1024;
const execFileP = promisify(execFile);

let grid: LocalGrid;
let work: string;
let tmpfsDir: string | undefined;
/** Writes refused with ENOSPC (through the mount) or a clear error (the CLI). */
let refusals = 0;
/** Files committed (through the mount and the CLI). */
let written = 0;

test.after.always(async () => {
  await grid?.stop();
  // The tmpfs first: the grid's folder (which holds its mount point) is removed by cleanupAll.
  if (tmpfsDir && mountSource(tmpfsDir) === 'tmpfs') await execFileP('umount', ['-l', tmpfsDir]);
  await cleanupAll();
});

/**
 * Writes files of shrinking sizes until each size fails; every failure must be ENOSPC.
 * Each file is fsynced: with a write-back mount (the default) close() returns once the
 * file is staged, and fsync is where it is known committed (or the failure shows).
 */
async function fillUp(
  t: ExecutionContext,
  mp: string,
  prefix: string,
  committed: Map<string, string>,
): Promise<MountWrite | undefined> {
  let first: MountWrite | undefined;
  let i = 0;
  for (const size of [4 * MiB, 512 * 1024, 64 * 1024]) {
    for (let k = 0; k < 200; k++) {
      const data = randomBytes(size);
      const name = `${prefix}-${i++}`;
      const r = await noHang(writeThroughMount(path.join(mp, name), data, true), 180_000, `writing ${name}`);
      if (r.ok) {
        committed.set(name, sha(data));
        written++;
        continue;
      }
      t.is(r.code, 'ENOSPC', `a full cluster fails ${name} at ${r.failedAt} with ENOSPC, not ${r.code}`);
      refusals++;
      first ??= r;
      break;
    }
  }
  return first;
}

function logCount(name: string, re: RegExp): number {
  return (readFileSync(path.join(grid.logDir, `${name}.log`), 'utf8').match(re) ?? []).length;
}

test.serial(
  'disk full: a full cluster gives ENOSPC and a clear CLI error, full benefactors are skipped, nothing committed is lost, space comes back',
  async (t) => {
    t.timeout(10 * 60_000);
    work = tempDir('stdchk-full-');
    grid = await startGrid({ benefactors: 0, managerArgs: ['--gc-grace', '2s'] });
    const env = grid.env();

    // Two small benefactors first. Benefactor 1's store is a 12 MiB tmpfs with a large --capacity:
    // its file system fills, not its quota. Benefactor 0 has a 12 MiB --capacity on the ordinary disk.
    tmpfsDir = grid.benefactorStore(1);
    mkdirSync(tmpfsDir, { recursive: true });
    await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', tmpfsDir]);
    grid.startBenefactor(0, { capacity: '12MiB' });
    grid.startBenefactor(1, { capacity: '1GiB' });
    await grid.waitForAlive(2);
    const mount: GridMount = await grid.mount(path.join(work, 'mnt'), { replicas: 2 });
    const mp = mount.mountpoint;
    const committed = new Map<string, string>(); // name in the mount -> sha256

    // Phase 1: fill the cluster. Smaller and smaller files take the crumbs, until not even
    // 64 KiB finds two benefactors with room. Every failure is ENOSPC, never EIO or a hang.
    const first = await fillUp(t, mp, 'fill', committed);
    t.truthy(first, 'the cluster filled up and a write failed');
    t.log(`phase 1: ${committed.size} files committed, then ENOSPC (first at ${first?.failedAt})`);

    // fsync and close report ENOSPC too.
    const synced = await noHang(
      writeThroughMount(path.join(mp, 'small-fsync'), randomBytes(MiB), true),
      120_000,
      'fsync on a full cluster',
    );
    t.false(synced.ok, 'fsync on a full cluster fails');
    t.is(synced.code, 'ENOSPC');
    t.is(synced.failedAt, 'fsync');
    const closed = await noHang(
      writeThroughMount(path.join(mp, 'small-close'), randomBytes(64 * 1024)),
      120_000,
      'close on a full cluster',
    );
    t.deepEqual(closed, { ok: false, code: 'ENOSPC', failedAt: 'close' });
    refusals += 2;

    // `stdchk put` fails with one clear line and a non-zero exit.
    const local = path.join(work, 'put-me');
    writeFileSync(local, randomBytes(4 * MiB));
    const put = await runCli(['put', local, '/put-me', '--replicas', '2'], env);
    t.is(put.code, 1, put.stderr);
    refusals++;
    t.is(put.stderr.trim().split('\n').length, 1, `one line: ${put.stderr}`);
    t.regex(put.stderr, /^stdchk: .*(space|full)/i);
    t.log(`stdchk put on a full cluster: ${put.stderr.trim()}`);

    // What the refused writes stored before they failed reaches status with the next
    // heartbeats: wait until the usage settles, so phase 2 compares against it.
    let s = await status(env);
    for (let settledSince = Date.now(); Date.now() - settledSince < 3_000;) {
      await new Promise((r) => setTimeout(r, 500));
      const next = await status(env);
      const used = (x: typeof s) => x.benefactors.map((b) => `${b.id}:${b.usedBytes}`).join();
      if (used(next) !== used(s)) settledSince = Date.now();
      s = next;
    }
    for (const b of s.benefactors) {
      t.true(b.usedBytes <= b.capacityBytes, `${b.id} uses ${b.usedBytes} of ${b.capacityBytes}`);
      t.true(b.alive, `${b.id} is still alive`);
    }
    t.false(/read-only until restart/.test(readFileSync(path.join(grid.logDir, 'benefactor-1.log'), 'utf8')));

    // Phase 2: two larger benefactors join. Placement skips the two full ones: writes succeed,
    // and the full ones take nothing more (no store is even tried there).
    const refusedBefore = [0, 1].map((i) => logCount(`benefactor-${i}`, /request refused/g));
    // Chunks, not bytes: a compaction after GC's deletes (of what the refused writes had
    // stored) briefly adds the live records it copies to the bytes used.
    const chunksBefore = new Map(s.benefactors.map((b) => [b.id, b.chunks]));
    grid.startBenefactor(2, { capacity: '32MiB' });
    grid.startBenefactor(3, { capacity: '32MiB' });
    await grid.waitForAlive(4);
    for (let k = 0; k < 5; k++) {
      const data = randomBytes(4 * MiB);
      const name = `roomy-${k}`;
      // fsync: committed (not only staged) when it returns, for the reads and `stdchk get` below.
      const r = await noHang(writeThroughMount(path.join(mp, name), data, true), 120_000, `writing ${name}`);
      t.deepEqual(r, { ok: true }, `${name} succeeds on the two benefactors with room`);
      if (r.ok) {
        committed.set(name, sha(data));
        written++;
      }
    }
    s = await status(env);
    for (const [id, chunks] of chunksBefore) {
      const now = s.benefactors.find((b) => b.id === id)?.chunks ?? Infinity;
      t.true(now <= chunks, `full benefactor ${id} took nothing more (${chunks} -> ${now} chunks)`);
    }
    t.deepEqual(
      [0, 1].map((i) => logCount(`benefactor-${i}`, /request refused/g)),
      refusedBefore,
      'no store was tried on the full benefactors',
    );

    // Everything committed is intact: through the mount, and through `stdchk get` for a few.
    for (const [name, sum] of committed) {
      t.is(sha(await readFile(path.join(mp, name))), sum, `${name} reads back identical through the mount`);
    }
    for (const name of ['fill-0', 'roomy-0']) {
      const out = path.join(work, `back-${name}`);
      const r = await runCli(['get', `/${name}`, out], env);
      t.is(r.code, 0, r.stderr);
      t.is(
        sha(readFileSync(out)),
        committed.get(name) ?? '(not committed)',
        `${name} reads back identical through stdchk get`,
      );
    }

    // Phase 3: fill the larger ones too, then delete the first files: once GC has removed their
    // chunks (and the packs were compacted), writes succeed again, through the mount and the CLI.
    t.truthy(await fillUp(t, mp, 'again', committed), 'the grown cluster fills up too');
    const removed = [...committed.keys()].filter((n) => n.startsWith('fill-'));
    for (const name of removed) {
      await rm(path.join(mp, name));
      committed.delete(name);
    }
    await waitFor(
      'space to come back on the small benefactors after deletion and GC',
      async () => {
        const st = await status(env);
        return st.benefactors.filter((b) => b.freeBytes >= 5 * MiB).length >= 2;
      },
      90_000,
      500,
    ).catch(async (e: unknown) => {
      t.log(JSON.stringify((await status(env)).benefactors));
      for (let i = 0; i < 4; i++) {
        const lines = readFileSync(path.join(grid.logDir, `benefactor-${i}.log`), 'utf8').split('\n');
        t.log(
          lines
            .filter((l) => /"level":[45]/.test(l))
            .slice(-5)
            .join('\n'),
        );
      }
      throw e;
    });
    s = await status(env);
    t.log(
      `phase 3: free after deleting ${removed.length} files: ${s.benefactors.map((b) => `${(b.freeBytes / MiB).toFixed(1)} of ${(b.capacityBytes / MiB).toFixed(0)}`).join(', ')} MiB`,
    );
    const again = randomBytes(2 * MiB);
    const r = await noHang(writeThroughMount(path.join(mp, 'after-gc'), again), 120_000, 'write after GC');
    t.deepEqual(r, { ok: true }, 'a write through the mount succeeds after space was freed');
    t.is(sha(await readFile(path.join(mp, 'after-gc'))), sha(again));
    writeFileSync(local, randomBytes(2 * MiB));
    const put2 = await runCli(['put', local, '/put-me', '--replicas', '2'], env);
    t.is(put2.code, 0, put2.stderr);
    written += 2; // after-gc and put-me
    let files = 0;
    let bytes = 0;
    let lost = 0;
    for (const [name, sum] of committed) {
      const got = await readFile(path.join(mp, name));
      t.is(sha(got), sum, `${name} still reads back identical`);
      if (sha(got) !== sum) lost++;
      files++;
      bytes += got.length;
    }
    t.log(
      `${refusals} writes refused (ENOSPC through the mount, one clear line from stdchk put); ` +
        `${written} files committed in all, ${removed.length} deleted; ${files} files (${(bytes / MiB).toFixed(1)} MiB) ` +
        `verified at the end; lost: ${lost}`,
    );
  },
);
