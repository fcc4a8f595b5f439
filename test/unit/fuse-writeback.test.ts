import test from 'ava';
import { randomBytes, createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupAll, startGrid, tempDir } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { Vfs, O_WRONLY, Errno } from '../../src/fuse-client/vfs.ts';
import type { VfsOptions } from '../../src/fuse-client/vfs.ts';
import { errnoOf } from '../../src/fuse-client/errors.ts';
import type { StorageClient } from '../../src/client/storage-client.ts';
import { writeAll, put, readFile, outcome } from '../helpers/vfs-io.ts';
import { Staging } from '../../src/fuse-client/staging.ts';
import { silentLogger } from '../../src/logging/index.ts';

// The write-back mount (issue 13) on the file-system layer, driven directly
// (no kernel mount) against a real grid: a manager and 2 benefactors of
// 40 MiB, replicas 2. The uploader is held with the test-only fault
// STDCHK_FAULT_UPLOAD_PAUSE (a file: uploads wait while it exists); a
// crash of the mount is the staging folder copied while versions wait
// (what kill -9 leaves on disk) and a new VFS started on the copy.

const MiB = 1024 * 1024;
const O_RDONLY = 0;

let grid: LocalGrid;
const clients: StorageClient[] = [];
const vfses: Vfs[] = [];
let pauseFile: string;

function pause(on: boolean): void {
  if (on) writeFileSync(pauseFile, '');
  else rmSync(pauseFile, { force: true });
}

async function newVfs(
  opts: Partial<VfsOptions> & { staging?: string; stagingBytes?: number } = {},
): Promise<Vfs> {
  const client = grid.client();
  clients.push(client);
  const { staging, stagingBytes, ...rest } = opts;
  const vfs = await Vfs.create(client, {
    scratchDir: tempDir('stdchk-scratch-'),
    writeBack: {
      dir: staging ?? tempDir('stdchk-staging-'),
      capacityBytes: stagingBytes ?? 256 * MiB,
      drainMs: 30_000,
    },
    ...rest,
  });
  vfses.push(vfs);
  return vfs;
}

/** A VFS without write-back (another "host" that reads what is committed). */
async function reader(): Promise<Vfs> {
  const client = grid.client();
  clients.push(client);
  const vfs = await Vfs.create(client, { scratchDir: tempDir('stdchk-scratch-') });
  vfses.push(vfs);
  return vfs;
}

test.before(async () => {
  grid = await startGrid({ benefactors: 2, capacity: '40MiB' });
  pauseFile = path.join(tempDir('stdchk-pause-'), 'pause');
  process.env.STDCHK_FAULT_UPLOAD_PAUSE = pauseFile;
});

