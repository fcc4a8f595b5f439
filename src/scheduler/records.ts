import type { JobSpec } from '../jobs/spec.ts';
import type { IntervalChoice } from './interval.ts';
import type { JobActivity, JobPhase, JobState } from './lifecycle.ts';
import { activityOf, stateOf } from './lifecycle.ts';

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
  /** Where the job is in its lifecycle; changed only through `transition` (lifecycle.ts). */
  phase: JobPhase;
  /** The worker holding the job (placed phases), or the last one that did. */
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

/** A job just submitted: queued, nothing run, taken or kept yet. */
export function newJobRecord(
  id: string,
  spec: JobSpec,
  interval: IntervalChoice,
  submittedAtMs: number,
): JobRecord {
  return {
    id,
    spec,
    phase: 'queued',
    worker: '',
    epoch: 0,
    assignedAtMs: 0,
    restoreSeq: 0,
    lostFrom: '',
    requeueReason: '',
    previousWorker: '',
    nextSeq: 1,
    checkpoints: [],
    pending: [],
    toDelete: [],
    badSeqs: [],
    checkpointsTaken: 0,
    checkpointsDeleted: 0,
    costs: [],
    interval,
    restores: [],
    error: '',
    lastCheckpointError: '',
    submittedAtMs,
    startedAtMs: 0,
    finishedAtMs: 0,
    lastCheckpointAtMs: 0,
    failedAttempts: 0,
    cleanupAtMs: 0,
  };
}

/** A job as the scheduler shows it: the record plus the state and activity users see. */
export interface JobView extends Readonly<JobRecord> {
  readonly state: JobState;
  readonly activity: JobActivity;
}

export function viewOf(job: JobRecord): JobView {
  return { ...job, state: stateOf(job.phase), activity: activityOf(job.phase) };
}

export interface WorkerRecord {
  id: string;
  host: string;
  slots: number;
  kinds: string[];
  incarnation: string;
  registeredAtMs: number;
  alive: boolean;
  /**
   * Wall time of the last heartbeat, for people (`stdchk workers`); reset to
   * the scheduler's start on load. Timeouts are measured on the monotonic clock.
   */
  lastSeenMs: number;
}

export interface GridRecord {
  /** Workers declared lost, ever. */
  failures: number;
  /** Total worker uptime seen, seconds. */
  workerSeconds: number;
}
