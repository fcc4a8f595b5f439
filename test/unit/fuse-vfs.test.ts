import test from 'ava';
import path from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { cleanupAll, startGrid, tempDir } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { Vfs, O_RDWR, O_TRUNC, O_WRONLY, Errno, UTIME_NOW, UTIME_OMIT } from '../../src/fuse-client/vfs.ts';
import type { VfsOptions } from '../../src/fuse-client/vfs.ts';
import { errnoOf } from '../../src/fuse-client/errors.ts';
import type { StorageClient } from '../../src/client/storage-client.ts';
import { writeAll, readFile } from '../helpers/vfs-io.ts';

// The mount's file-system layer driven directly (no kernel mount) against a
// real grid: a manager and 3 benefactors as processes on loopback.

const MiB = 1024 * 1024;
const O_RDONLY = 0;

let grid: LocalGrid;
const clients: StorageClient[] = [];
const vfses: Vfs[] = [];

async function newVfs(opts: Partial<VfsOptions> = {}): Promise<Vfs> {
  const client = grid.client();
  clients.push(client);
  const vfs = await Vfs.create(client, { scratchDir: tempDir('stdchk-scratch-'), ...opts });
  vfses.push(vfs);
  return vfs;
}

test.before(async () => {
  grid = await startGrid({ benefactors: 3 });
});

test.after.always(async () => {
  for (const v of vfses) await v.close().catch(() => undefined);
  for (const c of clients) c.close();
  await cleanupAll();
});

async function readAll(vfs: Vfs, fh: number, size: number, piece = 128 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let off = 0; off < size; off += piece) parts.push(await vfs.read(fh, off, piece));
  return Buffer.concat(parts);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test.serial('sequential writes stream and commit at release; getattr shows the growing size', async (t) => {
  const vfs = await newVfs();
  await vfs.mkdir('/seq', 0o755);
  const data = randomBytes(9 * MiB + 12345);
  const fh = await vfs.create('/seq/a.bin', 0o640);
  await writeAll(vfs, fh, data.subarray(0, 5 * MiB));
  t.is((await vfs.getattr('/seq/a.bin')).size, 5 * MiB, 'getattr sees uncommitted bytes');
  t.is((await vfs.fgetattr('/seq/a.bin', fh)).size, 5 * MiB);
  await writeAll(vfs, fh, data.subarray(5 * MiB), 5 * MiB);
  await vfs.flush(fh);
  await vfs.release(fh);
  const st = await vfs.getattr('/seq/a.bin');
  t.is(st.size, data.length);
  t.is(st.mode & 0o7777, 0o640);
  t.is(st.mode & 0o170000, 0o100000);

  // Another VFS (another "host") reads it.
  const other = await newVfs();
  t.is(sha(await readFile(other, '/seq/a.bin')), sha(data));
  const { names } = await other.readdir('/seq');
  t.deepEqual(names.sort(), ['.', '..', 'a.bin']);
});

test.serial(
  'a created file is known to the manager at its first commit, with the mode and owner set before',
  async (t) => {
    const vfs = await newVfs();
    const other = await newVfs();
    const fh = await vfs.create('/pending.txt', 0o600);
    t.is((await vfs.getattr('/pending.txt')).size, 0, 'visible here at once');
    t.true((await vfs.readdir('/')).names.includes('pending.txt'));
    t.is(errnoOf(await t.throwsAsync(other.getattr('/pending.txt'))), Errno.ENOENT, 'not elsewhere yet');
    await vfs.write(fh, Buffer.from('data'), 0);
    // What tar does before closing each file: no RPC, kept for the creating commit.
    await vfs.chown('/pending.txt', 42, 43);
    await vfs.chmod('/pending.txt', 0o100640);
    t.is((await vfs.getattr('/pending.txt')).mode, 0o100640);
    await vfs.flush(fh);
    await vfs.release(fh);
    const st = await other.getattr('/pending.txt');
    t.is(st.mode, 0o100640);
    t.is(st.uid, 42);
    t.is(st.gid, 43);
    t.is(st.size, 4);

    // An empty file is created by its close too.
    const empty = await vfs.create('/empty.txt', 0o644);
    await vfs.release(empty);
    t.is((await other.getattr('/empty.txt')).size, 0);
  },
);

