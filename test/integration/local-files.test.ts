import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupAll, runCli, startGrid, tempDir, STDCHK_BIN } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { mountSource } from '../../src/grid/local-grid.ts';
import type { GridMount } from '../../src/grid/local-grid.ts';
import { ensureSecretFile } from '../../src/config/secret.ts';

// Issue 19, items 7 (storage side) and 11: what stdchk keeps on a machine's
// disk is closed to the machine's other users, and `get` cannot be turned
// against root by a symlink planted in a shared folder. A root grid and
// mount as on a worker; an unprivileged user (a uid that exists nowhere
// else, via setpriv) tries. The grid's folder is opened (0755) so that only
// the modes stdchk gives its own files protect them.

const BOB = 40_002;
const MiB = 1024 * 1024;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a shell script as `uid` (gid = uid, no supplementary groups), umask 022. */
function as(uid: number, script: string, env: Record<string, string> = {}): Promise<RunResult> {
  const args = [
    '--reuid',
    String(uid),
    '--regid',
    String(uid),
    '--clear-groups',
    'sh',
    '-c',
    `umask 022; ${script}`,
  ];
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      args,
      { timeout: 120_000, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const mode = (p: string) => lstatSync(p).mode & 0o7777;
const octal = (m: number) => `0${m.toString(8)}`;

/** Every folder and file beneath `dir` (itself included) that group or others may use. */
function looseEntries(dir: string): string[] {
  const out: string[] = [];
  const visit = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) out.push(`${p} ${octal(st.mode & 0o777)}`);
    if (st.isDirectory()) for (const n of readdirSync(p)) visit(path.join(p, n));
  };
  visit(dir);
  return out;
}

/** Paths of the files a process has open whose path contains `part`. */
function openFiles(pid: number, part: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.includes(part)) out.push(target);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** Writes 2 MiB, then 4 KiB back at 1 MiB: the mount moves the file to a scratch file. Returns the open handle. */
async function openWithScratch(file: string): Promise<FileHandle> {
  const fh = await open(file, 'w');
  await fh.write(randomBytes(2 * MiB), 0, 2 * MiB, 0);
  await fh.write(randomBytes(4096), 0, 4096, MiB);
  return fh;
}

