import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { action } from '../output.ts';
import { StdchkError, errorMessage } from '../../errors/index.ts';
import { formatSize } from '../../config/units.ts';
import type { SchedulerClient } from '../../rpc/index.ts';
import type { JobStatus__Output } from '../../generated/stdchk/v1/JobStatus.ts';
import { PACKAGE_ROOT } from '../../config/package-root.ts';

const ROOT = PACKAGE_ROOT;
const EXAMPLE = path.join(ROOT, 'examples/counter-container.json');
const MAKE_ROOTFS = path.join(ROOT, 'scripts/make-busybox-rootfs.sh');
/** Where the image goes in the storage; relative, so each worker finds it in its own mount. */
const IMAGE = 'images/busybox.tar';

/** The numbers a counting job printed, one per line, in order. */
function countsOf(text: string): number[] {
  return text
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
}

/**
 * Where a counter's log shows it resumed: the first place where the count
 * does not go up by one (it went back to the checkpoint's count). Undefined
 * if the log is one unbroken run.
 */
export function resumption(counts: number[]): { before: number; resumedAt: number } | undefined {
  const i = counts.findIndex((c, k) => k > 0 && c !== (counts[k - 1] as number) + 1);
  return i > 0 ? { before: counts[i - 1] as number, resumedAt: counts[i] as number } : undefined;
}

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}