test.serial('writes at random offsets go through a scratch file and read back exactly', async (t) => {
  const vfs = await newVfs();
  const size = 3 * MiB;
  const model = Buffer.alloc(size);
  const fh = await vfs.create('/random.bin', 0o644);
  let end = 0;
  for (let i = 0; i < 200; i++) {
    const len = 1 + Math.floor(Math.random() * 64 * 1024);
    const pos = Math.floor(Math.random() * (size - len));
    const piece = randomBytes(len);
    piece.copy(model, pos);
    await vfs.write(fh, piece, pos);
    end = Math.max(end, pos + len);
  }
  // Read-your-writes through the same handle before any commit.
  const probe = Math.floor(Math.random() * (end - 1000));
  t.deepEqual(await vfs.read(fh, probe, 1000), model.subarray(probe, probe + 1000));
  t.is((await vfs.fgetattr('/random.bin', fh)).size, end);
  await vfs.release(fh);
  const back = await readFile(vfs, '/random.bin');
  t.is(back.length, end);
  t.is(sha(back), sha(model.subarray(0, end)));
  t.deepEqual(readdirSync(vfs.scratchDir), [], 'scratch files are removed at release');
});

test.serial('a stream that turns random keeps what was streamed', async (t) => {
  const vfs = await newVfs();
  const data = randomBytes(6 * MiB);
  const fh = await vfs.create('/turn.bin', 0o644);
  await writeAll(vfs, fh, data.subarray(0, 5 * MiB));
  const patch = randomBytes(4096);
  await vfs.write(fh, patch, 1 * MiB); // not at the end: switch to scratch
  patch.copy(data, 1 * MiB);
  await writeAll(vfs, fh, data.subarray(5 * MiB), 5 * MiB);
  await vfs.release(fh);
  t.is(sha(await readFile(vfs, '/turn.bin')), sha(data));
});

test.serial('truncate and ftruncate shrink and extend (with zeros)', async (t) => {
  const vfs = await newVfs();
  const data = randomBytes(2 * MiB + 777);
  let fh = await vfs.create('/trunc.bin', 0o644);
  await writeAll(vfs, fh, data);
  await vfs.release(fh);

  await vfs.truncate('/trunc.bin', MiB + 5);
  t.is((await vfs.getattr('/trunc.bin')).size, MiB + 5);
  t.is(sha(await readFile(vfs, '/trunc.bin')), sha(data.subarray(0, MiB + 5)));

  await vfs.truncate('/trunc.bin', 3 * MiB);
  const extended = Buffer.concat([data.subarray(0, MiB + 5), Buffer.alloc(3 * MiB - (MiB + 5))]);
  t.is(sha(await readFile(vfs, '/trunc.bin')), sha(extended));

  fh = await vfs.open('/trunc.bin', O_RDWR);
  await vfs.ftruncate(fh, 100);
  t.is((await vfs.fgetattr('/trunc.bin', fh)).size, 100);
  await vfs.write(fh, Buffer.from('tail'), 200);
  await vfs.release(fh);
  const expect = Buffer.concat([data.subarray(0, 100), Buffer.alloc(100), Buffer.from('tail')]);
  t.deepEqual(await readFile(vfs, '/trunc.bin'), expect);

  await vfs.truncate('/trunc.bin', 0);
  t.is((await vfs.getattr('/trunc.bin')).size, 0);
  t.is((await readFile(vfs, '/trunc.bin')).length, 0);

  // open(O_TRUNC) of a non-empty file empties it even without writes.
  fh = await vfs.create('/otrunc.bin', 0o644);
  await vfs.write(fh, Buffer.from('hello'), 0);
  await vfs.release(fh);
  fh = await vfs.open('/otrunc.bin', O_WRONLY | O_TRUNC);
  await vfs.release(fh);
  t.is((await vfs.getattr('/otrunc.bin')).size, 0);
});

