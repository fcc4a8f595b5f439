import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { WORKER_JOB_PHASES } from '../jobs/messages.ts';
import type { WorkerJobView } from '../workers/agent.ts';
import { DURATION_BUCKETS, gaugeFrom } from './index.ts';
import { checkpointFamilies } from './scheduler.ts';

export interface WorkerEvents {
  /** A checkpoint written (ok) or discarded, with its measures. */
  checkpointed(c: { ok: boolean; seconds: number; bytes: number; newBytes: number }): void;
  /** A job started (restoring: from a checkpoint) after `seconds`. */
  started(restoring: boolean, seconds: number): void;
}

export interface WorkerMetrics {
  events: WorkerEvents;
  attach(source: { jobs(): WorkerJobView[]; leaseValid(): boolean }): void;
}

/**
 * The worker's families: its jobs by phase, checkpoints taken (count, time,
 * size, new bytes), starts and restores with their durations, and whether
 * it holds its lease (the right to run jobs).
 */
export function workerMetrics(registry: Registry): WorkerMetrics {
  let source: { jobs(): WorkerJobView[]; leaseValid(): boolean } | undefined;
  gaugeFrom(
    registry,
    'stdchk_worker_jobs',
    'Jobs on this worker, by phase',
    () => {
      const counts = new Map<string, number>(WORKER_JOB_PHASES.map((p) => [p, 0]));
      for (const j of source?.jobs() ?? []) counts.set(j.phase, (counts.get(j.phase) ?? 0) + 1);
      return [...counts].map(([phase, n]) => [{ phase }, n]);
    },
    ['phase'],
  );
  gaugeFrom(
    registry,
    'stdchk_worker_lease_valid',
    '1 while the worker holds its lease from the scheduler (it may run jobs), else 0',
    () => (source?.leaseValid() ? 1 : 0),
  );
  const checkpoints = checkpointFamilies(registry, 'stdchk_worker', 'taken on this worker');
  const starts = new Counter({
    name: 'stdchk_worker_starts_total',
    help: 'Jobs started on this worker, by kind (start: fresh; restore: from a checkpoint)',
    labelNames: ['kind'],
    registers: [registry],
  });
  starts.inc({ kind: 'start' }, 0);
  starts.inc({ kind: 'restore' }, 0);
  const startSeconds = new Histogram({
    name: 'stdchk_worker_start_seconds',
    help: 'Time to start or restore a job, by kind',
    labelNames: ['kind'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  return {
    attach(s) {
      source = s;
    },
    events: {
      checkpointed: (c) => checkpoints.record(c.ok ? c : undefined),
      started(restoring, seconds) {
        const kind = restoring ? 'restore' : 'start';
        starts.inc({ kind });
        startSeconds.observe({ kind }, seconds);
      },
    },
  };
}
