import test from 'ava';
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ProcessRuntime,
  RootfsCache,
  RuncRuntime,
  killInstancesUnder,
} from '../../src/workers/runtime/index.ts';
import type { ContainerRuntime, JobInstance, ProcessSpec } from '../../src/workers/runtime/index.ts';
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
// checkpoint them into plain local folders.

const prefix = `stdchk-rtt-${randomBytes(3).toString('hex')}-`;
const base = tempDir('stdchk-runtime-');
const instancesRoot = path.join(base, 'instances');
onCleanup(async () => {
  await killInstancesUnder(instancesRoot);
});

test.after.always(cleanupAll);

function instanceOpts(name: string, logFile: string, rootfs?: string) {
  const dir = path.join(instancesRoot, name);
  mkdirSync(dir, { recursive: true });
  return { name, dir, logFile, ...(rootfs ? { rootfs } : {}) };
}

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
  const spec: ProcessSpec = { args: ['sh', '-c', counterScript(n, 0.2, 3)], env: { STEP: '1' } };
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
  return second;
}

test.serial('a runc container is checkpointed, killed and restored, and counts on', async (t) => {
  const tarball = busyboxTarball(base);
  const cache = new RootfsCache(path.join(base, 'rootfs'));
  const r1 = await cache.ensure(tarball);
  t.true(r1.unpacked);
  t.true(existsSync(path.join(r1.dir, 'bin', 'busybox')));
  const r2 = await cache.ensure(tarball);
  t.false(r2.unpacked, 'the rootfs is unpacked once');
  t.is(r2.dir, r1.dir);

  const runtime = new RuncRuntime({ idPrefix: prefix });
  await checkpointKillRestore(t, runtime, 'counter', r1.dir);
  t.deepEqual(runcContainers(prefix), [], 'no container is left');
});

test.serial('a plain process is checkpointed with criu, killed and restored, and counts on', async (t) => {
  const runtime = new ProcessRuntime();
  const second = await checkpointKillRestore(t, runtime, 'process');
  t.false(second.isRunning());
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
