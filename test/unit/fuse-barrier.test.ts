import test from 'ava';
import { randomBytes, createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupAll, startGrid, tempDir } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { Vfs, O_TRUNC, O_WRONLY, Errno } from '../../src/fuse-client/vfs.ts';
import { errnoOf } from '../../src/fuse-client/errors.ts';
import type { StorageClient } from '../../src/client/storage-client.ts';
import { writeAll, put, readFile, outcome } from '../helpers/vfs-io.ts';

// The folder barrier (fsync of a directory, issue 19) on the mount's
// file-system layer, driven directly (no kernel mount) against a real grid:
// a manager and 2 benefactors of 24 MiB each, replicas 2. A commit is held
// in flight by stopping the manager (SIGSTOP); a commit fails for real, for
// lack of space.

const MiB = 1024 * 1024;

let grid: LocalGrid;
let managerStopped = false;
const clients: StorageClient[] = [];
const vfses: Vfs[] = [];

async function newVfs(): Promise<Vfs> {
  const client = grid.client();
  clients.push(client);
  const vfs = await Vfs.create(client, { scratchDir: tempDir('stdchk-scratch-') });
  vfses.push(vfs);
  return vfs;
}

function stopManager(stop: boolean): void {
  process.kill(grid.manager?.child.pid as number, stop ? 'SIGSTOP' : 'SIGCONT');
  managerStopped = stop;
}

test.before(async () => {
  grid = await startGrid({ benefactors: 2, capacity: '24MiB' });
});