test.serial('appending to an existing file keeps its chunks', async (t) => {
  const vfs = await newVfs();
  const a = randomBytes(3 * MiB + 3);
  const b = randomBytes(2 * MiB);
  let fh = await vfs.create('/append.bin', 0o644);
  await writeAll(vfs, fh, a);
  await vfs.release(fh);
  fh = await vfs.open('/append.bin', O_WRONLY);
  await writeAll(vfs, fh, b, a.length);
  await vfs.release(fh);
  t.is(sha(await readFile(vfs, '/append.bin')), sha(Buffer.concat([a, b])));
});

test.serial('rename over an existing file; a handle opened before keeps its version', async (t) => {
  const vfs = await newVfs();
  const oldData = randomBytes(MiB);
  const newData = randomBytes(MiB + 100);
  let fh = await vfs.create('/target', 0o644);
  await writeAll(vfs, fh, oldData);
  await vfs.release(fh);
  fh = await vfs.create('/target.tmp', 0o644);
  await writeAll(vfs, fh, newData);
  await vfs.release(fh);

  const early = await vfs.open('/target', O_RDONLY);
  await vfs.rename('/target.tmp', '/target');
  await t.throwsAsync(vfs.getattr('/target.tmp'), { message: /no such file/ });
  t.is(sha(await readFile(vfs, '/target')), sha(newData));
  t.is(sha(await readAll(vfs, early, MiB + 1)), sha(oldData), 'the early handle reads the old version');
  await vfs.release(early);

  // Renaming a directory moves what is under it.
  await vfs.mkdir('/dir1', 0o755);
  fh = await vfs.create('/dir1/f', 0o644);
  await vfs.write(fh, Buffer.from('x'), 0);
  await vfs.release(fh);
  await vfs.rename('/dir1', '/dir2');
  t.deepEqual(await readFile(vfs, '/dir2/f'), Buffer.from('x'));
});

test.serial('versions: each commit is a new version; earlier handles keep theirs', async (t) => {
  const vfs = await newVfs();
  const other = await newVfs();
  const v1 = randomBytes(2 * MiB);
  const v2 = randomBytes(2 * MiB);
  let fh = await vfs.create('/ver.bin', 0o644);
  await writeAll(vfs, fh, v1);
  await vfs.release(fh);
  const reader = await other.open('/ver.bin', O_RDONLY);
  t.deepEqual(await other.read(reader, 0, 10), v1.subarray(0, 10));

  fh = await vfs.open('/ver.bin', O_WRONLY | O_TRUNC);
  await writeAll(vfs, fh, v2.subarray(0, MiB));
  await vfs.fsync(fh); // fsync commits mid-file and writing goes on
  const mid = await other.open('/ver.bin', O_RDONLY);
  t.is(sha(await readAll(other, mid, MiB + 1)), sha(v2.subarray(0, MiB)));
  await writeAll(vfs, fh, v2.subarray(MiB), MiB);
  await vfs.release(fh);

  t.is(sha(await readAll(other, reader, 2 * MiB)), sha(v1), 'reader pinned at open');
  t.is(sha(await readAll(other, mid, 2 * MiB)), sha(v2.subarray(0, MiB)));
  await other.release(reader);
  await other.release(mid);
  t.is(sha(await readFile(other, '/ver.bin')), sha(v2));
});

