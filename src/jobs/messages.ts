import type { WorkerJobPhase as WirePhase } from '../generated/stdchk/v1/WorkerJobPhase.ts';
import type { WorkerJobPhase__Output as WirePhaseOut } from '../generated/stdchk/v1/WorkerJobPhase.ts';
import type { JobSpec } from './spec.ts';

/**
 * What a worker and the scheduler tell each other about a job (the
 * Scheduler service's worker calls, in domain types): the assignment, the
 * worker's reports, and the job's phase on its worker.
 */

/** A job the scheduler assigns to a worker, at an epoch (fencing). */
export interface Assignment {
  jobId: string;
  epoch: number;
  spec: JobSpec;
  /** The checkpoint to restore from; 0: start from the beginning. */
  restoreSeq: number;
  /** Checkpoint this often (0: never). */
  intervalSeconds: number;
  /** Newest complete checkpoint (the base for newBytes). */
  lastSeq: number;
}

/** How one checkpoint went. */
export interface CheckpointOutcome {
  seq: number;
  ok: boolean;
  error: string;
  seconds: number;
  bytes: number;
  /** Bytes in distinct 4 KiB pages the previous checkpoint did not hold. */
  newBytes: number;
}

/** How a job ended, or why it never ran. */
export interface ExitOutcome {
  exitCode: number;
  error: string;
  startFailed: boolean;
  /** The restore from `restoreSeq` failed: try an older checkpoint. */
  restoreFailed: boolean;
  restoreSeq: number;
}

/**
 * Where a job is on the worker holding it, as the worker reports it in every
 * heartbeat (and when it registers after a restart). The scheduler reads it
 * to notice a start it missed and to let a returning worker keep its jobs.
 */
export type WorkerJobPhase = 'starting' | 'restoring' | 'running' | 'checkpointing' | 'paused' | 'exited';

export const WORKER_JOB_PHASES: readonly WorkerJobPhase[] = [
  'starting',
  'restoring',
  'running',
  'checkpointing',
  'paused',
  'exited',
];

const TO_WIRE: Record<WorkerJobPhase, WirePhase & string> = {
  starting: 'WORKER_JOB_STARTING',
  restoring: 'WORKER_JOB_RESTORING',
  running: 'WORKER_JOB_RUNNING',
  checkpointing: 'WORKER_JOB_CHECKPOINTING',
  paused: 'WORKER_JOB_PAUSED',
  exited: 'WORKER_JOB_EXITED',
};

/** The report's wire fields: the enum, and the text for schedulers older than the enum. */
export function workerPhaseToWire(p: WorkerJobPhase): { jobPhase: WirePhase; phase: string } {
  return { jobPhase: TO_WIRE[p], phase: p };
}

/** The phase a report carries: the enum, else (a worker older than the enum) the text; undefined if neither is known. */
export function workerPhaseFromWire(
  jobPhase: WirePhaseOut | undefined,
  phase: string,
): WorkerJobPhase | undefined {
  for (const [k, v] of Object.entries(TO_WIRE)) if (v === jobPhase) return k as WorkerJobPhase;
  return (WORKER_JOB_PHASES as readonly string[]).includes(phase) ? (phase as WorkerJobPhase) : undefined;
}