test.after.always(async () => {
  pause(false);
  for (const v of vfses) await v.close().catch(() => undefined);
  for (const c of clients) c.close();
  await cleanupAll();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test.serial(
  'close() returns once staged: visible here at once, elsewhere only after the commit; fsync and the folder barrier wait for it',
  async (t) => {
    const vfs = await newVfs();
    const other = await reader();
    await vfs.mkdir('/wb', 0o755);
    pause(true);
    const big = randomBytes(3 * MiB + 17);
    const small = Buffer.from('a small file\n');
    await put(vfs, '/wb/big.bin', big, 0o640);
    await put(vfs, '/wb/small.txt', small);
    // Here: at once, with size, mode and content (read from the staging folder).
    const st = await vfs.getattr('/wb/big.bin');
    t.is(st.size, big.length);
    t.is(st.mode, 0o100640);
    t.is(sha(await readFile(vfs, '/wb/big.bin')), sha(big));
    t.deepEqual((await vfs.readdir('/wb')).names.sort(), ['.', '..', 'big.bin', 'small.txt']);
    // Elsewhere: nothing yet, never a partial file.
    t.is(errnoOf(await outcome(other.getattr('/wb/big.bin'))), Errno.ENOENT);
    t.is(vfs.writes.outstandingUnder('/wb'), 2);

    // fsync of a file and the barrier of its folder wait while the uploader is held.
    const fh = await vfs.open('/wb/small.txt', O_RDONLY);
    const order: string[] = [];
    const fsynced = vfs.fsync(fh).then(() => order.push('fsync'));
    const barrier = vfs.fsyncdir('/wb').then(() => order.push('barrier'));
    await sleep(300);
    t.deepEqual(order, [], 'nothing is durable while the uploader is held');
    pause(false);
    await Promise.all([fsynced, barrier]);
    await vfs.release(fh);
    t.deepEqual(order.sort(), ['barrier', 'fsync']);
    t.is(vfs.writes.outstandingUnder('/'), 0);
    t.is(sha(await readFile(other, '/wb/big.bin')), sha(big));
    t.deepEqual(await readFile(other, '/wb/small.txt'), small);
    t.is((await other.getattr('/wb/big.bin')).mode, 0o100640);
    const stats = vfs.uploadStats('/wb');
    t.is(stats?.files, 2);
    t.is(stats?.bytes, big.length + small.length);
    t.is(stats?.newBytes, big.length + small.length, 'fresh data: all of it uploaded');
  },
);

test.serial(
  'appends to a staged file, closed each time (`echo >> log` in a loop), all commit whole',
  async (t) => {
    const vfs = await newVfs();
    const other = await reader();
    await vfs.mkdir('/appends', 0o755);
    pause(true); // every version stays staged: each append opens the one before
    const lines: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      const line = Buffer.from(`line ${i}\n`);
      const fh = i === 0 ? await vfs.create('/appends/log', 0o644) : await vfs.open('/appends/log', O_WRONLY);
      await vfs.write(fh, line, Buffer.concat(lines).length);
      await vfs.release(fh);
      lines.push(line);
    }
    // A sealed version never changes: each holds what was written up to its close(), in its own segments.
    t.deepEqual(
      vfs.staging!.queue.map((e) => e.segments.length),
      [1, 2, 3, 4, 5],
    );
    pause(false);
    await vfs.fsyncdir('/appends');
    t.deepEqual(await readFile(other, '/appends/log'), Buffer.concat(lines));
  },
);

test.serial(
  'a crash after close() loses nothing: the journal is replayed and committed, byte-identical',
  async (t) => {
    const staging = tempDir('stdchk-staging-');
    const vfs = await newVfs({ staging });
    const other = await reader();
    await vfs.mkdir('/crash', 0o755);
    await put(vfs, '/crash/existing.bin', randomBytes(MiB));
    await vfs.fsyncdir('/crash');
    pause(true);
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 5; i++) {
      const data = randomBytes(i === 0 ? 5 * MiB : 1000 * (i + 1));
      files.set(`/crash/f${i}`, data);
      await put(vfs, `/crash/f${i}`, data, 0o600);
    }
    // Appended to an existing file: the journal keeps its old chunks by reference.
    const tail = randomBytes(300 * 1024);
    const existing = await readFile(vfs, '/crash/existing.bin');
    const ah = await vfs.open('/crash/existing.bin', O_WRONLY);
    await writeAll(vfs, ah, tail, existing.length);
    await vfs.release(ah);
    files.set('/crash/existing.bin', Buffer.concat([existing, tail]));
    // chmod after close: recorded with the staged version.
    await vfs.chmod('/crash/f1', 0o100604);
    // A file still open (never closed) at the crash: not the application's to expect back.
    const open = await vfs.create('/crash/unclosed', 0o644);
    await vfs.write(open, Buffer.from('lost with the crash'), 0);

    // kill -9: what is on disk now is all the next mount gets.
    const copy = tempDir('stdchk-staging-copy-');
    cpSync(staging, copy, { recursive: true });
    await vfs.close(); // the original is never used again (its journal stays held)
    t.true(readdirSync(path.join(copy, 'journal')).length >= 6, 'the versions are in the journal');
    t.is(errnoOf(await outcome(other.getattr('/crash/f0'))), Errno.ENOENT, 'nothing partial elsewhere');

    const restarted = await newVfs({ staging: copy });
    t.is(restarted.staging?.pending, 6, 'the journal was replayed');
    t.is((await restarted.getattr('/crash/f0')).size, 5 * MiB, 'visible in the restarted mount at once');
    pause(false);
    await restarted.fsyncdir('/crash');
    for (const [p, data] of files)
      t.is(sha(await readFile(other, p)), sha(data), `${p} committed, identical`);
    t.is((await other.getattr('/crash/f1')).mode, 0o100604);
    t.is(errnoOf(await outcome(other.getattr('/crash/unclosed'))), Errno.ENOENT);
    t.deepEqual(readdirSync(path.join(copy, 'journal')), [], 'the journal is empty once committed');
    t.deepEqual(readdirSync(path.join(copy, 'data')), [], 'and so is the data folder');
    t.truthy(open);
  },
);

