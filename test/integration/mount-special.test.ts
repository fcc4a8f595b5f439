import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cleanupAll, runCli, startGrid, tempDir } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import type { GridMount } from '../../src/grid/local-grid.ts';
import { requirePatchedFuseAddon } from '../helpers/fuse-addon.ts';

// Issue 14 acceptance: special files through a kernel mount of a real grid.
// A container root file system with /dev nodes, a FIFO and a hard link
// unpacks with tar as it does on a local disk; a Unix socket and a FIFO made
// in the mount carry data between processes (the kernel serves them: stdchk
// stores the entry, not the data).

const execFileP = promisify(execFile);
const MAKE_ROOTFS = path.resolve(import.meta.dirname, '../../scripts/make-busybox-rootfs.sh');

let grid: LocalGrid;
let m: GridMount;
let other: GridMount;
let work: string;

test.before(async () => {
  requirePatchedFuseAddon();
  work = tempDir('stdchk-special-');
  chmodSync(work, 0o755);
  grid = await startGrid({ benefactors: 2 });
  m = await grid.mount(path.join(work, 'm'), { replicas: 1 });
  other = await grid.mount(path.join(work, 'other'), { replicas: 1, name: 'mount-other' });
});

test.after.always(async () => {
  await grid?.stop();
  await cleanupAll();
});

interface Entry {
  path: string;
  type: string;
  mode: string;
  owner: string;
  rdev: string;
  nlink: number;
  mtimeMs: number;
  /** Index of the first entry with the same inode (hard links), else its own index. */
  sameAs: number;
  content: string;
}

/** Everything tar restores of a tree, entry by entry, in name order. */
function describeTree(root: string): Entry[] {
  const out: Entry[] = [];
  const firstOfInode = new Map<number, number>();
  const walk = (rel: string) => {
    const full = path.join(root, rel);
    const st = lstatSync(full);
    const type = st.isFile()
      ? 'file'
      : st.isDirectory()
        ? 'dir'
        : st.isSymbolicLink()
          ? 'symlink'
          : st.isFIFO()
            ? 'fifo'
            : st.isSocket()
              ? 'socket'
              : st.isCharacterDevice()
                ? 'char'
                : st.isBlockDevice()
                  ? 'block'
                  : '?';
    const index = out.length;
    const sameAs = firstOfInode.get(st.ino) ?? index;
    if (!firstOfInode.has(st.ino)) firstOfInode.set(st.ino, index);
    out.push({
      path: rel || '.',
      type,
      mode: (st.mode & 0o7777).toString(8),
      owner: `${st.uid}:${st.gid}`,
      rdev: type === 'char' || type === 'block' ? `${Math.floor(st.rdev / 256)},${st.rdev % 256}` : '',
      nlink: type === 'dir' ? 0 : st.nlink,
      mtimeMs: type === 'symlink' ? 0 : st.mtimeMs,
      sameAs,
      content:
        type === 'file'
          ? createHash('sha256').update(readFileSync(full)).digest('hex')
          : type === 'symlink'
            ? readlinkSync(full)
            : '',
    });
    if (type === 'dir') for (const name of readdirSync(full).sort()) walk(path.join(rel, name));
  };
  walk('');
  return out;
}

