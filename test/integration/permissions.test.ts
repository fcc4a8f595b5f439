import test from 'ava';
import { execFile } from 'node:child_process';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { cleanupAll, runCli, startGrid, tempDir } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import type { GridMount } from '../../src/grid/local-grid.ts';

// Issue 6: the mount enforces POSIX owners and modes for non-root users on a
// multi-user worker. One mount, run by root as `stdchk mount` does on a worker
// (allow_other,default_permissions); two unprivileged users (uids that exist
// nowhere else, via setpriv) work in it side by side.

const ALICE = 40_001;
const BOB = 40_002;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a shell script as `uid` (gid = uid, no supplementary groups), umask 022. */
function as(uid: number, script: string): Promise<RunResult> {
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
    execFile('setpriv', args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
const asRoot = (script: string) => as(0, script);

let grid: LocalGrid;
let m: GridMount;
let mp: string;

test.before(async () => {
  const work = tempDir('stdchk-perm-');
  chmodSync(work, 0o755); // the users must reach the mount point
  grid = await startGrid({ benefactors: 2 });
  m = await grid.mount(path.join(work, 'm'), { replicas: 1 });
  mp = m.mountpoint;
  const r = await asRoot(
    `cd ${mp} && mkdir private shared && chmod 700 private && chmod 1777 shared && echo secret > private/key`,
  );
  if (r.code !== 0) throw new Error(`root could not prepare the mount: ${r.stderr}`);
});

test.after.always(async () => {
  await grid?.stop();
  await cleanupAll();
});

test.serial('what a user creates belongs to that user, in the mount and at the manager', async (t) => {
  // `sync alice`: the folder barrier, so that the manager has the (written back) file before `stdchk ls`.
  const r = await as(
    ALICE,
    `cd ${mp}/shared && mkdir alice && echo one > alice/notes && ln -s notes alice/link && sync alice`,
  );
  t.is(r.code, 0, r.stderr);
  const st = await asRoot(
    `cd ${mp}/shared/alice && stat -c '%u:%g %a %n' . notes && stat -c '%u:%g %n' -L link`,
  );
  t.is(st.code, 0, st.stderr);
  t.deepEqual(st.stdout.trim().split('\n'), [
    `${ALICE}:${ALICE} 755 .`,
    `${ALICE}:${ALICE} 644 notes`,
    `${ALICE}:${ALICE} link`,
  ]);
  const ls = await runCli(['ls', '/shared/alice', '--json'], grid.env());
  t.is(ls.code, 0, ls.stderr);
  const owners = (JSON.parse(ls.stdout) as { name: string; uid: number; gid: number }[]).map(
    (e) => `${e.name} ${e.uid}:${e.gid}`,
  );
  t.deepEqual(owners.sort(), [`link ${ALICE}:${ALICE}`, `notes ${ALICE}:${ALICE}`]);
  // The owner can open her own file again for writing.
  const again = await as(ALICE, `echo two >> ${mp}/shared/alice/notes && cat ${mp}/shared/alice/notes`);
  t.is(again.code, 0, again.stderr);
  t.is(again.stdout, 'one\ntwo\n');
});

test.serial(
  "another user can read by the mode, but not write, chmod, create in or delete another's files",
  async (t) => {
    const dir = `${mp}/shared/alice`;
    const read = await as(BOB, `cat ${dir}/notes`);
    t.is(read.code, 0, read.stderr);
    t.is(read.stdout, 'one\ntwo\n');
    for (const [what, script, error] of [
      ['write', `echo bob >> ${dir}/notes`, /Permission denied/],
      ['truncate', `: > ${dir}/notes`, /Permission denied/],
      ['chmod', `chmod 666 ${dir}/notes`, /Operation not permitted/],
      ['chown', `chown ${BOB} ${dir}/notes`, /Operation not permitted/],
      ['create in her folder', `echo bob > ${dir}/bobs`, /Permission denied/],
      ['delete from her folder', `rm -f ${dir}/notes`, /Permission denied/],
    ] as const) {
      const r = await as(BOB, script);
      t.not(r.code, 0, `bob could ${what}`);
      t.regex(r.stderr, error, what);
    }
    // The sticky shared folder: bob may add his own file but not remove alice's.
    t.is((await as(ALICE, `echo a > ${mp}/shared/a.txt`)).code, 0);
    t.is((await as(BOB, `echo b > ${mp}/shared/b.txt`)).code, 0);
    const rm = await as(BOB, `rm -f ${mp}/shared/a.txt`);
    t.not(rm.code, 0);
    t.regex(rm.stderr, /Operation not permitted/);
    const still = await as(ALICE, `cat ${dir}/notes ${mp}/shared/a.txt`);
    t.is(still.stdout, 'one\ntwo\na\n', 'nothing bob tried changed her files');
  },
);

test.serial(
  'a mode the owner tightens shuts others out; a 0700 folder of root is closed to users',
  async (t) => {
    t.is((await as(ALICE, `chmod 600 ${mp}/shared/alice/notes`)).code, 0);
    const bob = await as(BOB, `cat ${mp}/shared/alice/notes`);
    t.not(bob.code, 0);
    t.regex(bob.stderr, /Permission denied/);
    t.is((await as(ALICE, `cat ${mp}/shared/alice/notes`)).stdout, 'one\ntwo\n');
    for (const script of [`ls ${mp}/private`, `cat ${mp}/private/key`, `echo x > ${mp}/private/new`]) {
      const r = await as(ALICE, script);
      t.not(r.code, 0, script);
      t.regex(r.stderr, /Permission denied/, script);
    }
    const root = await asRoot(`cat ${mp}/private/key ${mp}/shared/alice/notes`);
    t.is(root.stdout, 'secret\none\ntwo\n', 'root reads everything');
  },
);
