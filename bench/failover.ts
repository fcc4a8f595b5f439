import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalGrid } from '../src/grid/local-grid.ts';
import { StdchkError } from '../src/errors/index.ts';
import { connectScheduler, unary } from '../src/rpc/index.ts';
import type { SchedulerClient } from '../src/rpc/index.ts';
import type { JobStatus__Output } from '../src/generated/stdchk/v1/JobStatus.ts';
import { ROOT, run, tempDir, until } from './lib/proc.ts';
import { Steps, finishReport, lineChart, newReport, ratio, renderSvg } from './lib/report.ts';
import type { BenchReport, Cell } from './lib/report.ts';

export interface FailoverBenchOptions {
  /** Checkpoint intervals to measure, in seconds. */
  intervals: number[];
  /** Worker losses per interval. */
  trials: number;
  /** The scheduler declares a worker lost after this much silence. */
  heartbeatTimeoutSeconds: number;
  /** Where between two checkpoints the worker is killed: 0 = just after one completes, 1 = just before the next starts. */
  phase: number;
  kind: 'container' | 'process';
  dir?: string | undefined;
}

export const FAILOVER_DEFAULTS: FailoverBenchOptions = {
  intervals: [2, 5, 10],
  trials: 1,
  heartbeatTimeoutSeconds: 4,
  phase: 0.5,
  kind: 'container',
};

export interface FailoverRow {
  intervalSeconds: number;
  trial: number;
  /** kill -9 of the worker (and its job) until the scheduler reports the job running on another worker. */
  recoverySeconds: number;
  /** kill -9 until the restored job's first new line of output. */
  firstOutputSeconds: number;
  /** How long `runc restore` / `criu restore` took on the new worker (part of recoverySeconds). */
  restoreSeconds: number;
  fromSeq: number;
  /** Output the job had produced past the checkpoint it resumed from, and will redo: in seconds of its run. */
  workLostSeconds: number;
  /** The same with no checkpoint (a restart from the beginning): the job's whole run until the kill. */
  restartLostSeconds: number;
  /** The newest checkpoint before the kill: its duration and size. */
  checkpointSeconds: number;
  checkpointBytes: number;
  fromWorker: string;
  toWorker: string;
}

const TICK_SCRIPT = 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done';

function countsIn(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
}