test.serial(
  'namespace: mkdir, readdir, symlink, unlink, rmdir, chmod, chown, utimens, link, statfs',
  async (t) => {
    const vfs = await newVfs();
    await vfs.mkdir('/ns', 0o750);
    t.is((await vfs.getattr('/ns')).mode, 0o040750);
    await vfs.symlink('../target/file', '/ns/link');
    t.is(await vfs.readlink('/ns/link'), '../target/file');
    t.is((await vfs.getattr('/ns/link')).mode & 0o170000, 0o120000);
    const fh = await vfs.create('/ns/f', 0o600);
    await vfs.write(fh, Buffer.from('content'), 0);
    await vfs.release(fh);
    await vfs.chmod('/ns/f', 0o100644);
    await vfs.chown('/ns/f', 1234, 5678);
    await vfs.utimens('/ns/f', 1_600_000_000_000, 1_600_000_000_000);
    const st = await vfs.getattr('/ns/f');
    t.is(st.mode, 0o100644);
    t.is(st.uid, 1234);
    t.is(st.gid, 5678);
    t.is(st.mtime, 1_600_000_000_000);
    await vfs.link('/ns/f', '/ns/hard');
    t.deepEqual(await readFile(vfs, '/ns/hard'), Buffer.from('content'));
    const { names } = await vfs.readdir('/ns');
    t.deepEqual(names.sort(), ['.', '..', 'f', 'hard', 'link']);

    const e1 = await t.throwsAsync(vfs.rmdir('/ns'));
    t.is(errnoOf(e1), Errno.ENOTEMPTY);
    const e2 = await t.throwsAsync(vfs.open('/ns/missing', O_RDONLY));
    t.is(errnoOf(e2), Errno.ENOENT);
    const e3 = await t.throwsAsync(vfs.unlink('/ns'));
    t.is(errnoOf(e3), Errno.EISDIR);
    for (const n of ['f', 'hard', 'link']) await vfs.unlink(`/ns/${n}`);
    await vfs.rmdir('/ns');
    t.is(errnoOf(await t.throwsAsync(vfs.getattr('/ns'))), Errno.ENOENT);

    const fs = await vfs.statfs();
    t.true(fs.blocks > 0 && fs.bfree > 0 && fs.bfree <= fs.blocks);
    t.is(fs.bsize, 128 * 1024);
  },
);

const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFSOCK = 0o140000;
const S_IFREG = 0o100000;
const tick = () => new Promise((r) => setTimeout(r, 15));

test.serial(
  'mknod: FIFOs, sockets and devices keep type, mode, owner and rdev; S_IFREG makes an empty file',
  async (t) => {
    const vfs = await newVfs();
    await vfs.mkdir('/nodes', 0o755);
    await vfs.mknod('/nodes/fifo', S_IFIFO | 0o640, 0, { uid: 1000, gid: 1001 });
    await vfs.mknod('/nodes/null', S_IFCHR | 0o666, (1 << 8) | 3);
    await vfs.mknod('/nodes/sda', S_IFBLK | 0o660, (8 << 8) | 0);
    await vfs.mknod('/nodes/sock', S_IFSOCK | 0o755, 0);
    await vfs.mknod('/nodes/empty', S_IFREG | 0o600, 0);
    t.like(await vfs.getattr('/nodes/fifo'), {
      mode: S_IFIFO | 0o640,
      uid: 1000,
      gid: 1001,
      rdev: 0,
      size: 0,
    });
    t.like(await vfs.getattr('/nodes/null'), { mode: S_IFCHR | 0o666, rdev: 0x103 });
    t.like(await vfs.getattr('/nodes/sda'), { mode: S_IFBLK | 0o660, rdev: 0x800 });
    t.like(await vfs.getattr('/nodes/sock'), { mode: S_IFSOCK | 0o755 });
    t.like(await vfs.getattr('/nodes/empty'), { mode: S_IFREG | 0o600, size: 0 });
    t.is(errnoOf(await t.throwsAsync(vfs.mknod('/nodes/fifo', S_IFIFO | 0o600, 0))), Errno.EEXIST);
    t.is(errnoOf(await t.throwsAsync(vfs.mknod('/nodes/empty', S_IFREG | 0o600, 0))), Errno.EEXIST);
    const { names, stats } = await vfs.readdir('/nodes');
    const types = Object.fromEntries(names.map((n, i) => [n, (stats[i]?.mode ?? 0) & 0o170000]));
    t.like(types, { fifo: S_IFIFO, null: S_IFCHR, sda: S_IFBLK, sock: S_IFSOCK, empty: S_IFREG });
    // chmod, chown, utimens, rename, link and unlink as for any entry; the type and rdev stay.
    await vfs.chmod('/nodes/null', S_IFCHR | 0o600);
    await vfs.chown('/nodes/null', 5, 6);
    await vfs.utimens('/nodes/null', 1_500_000_000_000, 1_600_000_000_000);
    await vfs.rename('/nodes/null', '/nodes/null2');
    await vfs.link('/nodes/null2', '/nodes/null3');
    t.like(await vfs.getattr('/nodes/null3'), {
      mode: S_IFCHR | 0o600,
      uid: 5,
      gid: 6,
      rdev: 0x103,
      nlink: 2,
      atime: 1_500_000_000_000,
      mtime: 1_600_000_000_000,
    });
    await vfs.unlink('/nodes/null2');
    t.like(await vfs.getattr('/nodes/null3'), { nlink: 1, rdev: 0x103 });
  },
);

