import test from 'ava';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { cleanupAll, startGrid, tempDir } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import type { GridMount } from '../../src/grid/local-grid.ts';
import { requirePatchedFuseAddon } from '../helpers/fuse-addon.ts';

// Issue 14: the mount as a POSIX file system, proven by differential tests.
// test/conformance/posix.py holds the cases (grouped by system call, made
// from tables: call x file type x user x preconditions) and runs them in a
// folder; here it runs once in a local folder under /tmp (ext4) and once in a
// kernel mount of a real grid, as root with the calls made by root and by
// three unprivileged users, and every case must give the same result in both
// (return value or errno, type, mode, owner, size, nlink, rdev, shared inodes,
// content, and times as old/new/the value set). Differences by design are
// not among the cases; docs/mount.md lists them.

const DRIVER = path.resolve(import.meta.dirname, '../conformance/posix.py');
/** The suite is hundreds of cases; fewer means a table went missing. */
const MIN_CASES = 1500;

interface CaseResult {
  errno?: string;
  value?: unknown;
  setup?: string;
  entries?: Record<string, unknown>;
}

interface Run {
  cases: Record<string, CaseResult>;
  seconds: number;
  setupSeconds: number;
}

function runDriver(root: string, only = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      [DRIVER, '--root', root, ...(only ? ['--only', only] : [])],
      { maxBuffer: 256 * 1024 * 1024, timeout: 240_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`posix.py in ${root} failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as Run);
      },
    );
  });
}

let grid: LocalGrid;
let m: GridMount;
let work: string;

test.before(async () => {
  requirePatchedFuseAddon();
  work = tempDir('stdchk-posix-');
  chmodSync(work, 0o755); // the unprivileged users must reach both roots
  grid = await startGrid({ benefactors: 2 });
  m = await grid.mount(path.join(work, 'm'), { replicas: 1 });
});

test.after.always(async () => {
  await grid?.stop();
  await cleanupAll();
});

test('every conformance case gives the same result in the mount as in a local folder', async (t) => {
  const local = path.join(work, 'local');
  mkdirSync(local);
  const mounted = path.join(m.mountpoint, 'conformance');
  const [ref, got] = await Promise.all([runDriver(local), runDriver(mounted)]);
  const ids = Object.keys(ref.cases);
  t.log(
    `${ids.length} cases; local folder ${ref.seconds} s, mount ${got.seconds} s (setups ${got.setupSeconds} s)`,
  );
  t.true(ids.length >= MIN_CASES, `only ${ids.length} cases`);
  const setupFailed = ids.filter((id) => ref.cases[id]?.setup !== undefined);
  t.deepEqual(setupFailed, [], 'every setup works in the local folder');
  const differ = ids.filter((id) => JSON.stringify(ref.cases[id]) !== JSON.stringify(got.cases[id]));
  for (const id of differ.slice(0, 40)) {
    t.log(`${id}\n  local: ${JSON.stringify(ref.cases[id])}\n  mount: ${JSON.stringify(got.cases[id])}`);
  }
  t.deepEqual(differ, [], `${differ.length} of ${ids.length} cases differ`);
});