async function until<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined | false>,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new StdchkError('TIMEOUT', `timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function registerGridDemoCommand(program: Command): void {
  program
    .command('demo-grid')
    .description(
      'start a one-machine grid with a scheduler and 2 workers, run a container job, kill its worker and show it resume on the other from its last checkpoint, then stop',
    )
    .option('--keep', 'keep the grid folder (logs, data) afterwards')
    .option('--heartbeat-timeout <duration>', 'declare a silent worker lost after this long', '4s')
    .action(
      action(async (opts: { keep?: boolean; heartbeatTimeout: string }) => {
        const { LocalGrid, STDCHK_BIN } = await import('../../grid/local-grid.ts');
        const { connectScheduler, unary } = await import('../../rpc/index.ts');
        const say = (s: string) => process.stdout.write(s + '\n');
        const dir = mkdtempSync(path.join(os.tmpdir(), 'stdchk-grid-demo-'));
        const grid = new LocalGrid({ dir, benefactors: 3 });
        let stopping = false;
        const onSignal = () => {
          if (stopping) return;
          stopping = true;
          void grid.stop().finally(() => {
            if (!opts.keep) rmSync(dir, { recursive: true, force: true });
            process.exit(130);
          });
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        let client: SchedulerClient | undefined;
        let step = 0;
        const stepSay = (s: string) => say(`${++step}. ${s}`);
        try {
          stepSay(`starting a manager and 3 benefactors (folders under ${dir}) ...`);
          await grid.start();
          say(`   manager at ${grid.managerAddress}, 3 benefactors alive`);

          stepSay('starting a scheduler and 2 workers, each with its own mount of the storage ...');
          await grid.startScheduler(['--heartbeat-timeout', opts.heartbeatTimeout]);
          const workers = [await grid.startWorker(0), await grid.startWorker(1)];
          await grid.waitForWorkers(workers.map((w) => w.id));
          client = connectScheduler(grid.schedulerAddress, grid.credentials());
          const c = client;
          for (const w of workers) say(`   ${w.id}: mount ${w.mount.mountpoint}, work folder ${w.workDir}`);
          say(`   scheduler at ${grid.schedulerAddress}; both workers alive`);

          stepSay(
            `building a busybox rootfs (scripts/make-busybox-rootfs.sh) and storing it at /${IMAGE} ...`,
          );
          const tarball = path.join(dir, 'busybox.tar');
          const built = await run(MAKE_ROOTFS, [tarball]);
          if (built.code !== 0)
            throw new StdchkError('INTERNAL', `building the rootfs failed: ${built.stderr.trim()}`);
          const first = workers[0]?.mount.mountpoint as string;
          mkdirSync(path.join(first, 'images'), { recursive: true });
          copyFileSync(tarball, path.join(first, IMAGE));
          await until('the image visible in every mount', 60_000, async () =>
            workers.every((w) => existsSync(path.join(w.mount.mountpoint, IMAGE))),
          );
          say(`   ${formatSize(readFileSync(tarball).length)} copied into ${first}; visible in both mounts`);

          const spec = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
          spec.rootfs = IMAGE;
          const interval = (spec.checkpoint as { interval?: string } | undefined)?.interval;
          stepSay(
            `submitting examples/counter-container.json (a container counting 1, 2, 3 ... once a second; checkpoint every ${interval}), rootfs "${IMAGE}" ...`,
          );
          const id = (await unary(c, 'submitJob', { specJson: JSON.stringify(spec) })).id;
          const job = (): Promise<JobStatus__Output> => unary(c, 'getJob', { id });
          const running = await until('the job to run', 60_000, async () => {
            const j = await job();
            if (j.state === 'failed') throw new StdchkError('INTERNAL', `the job failed: ${j.error}`);
            return j.state === 'running' && j.worker ? j : undefined;
          });
          say(`   job ${id} running on ${running.worker}`);

          const logCounts = async (): Promise<number[]> => {
            const r = await run(STDCHK_BIN, [
              'logs',
              id,
              '--scheduler',
              grid.schedulerAddress,
              ...grid.credentialArgs('client'),
            ]);
            if (r.code !== 0) throw new StdchkError('INTERNAL', `stdchk logs failed: ${r.stderr.trim()}`);
            return countsOf(r.stdout);
          };
          const lastOf = (a: number[]) => a[a.length - 1] ?? 0;

          stepSay(
            'waiting for 2 complete checkpoints (runc checkpoint --leave-running into the storage) ...',
          );
          let seen = 0;
          const atTwo = await until(
            'two checkpoints',
            120_000,
            async () => {
              const j = await job();
              if (j.state !== 'running')
                throw new StdchkError('INTERNAL', `the job is ${j.state}: ${j.error}`);
              for (const ck of j.checkpoints) {
                if (ck.seq <= seen) continue;
                seen = ck.seq;
                say(
                  `   checkpoint ${ck.seq} complete on ${ck.worker}: ${formatSize(Number(ck.bytes))} (${formatSize(Number(ck.newBytes))} new) in ${ck.seconds.toFixed(2)} s; the log shows ${lastOf(await logCounts())}`,
                );
              }
              return j.checkpointsTaken >= 2 && j.worker === running.worker ? j : undefined;
            },
            250,
          );
          await sleep(1_500); // let it count on past its last checkpoint
          const victimIndex = workers.findIndex((w) => w.id === atTwo.worker);
          if (victimIndex < 0)
            throw new StdchkError('INTERNAL', `job runs on unknown worker ${atTwo.worker}`);
          const victim = workers[victimIndex]?.id as string;
          const other = workers[1 - victimIndex]?.id as string;

          const before = await job();
          const newest = before.checkpoints[before.checkpoints.length - 1]?.seq ?? 0;
          const countAtKill = lastOf(await logCounts());
          stepSay(
            `simulating the loss of ${victim}: kill -9 of the worker and its container (the log shows ${countAtKill}; newest complete checkpoint so far ${newest})`,
          );
          // Test-only: widen the window in which another checkpoint can complete before the kill.
          const killDelayMs = Number(process.env.STDCHK_TEST_DEMO_KILL_DELAY_MS ?? 0);
          if (killDelayMs > 0) await sleep(killDelayMs);
          await grid.killWorker(victimIndex);
          const tKill = Date.now();

          stepSay(`waiting for the scheduler to declare ${victim} lost and restore the job on ${other} ...`);
          const moved = await until(
            'the job restored on the other worker',
            90_000,
            async () => {
              const j = await job();
              if (j.state === 'failed') throw new StdchkError('INTERNAL', `the job failed: ${j.error}`);
              return j.restores.length > 0 && j.state === 'running' ? j : undefined;
            },
            250,
          );
          const r = moved.restores[0];
          if (!r) throw new StdchkError('INTERNAL', 'no restore recorded');
          say(
            `   restored on ${r.worker} from ${r.fromSeq > 0 ? `checkpoint ${r.fromSeq}` : 'the beginning'} ` +
              `${((Date.now() - tKill) / 1000).toFixed(1)} s after the kill (runc restore took ${r.seconds.toFixed(2)} s; reason: ${r.reason})`,
          );

          stepSay('reading `stdchk logs` as it counts on ...');
          const counts = await until(
            'the count to go on after the restore',
            60_000,
            async () => {
              const cs = await logCounts();
              const res = resumption(cs);
              const from = res?.resumedAt ?? countAtKill;
              return lastOf(cs) >= Math.max(from, countAtKill) + 3 ? cs : undefined;
            },
            1_000,
          );
          const res = resumption(counts);
          const ones = counts.filter((n) => n === 1).length;
          const problems: string[] = [];
          if (r.worker !== other) problems.push(`restored on ${r.worker}, not on ${other}`);
          // A checkpoint may complete between noting the newest and the kill: the
          // restore must use the newest the scheduler had from the lost worker.
          const newestAtLoss = Math.max(
            newest,
            ...moved.checkpoints.filter((ck) => ck.worker === victim).map((ck) => ck.seq),
          );
          if (r.fromSeq !== newestAtLoss)
            problems.push(
              `restored from checkpoint ${r.fromSeq}, not the newest complete one, ${newestAtLoss}`,
            );
          if (r.fromSeq < 1) problems.push('restored from the beginning');
          if (ones !== 1) problems.push('the count started from 1 again');
          if (res && (res.resumedAt > res.before || res.resumedAt <= 1))
            problems.push(`the count jumped from ${res.before} to ${res.resumedAt}`);
          const jumps = counts.filter((n, k) => k > 0 && n !== (counts[k - 1] as number) + 1).length;
          if (jumps > 1) problems.push(`the count broke ${jumps} times`);
          if (problems.length)
            throw new StdchkError('INTERNAL', `resume not verified: ${problems.join('; ')}`);
          say(
            res
              ? `   the first copy's output stops at ${res.before}; on ${r.worker} the count went on from ${res.resumedAt} (back to where checkpoint ${r.fromSeq} caught it) to ${lastOf(counts)}`
              : `   the count runs 1 .. ${lastOf(counts)} without a break: ${r.worker} went on exactly where the log had been saved`,
          );
          say(
            `   verified: job ${id} resumed on ${r.worker} from checkpoint ${r.fromSeq}, counting on (never from zero)`,
          );

          stepSay('cancelling the job and stopping the grid ...');
          await unary(c, 'cancelJob', { id }).catch(() => undefined);
        } finally {
          client?.close();
          stopping = true;
          await grid
            .stop()
            .catch((e: unknown) => process.stderr.write(`stdchk: stopping: ${errorMessage(e)}\n`));
          if (!opts.keep) rmSync(dir, { recursive: true, force: true });
          else say(`   kept ${dir} (logs in ${grid.logDir})`);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        say('grid demo finished: the job survived the loss of its worker');
      }),
    );
}