test.after.always(async () => {
  if (managerStopped) stopManager(false);
  for (const v of vfses) await v.close().catch(() => undefined);
  for (const c of clients) c.close();
  await cleanupAll();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test.serial(
  'the barrier waits for every commit beneath the folder: one in flush, one still running in release, a file still open; not for other folders',
  async (t) => {
    const vfs = await newVfs();
    for (const d of ['/a', '/a/sub', '/b']) await vfs.mkdir(d, 0o755);
    await put(vfs, '/b/done.txt', Buffer.from('committed before'));
    const closing = randomBytes(300 * 1024);
    const released = randomBytes(200 * 1024);
    const open = Buffer.from('still open, never closed');
    const fhClosing = await vfs.create('/a/closing.bin', 0o644);
    await writeAll(vfs, fhClosing, closing);
    const fhReleased = await vfs.create('/a/sub/released.bin', 0o644);
    await writeAll(vfs, fhReleased, released);
    const fhOpen = await vfs.create('/a/open.txt', 0o644);
    await vfs.write(fhOpen, open, 0);
    t.is(vfs.writes.outstandingUnder('/a'), 3);

    // The manager stops answering: no commit can finish until it continues.
    stopManager(true);
    const order: string[] = [];
    const track = (name: string, p: Promise<unknown>) =>
      outcome(p).then((e) => {
        order.push(name);
        return e;
      });
    // close(2): the kernel's flush. The kernel's release is asynchronous: close() may
    // return before it runs; here the release holds the only commit of its file.
    const flushed = track('flush', vfs.flush(fhClosing));
    const releasedDone = track('release', vfs.release(fhReleased));
    const barrierA = track('barrier /a', vfs.fsyncdir('/a'));
    // A folder with nothing outstanding needs no manager at all.
    t.is(await track('barrier /b', vfs.fsyncdir('/b')), undefined);
    await sleep(300);
    t.deepEqual(order, ['barrier /b'], 'nothing beneath /a can finish while the manager is stopped');

    stopManager(false);
    t.is(await flushed, undefined);
    t.is(await releasedDone, undefined);
    t.is(await barrierA, undefined, 'the barrier succeeds: everything beneath /a is committed');
    t.is(order.at(-1), 'barrier /a', `the barrier returned last: ${order.join(', ')}`);
    t.is(vfs.writes.outstandingUnder('/'), 0);

    // Another "host" reads all three, the open file included (the barrier committed it).
    const other = await newVfs();
    t.is(sha(await readFile(other, '/a/closing.bin')), sha(closing));
    t.is(sha(await readFile(other, '/a/sub/released.bin')), sha(released));
    t.deepEqual(await readFile(other, '/a/open.txt'), open);
    await vfs.release(fhClosing);
    await vfs.release(fhOpen);
  },
);

test.serial(
  'a failed commit fails the barrier of its folders with EIO until it is superseded; other folders pass; the namespace never shows a partial file',
  async (t) => {
    const vfs = await newVfs();
    const other = await newVfs();
    for (const d of ['/ok', '/ck', '/ck2', '/keep', '/moved']) await vfs.mkdir(d, 0o755);
    const old = randomBytes(MiB);
    await put(vfs, '/ok/small.txt', Buffer.from('fine'));
    await put(vfs, '/ck/inventory.img', Buffer.from('a small image that fits'));
    await put(vfs, '/ck2/x', Buffer.from('a sibling whose name starts like /ck'));
    await put(vfs, '/keep/old.bin', old);

    // 40 MiB at replicas 2 on two 24 MiB benefactors: the commit fails for lack of space
    // (a write, or the flush at close, reports it; the application ignores it, as CRIU does).
    const fh = await vfs.create('/ck/pages-1.img', 0o644);
    const started = performance.now();
    const failedWrite = await outcome(writeAll(vfs, fh, randomBytes(40 * MiB)));
    const failedFlush = await outcome(vfs.flush(fh));
    t.is(errnoOf(failedFlush), Errno.ENOSPC, `close() reports ENOSPC (write said ${String(failedWrite)})`);
    await outcome(vfs.release(fh));
    t.log(
      `the write failed after ${((performance.now() - started) / 1000).toFixed(1)} s: ${String(failedFlush)}`,
    );

    // The failed new file is absent, here and elsewhere; the files that fitted are there.
    t.is(errnoOf(await outcome(vfs.getattr('/ck/pages-1.img'))), Errno.ENOENT);
    t.is(errnoOf(await outcome(other.getattr('/ck/pages-1.img'))), Errno.ENOENT);
    t.deepEqual((await other.readdir('/ck')).names.sort(), ['.', '..', 'inventory.img']);

    const e1 = await outcome(vfs.fsyncdir('/ck'));
    t.is(errnoOf(e1), Errno.EIO, String(e1));
    t.regex(String(e1), /\/ck\/pages-1\.img .*space/);
    t.is(errnoOf(await outcome(vfs.fsyncdir('/ck'))), Errno.EIO, 'reported again, not only once');
    t.is(errnoOf(await outcome(vfs.fsyncdir('/'))), Errno.EIO, 'and by every folder above');
    for (const d of ['/ok', '/ck2', '/keep']) t.is(await outcome(vfs.fsyncdir(d)), undefined, `${d} passes`);

    // A failure while a barrier waits: the barrier reports it. An existing file whose new
    // version fails keeps its previous version.
    const wh = await vfs.open('/keep/old.bin', O_WRONLY | O_TRUNC);
    await writeAll(vfs, wh, randomBytes(4 * MiB));
    const [flushErr, barrierErr] = await Promise.all([
      outcome(vfs.flush(wh)),
      outcome(vfs.fsyncdir('/keep')),
    ]);
    t.truthy(flushErr, 'the new version does not fit either');
    t.is(errnoOf(barrierErr), Errno.EIO);
    t.regex(String(barrierErr), /\/keep\/old\.bin/);
    await outcome(vfs.release(wh));
    t.is(sha(await readFile(other, '/keep/old.bin')), sha(old), 'the previous version is intact elsewhere');
    t.is(sha(await readFile(vfs, '/keep/old.bin')), sha(old), 'and here');

    // Renames move the failure with the file.
    await vfs.rename('/keep/old.bin', '/moved/old.bin');
    t.is(await outcome(vfs.fsyncdir('/keep')), undefined);
    t.is(errnoOf(await outcome(vfs.fsyncdir('/moved'))), Errno.EIO);
    // Written again and committed (its chunks are all stored: it fits on a full cluster): superseded.
    const again = await vfs.open('/moved/old.bin', O_WRONLY | O_TRUNC);
    await writeAll(vfs, again, old);
    await vfs.flush(again);
    await vfs.release(again);
    t.is(await outcome(vfs.fsyncdir('/moved')), undefined);

    // Removing the failed file (it never reached the manager: ENOENT) clears its failure.
    t.is(errnoOf(await outcome(vfs.unlink('/ck/pages-1.img'))), Errno.ENOENT);
    t.is(await outcome(vfs.fsyncdir('/ck')), undefined);
    t.is(await outcome(vfs.fsyncdir('/')), undefined);
    t.deepEqual(vfs.writes.failuresUnder('/'), []);
  },
);