test.serial('names over 255 bytes and paths over 4096 are ENAMETOOLONG', async (t) => {
  const vfs = await newVfs();
  const long = '/' + 'n'.repeat(256);
  t.is(errnoOf(await t.throwsAsync(vfs.getattr(long))), Errno.ENAMETOOLONG);
  t.is(errnoOf(await t.throwsAsync(vfs.mkdir(long, 0o755))), Errno.ENAMETOOLONG);
  t.is(errnoOf(await t.throwsAsync(vfs.create(long, 0o644))), Errno.ENAMETOOLONG);
  t.is(errnoOf(await t.throwsAsync(vfs.mknod(long, S_IFIFO | 0o644, 0))), Errno.ENAMETOOLONG);
  t.is(errnoOf(await t.throwsAsync(vfs.getattr(('/' + 'd'.repeat(250)).repeat(17)))), Errno.ENAMETOOLONG);
  await vfs.mkdir('/' + 'n'.repeat(255), 0o755);
  t.is((await vfs.getattr('/' + 'n'.repeat(255))).mode, 0o040755);
});

test.serial('hard links: one inode under two names; writes, modes and nlink show under both', async (t) => {
  const vfs = await newVfs();
  await vfs.mkdir('/hl', 0o755);
  const fh = await vfs.create('/hl/a', 0o644);
  await vfs.write(fh, Buffer.from('first'), 0);
  await vfs.release(fh);
  t.is((await vfs.getattr('/hl/a')).nlink, 1);
  await vfs.link('/hl/a', '/hl/b');
  const [a, b] = [await vfs.getattr('/hl/a'), await vfs.getattr('/hl/b')];
  t.is(a.ino, b.ino);
  t.is(a.nlink, 2);
  t.is(b.nlink, 2);
  const w = await vfs.open('/hl/b', O_WRONLY | O_TRUNC);
  await vfs.write(w, Buffer.from('second!'), 0);
  await vfs.release(w);
  t.deepEqual(await readFile(vfs, '/hl/a'), Buffer.from('second!'));
  await vfs.chmod('/hl/a', 0o600);
  t.is((await vfs.getattr('/hl/b')).mode, S_IFREG | 0o600);
  await vfs.unlink('/hl/a');
  t.like(await vfs.getattr('/hl/b'), { nlink: 1, size: 7 });
  // A link made while the old name is still being written carries the writes.
  const open = await vfs.create('/hl/c', 0o644);
  await vfs.write(open, Buffer.from('open'), 0);
  await vfs.link('/hl/c', '/hl/d');
  await vfs.release(open);
  t.deepEqual(await readFile(vfs, '/hl/d'), Buffer.from('open'));
  t.is(errnoOf(await t.throwsAsync(vfs.link('/hl/b', '/hl/d'))), Errno.EEXIST);
});