async function waitUntil(what: string, fn: () => boolean, ms = 30_000): Promise<void> {
  for (const deadline = Date.now() + ms; !fn(); await sleep(100)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

let grid: LocalGrid;
let work: string;
let env: Record<string, string>;

test.before(async () => {
  work = tempDir('stdchk-local-');
  chmodSync(work, 0o755);
  grid = await startGrid({ benefactors: 2 });
  chmodSync(grid.dir, 0o755); // as if the grid lived in an open folder: stdchk's own modes must hold
  env = grid.env();
});

test.after.always(async () => {
  await grid?.stop();
  await cleanupAll();
});

test.serial(
  "root's get is not turned against a root-only file by symlinks another user planted",
  async (t) => {
    const shared = path.join(work, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777); // like /tmp (fs.protected_symlinks is 0 on this machine)
    const rootOnly = path.join(work, 'root-only');
    writeFileSync(rootOnly, 'precious\n', { mode: 0o600 });
    const data = randomBytes(300_000);
    const src = path.join(work, 'src.bin');
    writeFileSync(src, data);
    const put = await runCli(['put', src, '/f', '--replicas', '1'], env);
    t.is(put.code, 0, put.stderr);

    // Bob plants symlinks at every temporary name `get` used to pick (NAME.stdchk-PID.tmp),
    // and at the name root will write to.
    const plant = await as(
      BOB,
      `cd ${shared} && for p in $(seq 1 64); do ln -s ${rootOnly} out.stdchk-$p.tmp; done && ` +
        `ln -s ${rootOnly} link && ln -s /dev/null devlink`,
    );
    t.is(plant.code, 0, plant.stderr);

    // `get` runs as PID 1 of a new PID namespace: its pid is known in advance, as an attacker would guess it.
    const r = await new Promise<RunResult>((resolve) =>
      execFile(
        'sh',
        ['-c', `umask 022; exec unshare --pid --fork ${STDCHK_BIN} get /f ${path.join(shared, 'out')}`],
        { env: { ...process.env, ...env } },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    t.is(r.code, 0, r.stderr);
    t.is(readFileSync(rootOnly, 'utf8'), 'precious\n', 'the root-only file is untouched');
    t.is(mode(rootOnly), 0o600);
    t.true(readFileSync(path.join(shared, 'out')).equals(data));
    t.true(lstatSync(path.join(shared, 'out')).isFile());
    t.is(mode(path.join(shared, 'out')), 0o644, 'a new file gets 0666 minus the umask');
    t.deepEqual(
      readdirSync(shared).filter((n) => n.startsWith('out.') && !/^out\.stdchk-\d+\.tmp$/.test(n)),
      [],
      'no temporary file left behind',
    );

    // A symlink at the name itself is replaced, never written through.
    const viaLink = await runCli(['get', '/f', path.join(shared, 'link')], env);
    t.is(viaLink.code, 0, viaLink.stderr);
    t.is(readFileSync(rootOnly, 'utf8'), 'precious\n');
    t.true(lstatSync(path.join(shared, 'link')).isFile());
    t.is(lstatSync(path.join(shared, 'link')).uid, 0);

    // Another user's symlink to a device is refused with one line (root's own /dev/null works: cli.test.ts).
    const dev = await runCli(['get', '/f', path.join(shared, 'devlink')], env);
    t.is(dev.code, 2);
    t.regex(dev.stderr, /^stdchk: cannot write .*devlink: it is a symlink of uid 40002 to a device or FIFO/);
    t.is(dev.stderr.trim().split('\n').length, 1);

    // Replacing a file keeps its mode (a 0600 file does not become 0644).
    const privateOut = path.join(work, 'private-out');
    writeFileSync(privateOut, 'old', { mode: 0o600 });
    t.is((await runCli(['get', '/f', privateOut], env)).code, 0);
    t.is(mode(privateOut), 0o600);
    t.true(readFileSync(privateOut).equals(data));
  },
);

test.serial(
  'a scratch folder another user made in /tmp is not used; a synchronous mount keeps its scratch files private',
  async (t) => {
    // The mount's default scratch folder is $TMPDIR/stdchk-scratch: here TMPDIR is a /tmp-like folder of the test's.
    const tmp = path.join(work, 'tmp');
    mkdirSync(tmp);
    chmodSync(tmp, 0o1777);
    const bobs = path.join(tmp, 'stdchk-scratch');
    const made = await as(BOB, `mkdir ${bobs} && chmod 777 ${bobs}`);
    t.is(made.code, 0, made.stderr);

    const mp = path.join(work, 'mnt');
    const child = spawn(
      STDCHK_BIN,
      [
        'mount',
        mp,
        '--manager',
        grid.managerAddress,
        ...grid.credentialArgs('mount'),
        '--replicas',
        '1',
        // Scratch files are the synchronous mode's; write-back stages (checked below).
        '--write-mode',
        'sync',
      ],
      { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
      execFile('umount', ['-l', mp], () => undefined);
    });
    await waitUntil('the mount', () => {
      if (child.exitCode !== null) throw new Error(`mount exited: ${stderr}`);
      return mountSource(mp) === `stdchk:${child.pid}`;
    });

    const fh = await openWithScratch(path.join(mp, 'random-writes'));
    try {
      const [scratch] = openFiles(child.pid as number, 'stdchk-scratch');
      t.truthy(scratch, 'the mount holds a scratch file open');
      const file = scratch as string;
      t.false(file.startsWith(bobs + '/'), `not in the other user's folder: ${file}`);
      t.is(statSync(path.dirname(file)).uid, 0);
      t.is(mode(path.dirname(file)), 0o700);
      t.is(mode(file), 0o600);
      const read = await as(BOB, `cat ${file} > /dev/null`);
      t.not(read.code, 0);
      t.regex(read.stderr, /Permission denied/);
      t.deepEqual(readdirSync(bobs), [], "nothing was made in the other user's folder");
    } finally {
      await fh.close();
    }
    child.kill('SIGTERM');
    t.is(await exited, 0, stderr);
    t.deepEqual(
      readdirSync(tmp).filter((n) => n.startsWith('stdchk-')),
      ['stdchk-scratch'],
      'the private folder used instead is removed at exit',
    );

    // A scratch folder of ours left 0755 by an older stdchk is tightened, not refused.
    const tmp2 = path.join(work, 'tmp2');
    mkdirSync(path.join(tmp2, 'stdchk-scratch'), { recursive: true, mode: 0o755 });
    chmodSync(path.join(tmp2, 'stdchk-scratch'), 0o755);
    const m2 = spawn(
      STDCHK_BIN,
      [
        'mount',
        `${mp}2`,
        '--manager',
        grid.managerAddress,
        ...grid.credentialArgs('mount'),
        '--write-mode',
        'sync',
      ],
      {
        env: { ...process.env, TMPDIR: tmp2 },
        stdio: 'ignore',
      },
    );
    const exited2 = new Promise<number | null>((resolve) => m2.once('exit', (code) => resolve(code)));
    t.teardown(() => {
      if (m2.exitCode === null) m2.kill('SIGKILL');
      execFile('umount', ['-l', `${mp}2`], () => undefined);
    });
    await waitUntil('the second mount', () => mountSource(`${mp}2`) === `stdchk:${m2.pid}`);
    t.is(mode(path.join(tmp2, 'stdchk-scratch')), 0o700);
    m2.kill('SIGTERM');
    t.is(await exited2, 0);
  },
);

test.serial(
  'chunk cache, staging, pack files and the manager database are closed to other users; old loose modes are tightened at start',
  async (t) => {
    const cache = path.join(grid.dir, 'cache');
    const m: GridMount = await grid.mount(path.join(work, 'm'), { replicas: 2, cacheDir: cache });
    const data = randomBytes(3 * MiB);
    writeFileSync(path.join(m.mountpoint, 'checkpoint.img'), data);
    const packs = () =>
      existsSync(path.join(cache, 'chunks')) ? readdirSync(path.join(cache, 'chunks')) : ([] as string[]);
    await waitUntil('the chunk cache to hold the written chunks', () => packs().length > 0);
    const fh = await openWithScratch(path.join(m.mountpoint, 'random-writes'));
    try {
      // The write-back mount (the default) holds the file being written in its staging folder.
      const staging = path.join(grid.dir, 'staging', m.name);
      const [staged] = openFiles(m.child.pid as number, staging);
      t.truthy(staged, 'the mount holds a staged file open');
      const store = grid.benefactorStore(0);
      const pack = readdirSync(path.join(store, 'packs'))[0] as string;
      const db = path.join(grid.dir, 'manager', 'metadata.leveldb');
      const targets: [string, string][] = [
        ['a cached chunk pack', `cat ${path.join(cache, 'chunks', packs()[0] as string)}`],
        ['the cache folder', `ls ${path.join(cache, 'chunks')}`],
        ['a staged file', `cat ${staged as string}`],
        ['a benefactor pack file', `cat ${path.join(store, 'packs', pack)}`],
        ['the benefactor store', `ls ${store}`],
        ['the manager database', `cat ${path.join(db, 'CURRENT')}`],
        ['the manager database folder', `ls ${db}`],
        ['the cluster secret', `cat ${grid.secretFile}`],
      ];
      for (const [what, script] of targets) {
        const r = await as(BOB, `${script} > /dev/null`);
        t.not(r.code, 0, `another user could read ${what}`);
        t.regex(r.stderr, /Permission denied/, what);
      }
      for (const dir of [
        cache,
        path.join(grid.dir, 'scratch'),
        staging,
        store,
        grid.benefactorStore(1),
        path.join(grid.dir, 'manager'),
      ]) {
        t.deepEqual(looseEntries(dir), [], `${dir}: folders 0700, files 0600`);
      }
      t.is(mode(grid.secretFile), 0o600);
    } finally {
      await fh.close();
    }
    await grid.unmount(m);

    // An installation made by an older stdchk (0644 files in 0755 folders) is tightened at start, not refused.
    const store = grid.benefactorStore(0);
    await grid.kill(grid.benefactors[0], 'SIGTERM');
    const loosen = (p: string) => {
      const st = lstatSync(p);
      chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
      if (st.isDirectory()) for (const n of readdirSync(p)) loosen(path.join(p, n));
    };
    loosen(store);
    t.true(looseEntries(store).length > 2);
    const serving = () =>
      readFileSync(path.join(grid.logDir, 'benefactor-0.log'), 'utf8').split('"msg":"benefactor serving"')
        .length - 1;
    const before = serving();
    grid.startBenefactor(0);
    await waitUntil('the benefactor to serve again', () => serving() > before);
    t.deepEqual(looseEntries(store), []);
    t.true(readFileSync(path.join(grid.logDir, 'benefactor-0.log'), 'utf8').includes('modes tightened'));
  },
);

test.serial('a secret file or private key others can read is refused with one clear line', async (t) => {
  const loose = path.join(work, 'loose-secret');
  writeFileSync(loose, readFileSync(grid.secretFile), { mode: 0o644 });
  chmodSync(loose, 0o644);
  const re = new RegExp(
    `^stdchk: the secret file ${loose} has mode 0644: other users could read or change it; run chmod 600 ${loose}\\n$`,
  );
  const client = await runCli(['status'], { ...env, STDCHK_SECRET_FILE: loose });
  t.is(client.code, 2);
  t.regex(client.stderr, re);
  const daemon = await runCli(['manager', '--data', path.join(work, 'mgr'), '--secret-file', loose]);
  t.is(daemon.code, 2);
  t.regex(daemon.stderr, re);
  t.false(existsSync(path.join(work, 'mgr')), 'refused before anything was made');

  // Group-readable is refused too; 0400 is fine; a secret of another user is refused even if root can read it.
  chmodSync(loose, 0o640);
  t.regex((await runCli(['status'], { ...env, STDCHK_SECRET_FILE: loose })).stderr, /has mode 0640/);
  chmodSync(loose, 0o400);
  t.is((await runCli(['status'], { ...env, STDCHK_SECRET_FILE: loose })).code, 0);
  chmodSync(loose, 0o600);
  chownSync(loose, BOB, BOB);
  const bobs = await runCli(['status'], { ...env, STDCHK_SECRET_FILE: loose });
  t.is(bobs.code, 2);
  t.regex(bobs.stderr, /belongs to uid 40002, not to this user \(0\) or root: another user could change it/);

  // The grid's own secret (stdchk up) is made 0600; one an older stdchk made 0644 is tightened.
  t.is(mode(grid.secretFile), 0o600);
  const old = path.join(work, 'old-grid-secret');
  writeFileSync(old, 'x'.repeat(40), { mode: 0o644 });
  chmodSync(old, 0o644);
  ensureSecretFile(old);
  t.is(mode(old), 0o600);

  // A TLS key readable by others is refused the same way.
  const dir = path.join(work, 'tls');
  const { writeCa, writeNodeCert, parseSanList } = await import('../../src/certs/index.ts');
  await writeCa(path.join(dir, 'ca'));
  const files = await writeNodeCert(path.join(dir, 'ca'), dir, {
    name: 'n',
    sans: parseSanList('127.0.0.1'),
  });
  chmodSync(files.key, 0o644);
  const tls = await runCli(
    ['status', '--tls-ca', files.ca, '--tls-cert', files.cert, '--tls-key', files.key],
    env,
  );
  t.is(tls.code, 2);
  t.regex(
    tls.stderr,
    /^stdchk: the private key \(--tls-key\) .*n\.key has mode 0644: other users could read or change it/,
  );
});