test.serial(
  'namespace operations on staged files: unlink drops them, rename commits first, chmod and utimens ride along, rmdir and mkdir see them',
  async (t) => {
    const vfs = await newVfs();
    const other = await reader();
    await vfs.mkdir('/ns', 0o755);
    await vfs.mkdir('/ns/empty', 0o755);
    pause(true);
    await put(vfs, '/ns/tmp', randomBytes(100 * 1024));
    await put(vfs, '/ns/keep', Buffer.from('kept'));
    await put(vfs, '/ns/empty/inside', Buffer.from('x'));
    t.is(errnoOf(await outcome(vfs.rmdir('/ns/empty'))), Errno.ENOTEMPTY);
    t.is(errnoOf(await outcome(vfs.mkdir('/ns/keep', 0o755))), Errno.EEXIST);
    // unlink of a file that only exists staged: no commit, ever.
    await vfs.unlink('/ns/tmp');
    await vfs.unlink('/ns/empty/inside');
    t.is(errnoOf(await outcome(vfs.getattr('/ns/tmp'))), Errno.ENOENT);
    await vfs.rmdir('/ns/empty');
    await vfs.utimens('/ns/keep', 1_600_000_000_000, 1_600_000_000_000);
    await vfs.chown('/ns/keep', 1234, 5678);
    t.is((await vfs.getattr('/ns/keep')).uid, 1234);
    // A rename waits for the commit of what is staged under the old name.
    const renamed = vfs.rename('/ns/keep', '/ns/kept');
    await sleep(300);
    t.is(errnoOf(await outcome(other.getattr('/ns/kept'))), Errno.ENOENT);
    pause(false);
    await renamed;
    await vfs.fsyncdir('/ns');
    t.deepEqual((await other.readdir('/ns')).names.sort(), ['.', '..', 'kept']);
    const st = await other.getattr('/ns/kept');
    t.is(st.uid, 1234);
    t.is(st.gid, 5678);
    t.is(st.mtime, 1_600_000_000_000);
    t.deepEqual(await readFile(other, '/ns/kept'), Buffer.from('kept'));

    // chmod of an existing file whose new version is staged: applied with the commit.
    pause(true);
    const fh = await vfs.open('/ns/kept', O_WRONLY | 0o1000);
    await vfs.write(fh, Buffer.from('second version'), 0);
    await vfs.release(fh);
    await vfs.chmod('/ns/kept', 0o100600);
    await vfs.truncate('/ns/kept', 6);
    t.is((await vfs.getattr('/ns/kept')).size, 6);
    t.is((await other.getattr('/ns/kept')).size, 4, 'the other host still sees the committed version');
    pause(false);
    await vfs.fsyncdir('/ns');
    t.deepEqual(await readFile(other, '/ns/kept'), Buffer.from('second'));
    t.is((await other.getattr('/ns/kept')).mode, 0o100600);
  },
);

test.serial(
  'a commit that fails after close() fails fsync of the folder with EIO, also after a restart of the mount',
  async (t) => {
    const staging = tempDir('stdchk-staging-');
    const vfs = await newVfs({ staging });
    const other = await reader();
    await vfs.mkdir('/gone', 0o755);
    await vfs.mkdir('/fine', 0o755);
    pause(true);
    await put(vfs, '/gone/file', Buffer.from('its folder is removed before it commits'));
    await put(vfs, '/fine/file', Buffer.from('commits'));
    // Another host removes the (still empty) folder: the staged commit cannot happen.
    await other.rmdir('/gone');
    const barrier = outcome(vfs.fsyncdir('/'));
    pause(false);
    const e = await barrier;
    t.is(errnoOf(e), Errno.EIO, String(e));
    t.regex(String(e), /\/gone\/file/);
    t.is(await outcome(vfs.fsyncdir('/fine')), undefined);
    t.deepEqual(await readFile(other, '/fine/file'), Buffer.from('commits'));
    t.is(errnoOf(await outcome(vfs.fsyncdir('/'))), Errno.EIO, 'reported again');
    await vfs.close();
    // A mount restarted on the same staging folder still reports it.
    const restarted = await newVfs({ staging });
    t.is(errnoOf(await outcome(restarted.fsyncdir('/'))), Errno.EIO);
    t.is(await outcome(restarted.fsyncdir('/fine')), undefined);
  },
);