test.serial(
  'a folder shows at once the mtime, ctime and nlink its entries changed through this mount',
  async (t) => {
    const vfs = await newVfs();
    await vfs.mkdir('/times', 0o755);
    const stat = () => vfs.getattr('/times');
    const t0 = await stat();
    t.is(t0.nlink, 2);
    await tick();
    await vfs.mkdir('/times/sub', 0o755);
    const t1 = await stat();
    t.is(t1.nlink, 3, 'a new subfolder counts at once');
    t.true(t1.mtime > t0.mtime && t1.ctime > t0.ctime);
    await tick();
    const fh = await vfs.create('/times/f', 0o644);
    const t2 = await stat();
    t.true(t2.mtime > t1.mtime, 'a new file changes the folder before its first commit');
    const pendingIno = (await vfs.fgetattr('/times/f', fh)).ino;
    await vfs.release(fh);
    t.is(
      (await vfs.getattr('/times/f')).ino,
      pendingIno,
      'a new file keeps its inode number across its first commit',
    );
    await tick();
    for (const op of [
      () => vfs.symlink('x', '/times/l'),
      () => vfs.mknod('/times/p', S_IFIFO | 0o644, 0),
      () => vfs.link('/times/f', '/times/f2'),
      () => vfs.rename('/times/f2', '/times/f3'),
      () => vfs.unlink('/times/f3'),
    ]) {
      const before = await stat();
      await tick();
      await op();
      const after = await stat();
      t.true(after.mtime > before.mtime && after.ctime > before.ctime, op.toString());
    }
    await vfs.rmdir('/times/sub');
    t.is((await stat()).nlink, 2);
    // chown to the owner it already has still changes ctime (POSIX), and so does a link.
    const f0 = await vfs.getattr('/times/f');
    await tick();
    await vfs.chown('/times/f', f0.uid, f0.gid);
    const f1 = await vfs.getattr('/times/f');
    t.true(f1.ctime > f0.ctime);
    t.is(f1.mtime, f0.mtime);
    // open(O_TRUNC) of an empty file changes mtime and ctime, as on a local file system.
    await tick();
    await vfs.release(await vfs.open('/times/f', O_WRONLY | O_TRUNC));
    const f2 = await vfs.getattr('/times/f');
    t.true(f2.mtime > f1.mtime && f2.ctime > f1.ctime);
    // truncate and ftruncate to the size it has change them too (ext4 does).
    await tick();
    await vfs.truncate('/times/f', 0);
    const f3 = await vfs.getattr('/times/f');
    t.true(f3.mtime > f2.mtime && f3.ctime > f2.ctime);
    await tick();
    const wh = await vfs.open('/times/f', O_WRONLY);
    await vfs.ftruncate(wh, 0);
    await vfs.release(wh);
    const f4 = await vfs.getattr('/times/f');
    t.true(f4.mtime > f3.mtime && f4.ctime > f3.ctime);
    // O_RDONLY|O_TRUNC truncates (Linux does, once the kernel checked write permission).
    const w2 = await vfs.create('/times/g', 0o644);
    await vfs.write(w2, Buffer.from('content'), 0);
    await vfs.release(w2);
    await vfs.release(await vfs.open('/times/g', O_RDONLY | O_TRUNC));
    t.is((await vfs.getattr('/times/g')).size, 0);
  },
);

