import test from 'ava';
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_CONTAINER_ID_MAP,
  ProcessRuntime,
  RootfsCache,
  RuncRuntime,
  killInstancesUnder,
} from '../../src/workers/runtime/index.ts';
import type { ContainerRuntime, JobInstance, ProcessSpec, RunAs } from '../../src/workers/runtime/index.ts';
import {
  busyboxTarball,
  cleanupAll,
  countsIn,
  counterScript,
  lastCount,
  onCleanup,
  runcContainers,
  tempDir,
  waitFor,
} from '../helpers/jobs.ts';

// Root, runc, CRIU: these tests run real containers and processes and
// checkpoint them into plain local folders. Jobs run as `nobody` (the
// worker's default user), containers in a user namespace (the worker's
// default map), as a worker runs them.

const prefix = `stdchk-rtt-${randomBytes(3).toString('hex')}-`;
const base = tempDir('stdchk-runtime-');
chmodSync(base, 0o711); // containers' root (host uid 2e9) passes through to the rootfs cache
const instancesRoot = path.join(base, 'instances');
const NOBODY: RunAs = { uid: 65534, gid: 65534 };
const idMap = DEFAULT_CONTAINER_ID_MAP;
/** A uid that exists nowhere else, for reads by "another user of the worker". */
const OTHER_USER = 40_011;
onCleanup(async () => {
  await killInstancesUnder(instancesRoot);
});

test.after.always(cleanupAll);

function instanceOpts(name: string, logFile: string, rootfs?: string, user: RunAs = NOBODY) {
  const dir = path.join(instancesRoot, name);
  mkdirSync(dir, { recursive: true });
  return { name, dir, logFile, user, ...(rootfs ? { rootfs } : {}) };
}

/** Runs `cmd` as uid:gid `uid` with no groups (setpriv); resolves with its exit code and output. */
function runAs(uid: number, cmd: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--', ...cmd],
      { timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
  });
}

let rootfsDir: string | undefined;
async function busyboxRootfs(): Promise<string> {
  rootfsDir ??= (await new RootfsCache(path.join(base, 'rootfs'), { idMap }).ensure(busyboxTarball(base)))
    .dir;
  return rootfsDir;
}

/**
 * After the count, the job says who it runs as and whether it may make a
 * user namespace (the seccomp profile of containers denies it). Runs after a
 * restore too, so it shows the restored job's credentials and filter.
 */
const TRAILER =
  'echo "who=$(id -u):$(id -g)"; unshare -U true 2>/dev/null && echo unshare=allowed || echo unshare=denied';

/**
 * Starts a counter, checkpoints it once it has counted a little, lets it go
 * on, kills it, restores it from the checkpoint and checks the count resumes
 * from the checkpoint (never from 1) and runs to the end with the exit code.
 */
async function checkpointKillRestore(
  t: ExecutionContext,
  runtime: ContainerRuntime,
  label: string,
  rootfs?: string,
) {
  const n = 30;
  const script = counterScript(n, 0.2).replace(/exit 0$/, `${TRAILER}; exit 3`);
  const spec: ProcessSpec = { args: ['sh', '-c', script], env: { STEP: '1' } };
  const log = path.join(base, `${label}.log`);
  const first = await runtime.start(spec, instanceOpts(`${label}-1`, log, rootfs));
  t.true(first.pid > 0);
  await waitFor('a few counts', () => lastCount(log) >= 5, 20_000);

  const images = path.join(base, `${label}-images`, '1');
  const before = lastCount(log);
  const ck = await first.checkpoint(images);
  const after = lastCount(log);
  t.log(`${label}: checkpoint ${ck.seconds.toFixed(3)} s, ${ck.bytes} bytes, count in [${before}, ${after}]`);
  t.true(ck.bytes > 0);
  t.true(readdirSync(images).length > 0);
  t.true(first.isRunning(), 'the job keeps running after the checkpoint');

  await waitFor('counting past the checkpoint', () => lastCount(log) >= after + 3, 20_000);
  await first.kill();
  t.false(first.isRunning());
  const killedAt = lastCount(log);
  const seen = countsIn(log).length;

  const t0 = performance.now();
  const second: JobInstance = await runtime.restore(spec, {
    ...instanceOpts(`${label}-2`, log, rootfs),
    imageDir: images,
  });
  const restoreSeconds = (performance.now() - t0) / 1000;
  await waitFor('output after the restore', () => countsIn(log).length > seen, 20_000);
  const resumedAt = countsIn(log)[seen] as number;
  t.log(
    `${label}: killed at ${killedAt}, restored in ${restoreSeconds.toFixed(3)} s, resumed at ${resumedAt}`,
  );
  t.true(resumedAt > before, `resumed at ${resumedAt}, after the checkpoint's count (>= ${before})`);
  t.true(resumedAt <= after + 1, `resumed at ${resumedAt}, not past the checkpoint (<= ${after + 1})`);

  const exit = await second.exited;
  t.is(exit.code, 3);
  t.is(lastCount(log), n);
  const tail = countsIn(log).slice(seen);
  t.deepEqual(
    tail,
    Array.from({ length: n - resumedAt + 1 }, (_, i) => resumedAt + i),
  );
  t.regex(readFileSync(log, 'utf8'), /^who=65534:65534$/m, 'the restored job still runs as nobody');

  // Another user of the worker can read neither the images nor the log.
  for (const file of [path.join(images, readdirSync(images)[0] as string), log]) {
    const r = await runAs(OTHER_USER, ['cat', file]);
    t.not(r.code, 0, `uid ${OTHER_USER} read ${file}`);
    t.regex(r.out, /Permission denied/);
  }
  t.is(statSync(log).mode & 0o777, 0o600);
  return { second, images, log };
}

