import type { JobSpec } from '../jobs/spec.ts';
import type { IntervalChoice } from './interval.ts';

/**
 * Job lifecycle (a documented string union, as in temporalio's SDK):
 *
 *   queued ──place──> running ──exit 0──> done
 *     ^  └──place (has a complete checkpoint)──> restoring ──restored──> running
 *     |                                              │
 *     └──── worker lost / restore failed ────────────┘ (and from running)
 *   any non-final state ──cancel──> cancelled;  running ──exit != 0──> failed
 *
 * Checkpointing is an activity of a running job, not a state. Every placement
 * increments the job's epoch; only the worker holding the current epoch may
 * run it, checkpoint it or report on it (fencing).
 */
export type JobState = 'queued' | 'running' | 'restoring' | 'done' | 'failed' | 'cancelled';
export type JobActivity = '' | 'starting' | 'restoring' | 'checkpointing';

export const JOB_STATES: readonly JobState[] = [
  'queued',
  'running',
  'restoring',
  'done',
  'failed',
  'cancelled',
];
export const FINAL_STATES: ReadonlySet<JobState> = new Set(['done', 'failed', 'cancelled']);
/** States in which a worker holds the job. */
export const PLACED_STATES: ReadonlySet<JobState> = new Set(['running', 'restoring']);

export interface CheckpointRecord {
  seq: number;
  completedAtMs: number;
  seconds: number;
  bytes: number;
  newBytes: number;
  worker: string;
  epoch: number;
}

export interface PendingCheckpoint {
  seq: number;
  epoch: number;
  worker: string;
  beganAtMs: number;
}

export interface RestoreRecord {
  /** 0: restarted from the beginning. */
  fromSeq: number;
  worker: string;
  atMs: number;
  seconds: number;
  fromWorker: string;
  reason: string;
}

export interface JobRecord {
  id: string;
  spec: JobSpec;
  state: JobState;
  activity: JobActivity;
  /** The worker holding the job (placed states), or the last one that did. */
  worker: string;
  epoch: number;
  assignedAtMs: number;
  /** The checkpoint the current placement restores from (0: fresh start). */
  restoreSeq: number;
  /** Set while queued after its worker was lost: that worker may take it back at the same epoch. */
  lostFrom: string;
  /** Why the job was last put back in the queue. */
  requeueReason: string;
  /** The worker the job ran on before the current placement. */
  previousWorker: string;
  nextSeq: number;
  /** Complete checkpoints still kept, oldest first. */
  checkpoints: CheckpointRecord[];
  /** Checkpoints begun but not (yet) reported complete. */
  pending: PendingCheckpoint[];
  /** Checkpoint folders to delete from the storage. */
  toDelete: number[];
  /** Checkpoints a restore failed from; never tried again. */
  badSeqs: number[];
  checkpointsTaken: number;
  checkpointsDeleted: number;
  /** Measured checkpoint durations (seconds), the last few. */
  costs: number[];
  interval: IntervalChoice;
  restores: RestoreRecord[];
  exitCode?: number;
  error: string;
  lastCheckpointError: string;
  submittedAtMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  lastCheckpointAtMs: number;
  /** Failed starts and restores so far. */
  failedAttempts: number;
  /** When to delete the checkpoints of a finished job (0: not scheduled or done). */
  cleanupAtMs: number;
}

export interface WorkerRecord {
  id: string;
  host: string;
  slots: number;
  kinds: string[];
  incarnation: string;
  registeredAtMs: number;
  alive: boolean;
  /** In memory only: reset to the scheduler's start time on load. */
  lastSeenMs: number;
}

export interface GridRecord {
  /** Workers declared lost, ever. */
  failures: number;
  /** Total worker uptime seen, seconds. */
  workerSeconds: number;
}