export async function runFailoverBench(opts: FailoverBenchOptions): Promise<BenchReport> {
  const report = newReport('failover', {
    intervals: opts.intervals,
    trials: opts.trials,
    heartbeatTimeoutSeconds: opts.heartbeatTimeoutSeconds,
    phase: opts.phase,
    kind: opts.kind,
    workers: 2,
    job: `${opts.kind} counting once every ~0.1 s: ${TICK_SCRIPT}`,
  });
  const steps = new Steps('failover', 1 + opts.intervals.length * opts.trials);
  const dir = tempDir(opts.dir, 'stdchk-bench-failover-');
  // Containers' root (mapped to an unprivileged host uid) must pass through it to the workers' rootfs cache.
  chmodSync(dir, 0o711);
  const grid = new LocalGrid({ dir: path.join(dir, 'grid'), benefactors: 3 });
  const rows: FailoverRow[] = [];
  let client: SchedulerClient | undefined;
  try {
    steps.next(`starting the grid: manager, 3 benefactors, scheduler, 2 workers with their own mounts`);
    await grid.start();
    await grid.startScheduler(['--heartbeat-timeout', `${opts.heartbeatTimeoutSeconds * 1000}ms`]);
    await grid.startWorker(0);
    await grid.startWorker(1);
    await grid.waitForWorkers(['worker-0', 'worker-1']);
    client = connectScheduler(grid.schedulerAddress, grid.credentials());
    const c = client;
    let rootfs: string | undefined;
    if (opts.kind === 'container') {
      const tarball = path.join(dir, 'busybox.tar');
      const built = await run(path.join(ROOT, 'scripts/make-busybox-rootfs.sh'), [tarball]);
      if (built.code !== 0)
        throw new StdchkError('INTERNAL', `building the rootfs failed: ${built.stderr.trim()}`);
      const first = grid.workers[0]?.mount.mountpoint as string;
      mkdirSync(path.join(first, 'images'), { recursive: true });
      copyFileSync(tarball, path.join(first, 'images/busybox.tar'));
      await until('the image visible in both mounts', 60_000, () =>
        grid.workers.every((w) => !!w && existsSync(path.join(w.mount.mountpoint, 'images/busybox.tar'))),
      );
      rootfs = 'images/busybox.tar';
    }
    const workerIndex = (id: string) => grid.workers.findIndex((w) => w?.id === id);
    const localLog = (job: JobStatus__Output) => {
      const w = grid.workers[workerIndex(job.worker)];
      if (!w) throw new StdchkError('INTERNAL', `job ${job.id} is on unknown worker ${job.worker}`);
      return path.join(w.workDir, 'instances', `${job.id}.${job.epoch}`, 'output.log');
    };

    for (const interval of opts.intervals) {
      for (let trial = 0; trial < opts.trials; trial++) {
        steps.next(`checkpoint interval ${interval} s${opts.trials > 1 ? `, trial ${trial + 1}` : ''}`);
        const spec = {
          name: `failover-${interval}s`,
          kind: opts.kind,
          ...(rootfs ? { rootfs } : {}),
          args: ['sh', '-c', TICK_SCRIPT],
          env: {},
          checkpoint: { interval: `${interval}s`, keep: 2 },
        };
        const id = (await unary(c, 'submitJob', { specJson: JSON.stringify(spec) })).id;
        const job = () => unary(c, 'getJob', { id });
        try {
          const started = await until('the job to run', 120_000, async () => {
            const j = await job();
            if (j.state === 'failed') throw new StdchkError('INTERNAL', `the job failed: ${j.error}`);
            return j.state === 'running' && j.worker ? j : undefined;
          });
          // Steady state: two checkpoints done; then kill at `phase` of the way to the next one.
          const steady = await until(
            'two checkpoints',
            120_000 + 3 * interval * 1000,
            async () => {
              const j = await job();
              if (j.state !== 'running' || j.worker !== started.worker)
                throw new StdchkError('INTERNAL', `the job left running: ${j.state} ${j.error}`);
              return j.checkpointsTaken >= 2 && !j.activity ? j : undefined;
            },
            50,
          );
          const log0 = localLog(steady);
          const mark0 = { at: Date.now(), count: countsIn(log0).at(-1) ?? 0 };
          const killAt = Number(steady.lastCheckpointAtMs) + opts.phase * interval * 1000;
          await sleep(Math.max(0, killAt - Date.now()));
          const before = await job();
          const newest = before.checkpoints[before.checkpoints.length - 1];
          const victim = workerIndex(before.worker);
          const killedAt = Date.now();
          await grid.killWorker(victim);
          const countAtKill = countsIn(log0).at(-1) ?? 0;
          const tick = (killedAt - mark0.at) / Math.max(1, countAtKill - mark0.count);

          const moved = await until(
            'the job running on the other worker',
            120_000 + opts.heartbeatTimeoutSeconds * 3000,
            async () => {
              const j = await job();
              if (j.state === 'failed') throw new StdchkError('INTERNAL', `the job failed: ${j.error}`);
              return j.restores.length > 0 && j.state === 'running' ? j : undefined;
            },
            50,
          );
          const r = moved.restores[moved.restores.length - 1]!;
          const log1 = localLog(moved);
          const firstOutputAt = await until(
            'the restored job to print',
            60_000,
            () => (countsIn(log1).length > 0 ? Date.now() : undefined),
            20,
          );
          const resumedAt = countsIn(log1)[0] ?? 1;
          rows.push({
            intervalSeconds: interval,
            trial,
            recoverySeconds: (Number(r.atMs) - killedAt) / 1000,
            firstOutputSeconds: (firstOutputAt - killedAt) / 1000,
            restoreSeconds: r.seconds,
            fromSeq: Number(r.fromSeq),
            workLostSeconds: (Math.max(0, countAtKill - (resumedAt - 1)) * tick) / 1000,
            restartLostSeconds: (countAtKill * tick) / 1000,
            checkpointSeconds: newest?.seconds ?? 0,
            checkpointBytes: Number(newest?.bytes ?? 0),
            fromWorker: before.worker,
            toWorker: r.worker,
          });
          const last = rows[rows.length - 1]!;
          steps.say(
            `  running again on ${r.worker} ${last.recoverySeconds.toFixed(1)} s after the kill (restore ${r.seconds.toFixed(2)} s), ` +
              `from checkpoint ${r.fromSeq}; work lost ${last.workLostSeconds.toFixed(1)} s`,
          );
          // Back to two workers for the next round.
          await unary(c, 'cancelJob', { id }).catch(() => undefined);
          await grid.startWorker(victim);
          await grid.waitForWorkers(['worker-0', 'worker-1'], 60_000);
        } finally {
          await unary(c, 'cancelJob', { id }).catch(() => undefined);
        }
      }
    }
  } finally {
    client?.close();
    await grid.stop();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  }

  report.results.rows = rows;
  const hb = opts.heartbeatTimeoutSeconds;
  report.tables.push({
    title: `failover: kill -9 of the worker running a ${opts.kind} job (and the job), heartbeat timeout ${hb} s, killed ${opts.phase} of the way between checkpoints; work lost vs a restart from the beginning`,
    columns: [
      'interval s',
      'trial',
      'to running s',
      'to output s',
      'restore s',
      'from seq',
      'work lost s',
      'lost / interval',
      'restart would lose s',
      'checkpoint s',
    ],
    rows: rows.map((r): Cell[] => [
      r.intervalSeconds,
      r.trial + 1,
      r.recoverySeconds,
      r.firstOutputSeconds,
      r.restoreSeconds,
      r.fromSeq,
      r.workLostSeconds,
      ratio(r.workLostSeconds, r.intervalSeconds),
      r.restartLostSeconds,
      r.checkpointSeconds,
    ]),
  });
  for (const interval of opts.intervals) {
    const rs = rows.filter((r) => r.intervalSeconds === interval);
    if (!rs.length) continue;
    const mean = (f: (r: FailoverRow) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
    report.ratios[`i${interval}s_work_lost_vs_interval`] = mean((r) => r.workLostSeconds) / interval;
    report.ratios[`i${interval}s_work_lost_vs_restart`] = mean(
      (r) => r.workLostSeconds / Math.max(r.restartLostSeconds, 1e-9),
    );
    report.ratios[`i${interval}s_recovery_vs_heartbeat_timeout`] = mean((r) => r.recoverySeconds) / hb;
  }
  report.notes.push(
    'the baseline of a failover is the heartbeat timeout (detection) and a restart from the beginning (no checkpoint: all work lost)',
    `work lost = output past the checkpoint resumed from, converted to seconds with the job's measured rate`,
  );
  return finishReport(report);
}

export function failoverChart(report: BenchReport): string {
  const rows = (report.results.rows ?? []) as FailoverRow[];
  const mean = (interval: number, f: (r: FailoverRow) => number) => {
    const rs = rows.filter((r) => r.intervalSeconds === interval);
    return rs.reduce((a, r) => a + f(r), 0) / Math.max(1, rs.length);
  };
  const intervals = [...new Set(rows.map((r) => r.intervalSeconds))].sort((a, b) => a - b);
  const series = (name: string, f: (r: FailoverRow) => number) => ({
    name,
    points: intervals.map((i): [number, number] => [i, mean(i, f)]),
  });
  const hb = Number(report.params.heartbeatTimeoutSeconds ?? 0);
  return renderSvg([
    lineChart({
      title: 'failover against the checkpoint interval',
      xLabel: 'checkpoint interval (s)',
      yLabel: 'seconds',
      series: [
        series('kill to running elsewhere', (r) => r.recoverySeconds),
        series('kill to first new output', (r) => r.firstOutputSeconds),
        series('work lost', (r) => r.workLostSeconds),
        { name: `heartbeat timeout (${hb} s)`, points: intervals.map((i): [number, number] => [i, hb]) },
      ],
    }),
  ]);
}