test.serial('utimens: UTIME_OMIT leaves a time alone, UTIME_NOW sets it to now', async (t) => {
  const vfs = await newVfs();
  const fh = await vfs.create('/utime', 0o644);
  await vfs.release(fh);
  await vfs.utimens('/utime', 1_000_000_000_000, 1_100_000_000_000);
  await vfs.utimens('/utime', UTIME_OMIT, 1_200_000_000_000);
  t.like(await vfs.getattr('/utime'), { atime: 1_000_000_000_000, mtime: 1_200_000_000_000 });
  const before = Date.now();
  await vfs.utimens('/utime', UTIME_NOW, UTIME_OMIT);
  const st = await vfs.getattr('/utime');
  t.true(st.atime >= before - 1000, 'atime is now');
  t.is(st.mtime, 1_200_000_000_000);
  const ctime = st.ctime;
  await tick();
  await vfs.utimens('/utime', UTIME_OMIT, UTIME_OMIT);
  t.is((await vfs.getattr('/utime')).ctime, ctime, 'omitting both changes nothing');
});

test.serial('a commit that cannot reach its replicas fails with EIO', async (t) => {
  const vfs = await newVfs({ replicas: 4 }); // only 3 benefactors
  const fh = await vfs.create('/toomany.bin', 0o644);
  const first = await vfs.write(fh, randomBytes(MiB), 0).then(
    () => undefined,
    (e: unknown) => e,
  );
  const err = first ?? (await t.throwsAsync(vfs.flush(fh)));
  t.is(errnoOf(err), Errno.EIO);
  await vfs.release(fh).catch(() => undefined);
});

test.serial(
  "reads arriving out of order, as the kernel's read-ahead sends them, still get read-ahead",
  async (t) => {
    const writer = await newVfs();
    const data = randomBytes(24 * MiB);
    const fh = await writer.create('/ahead.bin', 0o644);
    await writeAll(writer, fh, data);
    await writer.release(fh);

    const reader = await newVfs();
    const rh = await reader.open('/ahead.bin', O_RDONLY);
    const piece = 128 * 1024;
    const parts: Buffer[] = [];
    // Eight reads in flight (the kernel's 1 MiB read-ahead in 128 KiB requests), each next one
    // sent when one completes, arriving in reverse within each MiB: FUSE reads are not in order.
    const order = Array.from({ length: data.length / piece }, (_, i) => (i ^ 7) * piece);
    let next = 0;
    const lane = async () => {
      while (next < order.length) {
        const o = order[next++] as number;
        parts[o / piece] = await reader.read(rh, o, piece);
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    await reader.release(rh);
    t.is(sha(Buffer.concat(parts)), sha(data));
    const s = reader.source.stats;
    t.is(s.fetchedBytes, data.length, 'every chunk came over the network exactly once');
    // Read-ahead asks for ~2 MiB per request; without it every 128 KiB read is its own request (192 here).
    t.true(s.fetches <= 40, `${s.fetches} requests to the benefactors for ${data.length / piece} reads`);
  },
);

test.serial('the on-disk chunk cache serves a restore on the same host', async (t) => {
  const cacheDir = tempDir('stdchk-cache-');
  const writer = await newVfs({ cacheDir, cacheBytes: 256 * MiB });
  const data = randomBytes(8 * MiB);
  const fh = await writer.create('/cached.bin', 0o644);
  await writeAll(writer, fh, data);
  await writer.release(fh);
  await writer.close(); // frees the cache folder (one mount per folder)

  const reader = await newVfs({ cacheDir, cacheBytes: 256 * MiB });
  t.is(sha(await readFile(reader, '/cached.bin')), sha(data));
  t.is(reader.source.stats.fetched, 0, 'nothing came over the network');
  t.true(reader.source.stats.diskHits > 100);

  // A cold host (no cache) streams from the benefactors.
  const cold = await newVfs();
  t.is(sha(await readFile(cold, '/cached.bin')), sha(data));
  t.true(cold.source.stats.fetched > 100);
  t.truthy(path.basename(cacheDir));
});