test.serial(
  'a full staging area makes writers wait, not fail; they finish once uploads make room',
  async (t) => {
    const vfs = await newVfs({ stagingBytes: 4 * MiB });
    const other = await reader();
    await vfs.mkdir('/full', 0o755);
    pause(true);
    const datas = [randomBytes(3 * MiB), randomBytes(3 * MiB), randomBytes(3 * MiB)];
    const done: number[] = [];
    const writers = datas.map((d, i) =>
      put(vfs, `/full/f${i}`, d).then(() => {
        done.push(i);
      }),
    );
    await sleep(1500);
    t.true(done.length < 3, `held: ${done.length} of 3 finished while nothing can be uploaded`);
    t.true(vfs.staging!.used <= 8 * MiB, `staging holds ${vfs.staging!.used} bytes`);
    pause(false);
    await Promise.all(writers);
    // One large file bigger than the staging area goes through by uploading its own data.
    const large = randomBytes(12 * MiB);
    await put(vfs, '/full/large', large);
    await vfs.fsyncdir('/full');
    for (const [i, d] of datas.entries()) t.is(sha(await readFile(other, `/full/f${i}`)), sha(d));
    t.is(sha(await readFile(other, '/full/large')), sha(large));
  },
);

test.serial(
  'a full cluster refuses at close() (ENOSPC), but data the cluster already holds still closes and commits',
  async (t) => {
    const vfs = await newVfs();
    const other = await reader();
    await vfs.mkdir('/space', 0o755);
    const kept = randomBytes(2 * MiB);
    await put(vfs, '/space/kept', kept);
    await vfs.fsyncdir('/space');
    // Fill the cluster through the synchronous reader until it refuses.
    let i = 0;
    for (;;) {
      const fh = await other.create(`/space/fill-${i++}`, 0o644);
      const r = await outcome(
        (async () => {
          await writeAll(other, fh, randomBytes(4 * MiB));
          await other.flush(fh);
        })(),
      );
      await outcome(other.release(fh));
      if (r) break;
      if (i > 50) throw new Error('the cluster never filled');
    }
    // New data: refused at write() or close(), never after.
    const fh = await vfs.create('/space/new', 0o644);
    const w = await outcome(writeAll(vfs, fh, randomBytes(2 * MiB)));
    const c = w ? undefined : await outcome(vfs.flush(fh));
    t.is(errnoOf(w ?? c), Errno.ENOSPC, `write: ${String(w)}, close: ${String(c)}`);
    await outcome(vfs.release(fh));
    // The same bytes as a stored file: nothing new to store, so it fits.
    await put(vfs, '/space/copy', kept);
    await vfs.fsyncdir('/space/copy');
    t.is(sha(await readFile(other, '/space/copy')), sha(kept));
    t.is(errnoOf(await outcome(vfs.getattr('/space/new'))), Errno.ENOENT);
  },
);

test.serial(
  'a staging folder another user owns, or one under a folder others can write, is refused',
  async (t) => {
    const base = tempDir('stdchk-staging-own-');
    const theirs = path.join(base, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    const open1 = await outcome(Staging.open(theirs, { capacityBytes: MiB, logger: silentLogger }));
    t.regex(String(open1), /staging folder refused: .*belongs to uid 65534/);
    const loose = path.join(base, 'loose');
    mkdirSync(loose);
    chmodSync(loose, 0o777);
    const open2 = await outcome(
      Staging.open(path.join(loose, 'staging'), { capacityBytes: MiB, logger: silentLogger }),
    );
    t.regex(String(open2), /staging folder refused: .*other users could replace/);
    // A folder of ours is made 0700.
    const ours = path.join(base, 'ours');
    await Staging.open(ours, { capacityBytes: MiB, logger: silentLogger });
    t.is(statSync(ours).mode & 0o777, 0o700);
  },
);
