import test from 'ava';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { STDCHK, canUseNetns } from '../helpers/sched-grid.ts';
import { runcContainers } from '../helpers/jobs.ts';

// Acceptance 1: the README's main command runs the whole migration on one
// machine. Runs `stdchk demo-grid` as a user would and checks that it
// verified the resume and left nothing behind.

let child: ChildProcess | undefined;
let output = '';

/** The grid folder the demo announced in its first step. */
const demoDir = () => /folders under (\S+)\)/.exec(output)?.[1];

test.after.always(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    // SIGTERM: the demo stops its grid (workers, jobs, mounts, storage) and removes its folder.
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    const t = setTimeout(() => child?.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  }
  const dir = demoDir();
  if (dir?.includes('stdchk-grid-demo-')) rmSync(dir, { recursive: true, force: true });
});

test('stdchk demo-grid: a job resumes on the other worker from its last checkpoint', async (t) => {
  if (!canUseNetns()) {
    t.log('needs root (FUSE, runc)');
    t.pass();
    return;
  }
  t.timeout(180_000);
  const started = Date.now();
  const code = await new Promise<number | null>((resolve) => {
    // A checkpoint completes (every 5 s) between the demo noting the newest one
    // and the kill: the restore rightly uses it, and the demo must agree.
    child = spawn(STDCHK, ['demo-grid'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, STDCHK_TEST_DEMO_KILL_DELAY_MS: '7000' },
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (c) => resolve(c));
  });
  t.log(output);
  t.log(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.is(code, 0);
  t.regex(output, /^1\. starting a manager/m);
  t.regex(output, /^\s+checkpoint 2 complete on worker-\d/m);
  t.regex(output, /^\d+\. simulating the loss of worker-\d: kill -9/m);
  t.regex(output, /^\s+verified: job \S+ resumed on worker-\d from checkpoint [1-9]\d*, counting on/m);
  t.regex(output, /grid demo finished/);
  const noted = Number(/newest complete checkpoint so far (\d+)/.exec(output)?.[1]);
  const restoredFrom = Number(/restored on worker-\d from checkpoint (\d+)/.exec(output)?.[1]);
  t.true(restoredFrom > noted, `a later checkpoint (${restoredFrom}) than the one noted (${noted}) was used`);

  // Nothing left: folder, mounts, containers.
  const dir = demoDir();
  t.truthy(dir);
  t.false(existsSync(dir as string), 'the demo removed its folder');
  t.false(readFileSync('/proc/self/mounts', 'utf8').includes(dir as string), 'no mount left');
  t.deepEqual(runcContainers('stdchk-worker-'), [], 'no container left');
});