test.serial(
  'a busybox rootfs with device nodes, a FIFO and a hard link unpacks into the mount as it does locally',
  async (t) => {
    const tarball = path.join(work, 'busybox-dev.tar');
    await execFileP('bash', [MAKE_ROOTFS, '--dev', tarball]);
    const local = path.join(work, 'local-rootfs');
    const mounted = path.join(m.mountpoint, 'rootfs');
    for (const dir of [local, mounted]) {
      await execFileP('mkdir', [dir]);
      const started = performance.now();
      const { stderr } = await execFileP('tar', ['--same-owner', '-xpf', tarball, '-C', dir]);
      t.is(stderr, '', `tar into ${dir}`);
      t.log(
        `tar -xpf into ${dir === local ? 'a local folder' : 'the mount'}: ${Math.round(performance.now() - started)} ms`,
      );
    }
    const want = describeTree(local);
    const got = describeTree(mounted);
    t.true(want.length > 250, `${want.length} entries`);
    t.deepEqual(got, want);
    const byPath = new Map(got.map((e) => [e.path, e]));
    t.like(byPath.get('dev/null'), { type: 'char', mode: '666', rdev: '1,3', owner: '0:0' });
    t.like(byPath.get('dev/loop0'), { type: 'block', mode: '660', rdev: '7,0', owner: '0:6' });
    t.like(byPath.get('dev/initctl'), { type: 'fifo', mode: '600' });
    t.like(byPath.get('etc/passwd-'), { nlink: 2 });
    t.like(byPath.get('home/user/.profile'), { owner: '1000:1000', mode: '600' });

    // Another mount and the CLI see the same entries (they are stored at the manager).
    const seen = describeTree(path.join(other.mountpoint, 'rootfs'));
    t.deepEqual(
      seen.filter((e) => e.path.startsWith('dev/')),
      want.filter((e) => e.path.startsWith('dev/')),
    );
    const ls = await runCli(['ls', '/rootfs/dev', '--json'], grid.env());
    t.is(ls.code, 0, ls.stderr);
    const types = Object.fromEntries(
      (JSON.parse(ls.stdout) as { name: string; type: string; rdev?: number }[]).map((e) => [
        e.name,
        `${e.type}${e.rdev !== undefined ? ` ${e.rdev}` : ''}`,
      ]),
    );
    t.deepEqual(types, {
      console: `char-device ${(5 << 8) | 1}`,
      initctl: 'fifo',
      loop0: `block-device ${7 << 8}`,
      null: `char-device ${(1 << 8) | 3}`,
      tty: `char-device ${5 << 8}`,
      zero: `char-device ${(1 << 8) | 5}`,
    });
  },
);

/** Runs a Python snippet as its own process; resolves with its stdout. */
function python(code: string, args: string[] = []): Promise<string> & { child: ReturnType<typeof spawn> } {
  const child = spawn('python3', ['-c', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const p = new Promise<string>((resolve, reject) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`python3 exited ${code}: ${stderr}`));
    }),
  ) as Promise<string> & { child: ReturnType<typeof spawn> };
  p.child = child;
  return p;
}

const SERVER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
print(oct(os.lstat(sys.argv[1]).st_mode), flush=True)
conn, _ = s.accept()
msg = conn.recv(100)
conn.sendall(b'pong to ' + msg)
conn.close()
s.close()
`;

const CLIENT = `
import socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
c.sendall(b'ping')
print(c.recv(100).decode())
`;

test.serial('a Unix socket bound in the mount connects two processes', async (t) => {
  const sock = path.join(m.mountpoint, 'app.sock');
  const server = python(SERVER, [sock]);
  // The server prints the socket's mode once it listens.
  const listening = await new Promise<string>((resolve) =>
    server.child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  t.is(Number(listening) & 0o170000, 0o140000, 'the entry is a socket');
  t.is(await python(CLIENT, [sock]), 'pong to ping\n');
  await server;
  // The entry stays (as on a local disk) until it is unlinked, and every mount sees it.
  t.true(lstatSync(path.join(other.mountpoint, 'app.sock')).isSocket());
  await execFileP('rm', [sock]);
  t.throws(() => lstatSync(sock), { code: 'ENOENT' });
});

test.serial('a FIFO made with mkfifo in the mount carries data between two processes', async (t) => {
  const fifo = path.join(m.mountpoint, 'pipe');
  await execFileP('mkfifo', ['-m', '0620', fifo]);
  const st = lstatSync(fifo);
  t.true(st.isFIFO());
  t.is(st.mode & 0o777, 0o620);
  const data = 'line one\nline two\n'.repeat(5000); // ~90 KB: more than a pipe buffer holds
  const reader = python(`import sys\nprint(open(sys.argv[1]).read(), end='')`, [fifo]);
  const writer = python(`import sys\nopen(sys.argv[1], 'w').write(sys.argv[2])`, [fifo, data]);
  await writer;
  t.is(await reader, data);
  // Nothing went through stdchk: the FIFO has no content there, and another mount sees the entry.
  t.is(lstatSync(fifo).size, 0);
  t.true(lstatSync(path.join(other.mountpoint, 'pipe')).isFIFO());
});