test.serial('a runc container is checkpointed, killed and restored, and counts on', async (t) => {
  const tarball = busyboxTarball(base);
  const cache = new RootfsCache(path.join(base, 'rootfs'), { idMap });
  const r1 = await cache.ensure(tarball);
  t.true(r1.unpacked);
  t.true(existsSync(path.join(r1.dir, 'bin', 'busybox')));
  t.is(statSync(r1.dir).uid, idMap.base, "the tree belongs to the container's root");
  const r2 = await cache.ensure(tarball);
  t.false(r2.unpacked, 'the rootfs is unpacked once');
  t.is(r2.dir, r1.dir);
  rootfsDir = r1.dir;

  const runtime = new RuncRuntime({ idPrefix: prefix, idMap });
  const { images, log } = await checkpointKillRestore(t, runtime, 'counter', r1.dir);
  t.deepEqual(runcContainers(prefix), [], 'no container is left');
  t.regex(readFileSync(log, 'utf8'), /^unshare=denied$/m, 'the seccomp profile holds after the restore');
  // CRIU reads some images as the containers' root when it restores: root's, that group's, nobody else's.
  const st = statSync(images);
  t.deepEqual([st.uid, st.gid, st.mode & 0o777], [0, idMap.base, 0o750]);
  for (const f of readdirSync(images)) t.is(statSync(path.join(images, f)).mode & 0o027, 0, f);
});

test.serial('a plain process is checkpointed with criu, killed and restored, and counts on', async (t) => {
  const runtime = new ProcessRuntime();
  const { second, images } = await checkpointKillRestore(t, runtime, 'process');
  t.false(second.isRunning());
  t.is(statSync(images).mode & 0o777, 0o700);
  for (const f of readdirSync(images)) {
    const st = statSync(path.join(images, f));
    t.deepEqual([st.uid, st.mode & 0o777], [0, 0o600], f);
  }
});

test.serial('jobs run as the user given, with no capabilities: root-only files stay closed', async (t) => {
  const probe = [
    'id -u; id -g',
    'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status',
    'cat /etc/shadow >/dev/null 2>&1 && echo shadow=read || echo shadow=denied',
    '(echo x > /etc/stdchk-jobs-user-test) 2>/dev/null && echo write=ok || echo write=denied',
    'unshare -U true 2>/dev/null && echo unshare=allowed || echo unshare=denied',
    'sleep 1', // a container that ends before runc reports it running counts as not started
  ].join('; ');
  const user: RunAs = { uid: 4242, gid: 4343 };
  const kinds: [string, ContainerRuntime, string | undefined][] = [
    ['process', new ProcessRuntime(), undefined],
    ['container', new RuncRuntime({ idPrefix: prefix, idMap }), await busyboxRootfs()],
  ];
  for (const [kind, runtime, rootfs] of kinds) {
    const log = path.join(base, `whoami-${kind}.log`);
    const job = await runtime.start(
      { args: ['sh', '-c', probe], env: {} },
      instanceOpts(`whoami-${kind}`, log, rootfs, user),
    );
    t.is((await job.exited).code, 0);
    const out = readFileSync(log, 'utf8');
    t.log(`${kind}: ${out.trim().replace(/\s+/g, ' ')}`);
    t.regex(out, /^4242\n4343\n/, `${kind}: id -u and id -g print the user given`);
    t.regex(out, /^CapEff:\s+0+$/m, `${kind}: no effective capabilities`);
    t.regex(out, /^CapBnd:\s+0+$/m, `${kind}: no capabilities to gain`);
    t.regex(out, /^NoNewPrivs:\s+1$/m, `${kind}: setuid programs give nothing`);
    t.regex(out, /^shadow=denied$/m, `${kind}: /etc/shadow is not readable`);
    t.regex(out, /^write=denied$/m, `${kind}: a root-only folder is not writable`);
    if (kind === 'container') {
      t.regex(out, /^Seccomp:\s+2$/m, 'containers run under a seccomp filter');
      t.regex(out, /^unshare=denied$/m, 'the filter denies new namespaces');
    }
  }
  t.false(existsSync('/etc/stdchk-jobs-user-test'));
});

test.serial('pause stops the output, resume continues it, kill ends a paused job', async (t) => {
  const runtime = new ProcessRuntime();
  const log = path.join(base, 'pause.log');
  const job = await runtime.start(
    { args: ['sh', '-c', counterScript(1000, 0.1)], env: {} },
    instanceOpts('pause-1', log),
  );
  await waitFor('counting', () => lastCount(log) >= 2, 10_000);
  await job.pause();
  await sleep(200);
  const frozen = lastCount(log);
  await sleep(600);
  t.is(lastCount(log), frozen, 'no output while paused');
  await job.resume();
  await waitFor('counting again', () => lastCount(log) > frozen, 10_000);
  await job.pause();
  await job.kill();
  const exit = await job.exited;
  t.is(exit.code, 137);
});

test.serial('a job that cannot start is reported as an error', async (t) => {
  const runtime = new ProcessRuntime();
  const log = path.join(base, 'missing.log');
  const job = await runtime
    .start({ args: ['/no/such/program'], env: {} }, instanceOpts('missing-1', log))
    .catch((e: unknown) => e as Error);
  if (job instanceof Error) {
    t.regex(job.message, /ended before it ran|no such/i);
  } else {
    const exit = await job.exited;
    t.not(exit.code, 0);
  }
});
