import test from 'ava';
import {
  chmodSync,
  chownSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkSafeParent, ownPrivateDir, tightenTree } from '../../src/config/private-files.ts';
import { openLocalOutput } from '../../src/config/local-output.ts';
import { isStdchkError } from '../../src/errors/index.ts';

// The file-mode rules of docs/security.md ("Files on disk"), in-process; another user is
// played by chown (these tests run as root, like the integration tests).

const OTHER = 40_002;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stdchk-pf-'));
  dirs.push(d);
  return d;
};
test.after.always(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const mode = (p: string) => lstatSync(p).mode & 0o7777;
const denied = (t: { true(v: boolean, m?: string): void }, fn: () => void, what: string) => {
  try {
    fn();
    t.true(false, `${what}: accepted`);
  } catch (e) {
    t.true(isStdchkError(e, 'PERMISSION_DENIED'), `${what}: ${String(e)}`);
  }
};

test('a folder in a shared place is used only if it is a real folder of ours; ours is tightened to 0700', (t) => {
  const shared = tmp();
  chmodSync(shared, 0o1777);
  const fresh = path.join(shared, 'fresh');
  ownPrivateDir(fresh);
  t.is(mode(fresh), 0o700);

  const loose = path.join(shared, 'loose');
  mkdirSync(loose);
  chmodSync(loose, 0o755);
  ownPrivateDir(loose);
  t.is(mode(loose), 0o700, 'ours, left 0755 by an older stdchk: tightened');

  const theirs = path.join(shared, 'theirs');
  mkdirSync(theirs);
  chmodSync(theirs, 0o777);
  chownSync(theirs, OTHER, OTHER);
  denied(t, () => ownPrivateDir(theirs), "another user's folder");
  t.is(mode(theirs), 0o777, 'and it is left alone');

  const target = path.join(shared, 'target');
  mkdirSync(target, { mode: 0o700 });
  symlinkSync(target, path.join(shared, 'link'));
  denied(t, () => ownPrivateDir(path.join(shared, 'link')), 'a symlink to a folder of ours');
  symlinkSync(path.join(shared, 'nowhere'), path.join(shared, 'dangling'));
  denied(t, () => ownPrivateDir(path.join(shared, 'dangling')), 'a dangling symlink');
  writeFileSync(path.join(shared, 'file'), '');
  denied(t, () => ownPrivateDir(path.join(shared, 'file')), 'a file');
});

test('a folder named with --scratch must not be writable by others unless sticky', (t) => {
  const base = tmp();
  const open = path.join(base, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  denied(t, () => checkSafeParent(open), 'a 0777 folder');
  chmodSync(open, 0o1777);
  t.notThrows(() => checkSafeParent(open), 'sticky, like /tmp');
  const theirs = path.join(base, 'theirs');
  mkdirSync(theirs, { mode: 0o755 });
  chownSync(theirs, OTHER, OTHER);
  denied(t, () => checkSafeParent(theirs), "another user's folder");
  const made = path.join(base, 'a', 'b');
  checkSafeParent(made);
  t.is(mode(made), 0o700);
});

test('tightening a tree removes group and other bits and never follows a symlink', (t) => {
  const root = tmp();
  const outside = path.join(tmp(), 'outside');
  writeFileSync(outside, 'x', { mode: 0o644 });
  chmodSync(outside, 0o644);
  mkdirSync(path.join(root, 'packs'));
  for (const [p, m] of [
    [root, 0o755],
    [path.join(root, 'packs'), 0o755],
  ] as const)
    chmodSync(p, m);
  writeFileSync(path.join(root, 'packs', '1.pack'), 'data');
  chmodSync(path.join(root, 'packs', '1.pack'), 0o644);
  writeFileSync(path.join(root, 'run.sh'), '');
  chmodSync(path.join(root, 'run.sh'), 0o755);
  symlinkSync(outside, path.join(root, 'link'));
  const r = tightenTree(root);
  t.is(r.changed, 4);
  t.deepEqual(r.failed, []);
  t.is(mode(root), 0o700);
  t.is(mode(path.join(root, 'packs')), 0o700);
  t.is(mode(path.join(root, 'packs', '1.pack')), 0o600);
  t.is(mode(path.join(root, 'run.sh')), 0o700);
  t.is(mode(outside), 0o644, 'the symlink target outside is untouched');
  t.is(tightenTree(root).changed, 0, 'nothing left to change');
});

test("get's output: a private temporary file renamed over the name; planted symlinks are replaced, never followed", async (t) => {
  const dir = tmp();
  chmodSync(dir, 0o1777);
  const victim = path.join(tmp(), 'victim');
  writeFileSync(victim, 'precious', { mode: 0o600 });
  const name = path.join(dir, 'out');
  symlinkSync(victim, name);
  const out = await openLocalOutput(name);
  const tmpName = readdirSync(dir).find((n) => n !== 'out') as string;
  t.regex(tmpName, /^out\.stdchk-[0-9a-f]{16}\.tmp$/);
  t.is(mode(path.join(dir, tmpName)), 0o600, 'private while being written');
  await out.fh.write('new content');
  await out.finish();
  t.is(readFileSync(victim, 'utf8'), 'precious');
  t.true(lstatSync(name).isFile());
  t.is(readFileSync(name, 'utf8'), 'new content');
  t.deepEqual(readdirSync(dir), ['out']);

  // An aborted get leaves nothing behind and the old file as it was.
  const again = await openLocalOutput(name);
  await again.fh.write('half');
  await again.abort();
  t.deepEqual(readdirSync(dir), ['out']);
  t.is(readFileSync(name, 'utf8'), 'new content');

  // Another user's symlink to a device is refused; a folder is refused.
  const dev = path.join(dir, 'dev');
  symlinkSync('/dev/null', dev);
  lchownSync(dev, OTHER, OTHER); // the link itself is the other user's
  await t.throwsAsync(() => openLocalOutput(dev), { message: /symlink of uid 40002 to a device or FIFO/ });
  await t.throwsAsync(() => openLocalOutput(dir), { message: /it is a directory/ });
});
