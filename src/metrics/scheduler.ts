import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Scheduler, SchedulerEvents } from '../scheduler/scheduler.ts';
import { JOB_STATES } from '../scheduler/lifecycle.ts';
import { DURATION_BUCKETS, SIZE_BUCKETS, gaugeFrom, rpcMetrics } from './index.ts';
import type { RpcObserver } from './index.ts';

export interface SchedulerMetrics {
  observeRpc: RpcObserver;
  events: SchedulerEvents;
  attach(scheduler: Scheduler): void;
}

/** Checkpoint families shared by the scheduler (as reported) and the worker (as taken). */
export function checkpointFamilies(registry: Registry, prefix: string, who: string) {
  const taken = new Counter({
    name: `${prefix}_checkpoints_total`,
    help: `Checkpoints ${who}, by result (ok: complete; failed: discarded, the job kept running)`,
    labelNames: ['result'],
    registers: [registry],
  });
  taken.inc({ result: 'ok' }, 0);
  taken.inc({ result: 'failed' }, 0);
  const seconds = new Histogram({
    name: `${prefix}_checkpoint_seconds`,
    help: `Time of each complete checkpoint ${who}: dump, barrier (durable on every replica) and marker`,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const size = new Histogram({
    name: `${prefix}_checkpoint_size_bytes`,
    help: `Size of each complete checkpoint ${who} (every file of the image)`,
    buckets: SIZE_BUCKETS,
    registers: [registry],
  });
  const fresh = new Histogram({
    name: `${prefix}_checkpoint_new_bytes`,
    help: `Bytes of each complete checkpoint ${who} that were new since the job's previous one (memory pages)`,
    buckets: SIZE_BUCKETS,
    registers: [registry],
  });
  return {
    record(c: { seconds: number; bytes: number; newBytes: number } | undefined) {
      if (!c) {
        taken.inc({ result: 'failed' });
        return;
      }
      taken.inc({ result: 'ok' });
      seconds.observe(c.seconds);
      size.observe(c.bytes);
      fresh.observe(c.newBytes);
    },
  };
}

/**
 * The scheduler's families: jobs by state, workers alive and lost,
 * checkpoints (count, time, size, new bytes), restores and failovers with
 * their durations, RPC latency.
 */
export function schedulerMetrics(
  registry: Registry,
  /** Monotonic milliseconds for failover durations (the scheduler's own clock in tests). */
  clockMs: () => number = () => performance.now(),
): SchedulerMetrics {
  let scheduler: Scheduler | undefined;
  gaugeFrom(
    registry,
    'stdchk_scheduler_jobs',
    'Jobs by state (finished jobs stay counted as done, failed or cancelled)',
    () => {
      const counts = new Map<string, number>(JOB_STATES.map((s) => [s, 0]));
      for (const j of scheduler?.list() ?? []) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
      return [...counts].map(([state, n]) => [{ state }, n]);
    },
    ['state'],
  );
  gaugeFrom(
    registry,
    'stdchk_scheduler_workers',
    'Registered workers, by state (alive: heartbeating; lost: silent past the heartbeat timeout)',
    () => {
      const ws = scheduler?.listWorkers().workers ?? [];
      const alive = ws.filter((w) => w.alive).length;
      return [
        [{ state: 'alive' }, alive],
        [{ state: 'lost' }, ws.length - alive],
      ];
    },
    ['state'],
  );
  gaugeFrom(
    registry,
    'stdchk_scheduler_worker_failures',
    'Workers declared lost, ever (kept across scheduler restarts; the MTBF of automatic intervals)',
    () => scheduler?.listWorkers().grid.failures ?? 0,
  );
  const checkpoints = checkpointFamilies(registry, 'stdchk_scheduler', 'reported by workers');
  const restores = new Counter({
    name: 'stdchk_scheduler_restores_total',
    help: 'Jobs started again after running elsewhere, by kind (restore: from a checkpoint; restart: from the beginning, none was usable)',
    labelNames: ['kind'],
    registers: [registry],
  });
  restores.inc({ kind: 'restore' }, 0);
  restores.inc({ kind: 'restart' }, 0);
  const restoreSeconds = new Histogram({
    name: 'stdchk_scheduler_restore_seconds',
    help: 'Time a worker took to restore (or restart) a job, as it reported',
    labelNames: ['kind'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const failovers = new Counter({
    name: 'stdchk_scheduler_failovers_total',
    help: 'Jobs moved off a worker declared lost',
    registers: [registry],
  });
  const failoverSeconds = new Histogram({
    name: 'stdchk_scheduler_failover_seconds',
    help: 'From a worker declared lost to its job running again elsewhere',
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  /** Jobs moved off a lost worker, and when (clockMs). */
  const movedAt = new Map<string, number>();
  return {
    observeRpc: rpcMetrics(registry),
    attach(s) {
      scheduler = s;
    },
    events: {
      checkpointed: (_job, c) => checkpoints.record(c),
      requeued(job, lost) {
        if (!lost) return;
        failovers.inc();
        movedAt.set(job.id, clockMs());
      },
      started(job, restore) {
        const at = movedAt.get(job.id);
        movedAt.delete(job.id);
        if (restore) {
          const kind = restore.fromSeq > 0 ? 'restore' : 'restart';
          restores.inc({ kind });
          restoreSeconds.observe({ kind }, restore.seconds);
        }
        if (at !== undefined) failoverSeconds.observe((clockMs() - at) / 1000);
      },
    },
  };
}
