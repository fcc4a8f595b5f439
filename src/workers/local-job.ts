import type { JobSpec } from '../jobs/spec.ts';
import type { Assignment, WorkerJobPhase } from '../jobs/messages.ts';
import { StdchkError } from '../errors/index.ts';
import type { JobInstance } from './runtime/types.ts';
import type { LogShipper } from './log-shipper.ts';

/**
 * A job on this worker, as one state machine:
 *
 *   starting | restoring ──up and reported──> running <──> checkpointing
 *        └──── failed to start / the job ended ────> exited ──reported──> gone
 *   any phase ──no longer ours (moved, fenced, cancelled, worker stopping)──> gone
 *
 * `gone` is final: every step still in flight for the job checks it and
 * stops. A job reaches `running` only once the scheduler knows it started,
 * so it is never checkpointed before that. Freezing a job whose lease ran
 * out is not a phase here: its monitor does it (runtime/monitor.ts), whatever
 * the agent is doing; the agent reports such a job as `paused`.
 */
export type LocalPhase = Exclude<WorkerJobPhase, 'paused'> | 'gone';

const TRANSITIONS: Readonly<Record<LocalPhase, readonly LocalPhase[]>> = {
  starting: ['running', 'exited', 'gone'],
  restoring: ['running', 'exited', 'gone'],
  running: ['checkpointing', 'exited', 'gone'],
  checkpointing: ['running', 'exited', 'gone'],
  exited: ['gone'],
  gone: [],
};

export interface JobExit {
  code: number;
  error: string;
  /** It never ran: the start failed. */
  startFailed: boolean;
  /** It never ran: the restore from `restoreSeq` failed. */
  restoreFailed: boolean;
}

export class LocalJob {
  readonly jobId: string;
  readonly epoch: number;
  readonly spec: JobSpec;
  readonly restoreSeq: number;
  /** Instance name, unique on this machine: `<job>.<epoch>`. */
  readonly name: string;
  /** Its local folder (instance state, local log, CRIU work files). */
  readonly dir: string;
  readonly shipper: LogShipper;
  intervalSeconds: number;
  /** Newest complete checkpoint known (the base for newBytes). */
  lastSeq: number;
  /** Monotonic time the last checkpoint ended (or the job started). */
  lastCheckpointEnd: number;
  /** Pages of the newest checkpoint this worker wrote, for newBytes. */
  lastPages?: { seq: number; pages: Map<string, number> };
  instance?: JobInstance;
  exit?: JobExit;
  private current: LocalPhase;

  /** `adopted`: an earlier life of the agent started it, and it runs. */
  constructor(a: Assignment, dir: string, shipper: LogShipper, now: number, adopted = false) {
    this.jobId = a.jobId;
    this.epoch = a.epoch;
    this.spec = a.spec;
    this.restoreSeq = a.restoreSeq;
    this.intervalSeconds = a.intervalSeconds;
    this.lastSeq = a.lastSeq;
    this.name = `${a.jobId}.${a.epoch}`;
    this.dir = dir;
    this.shipper = shipper;
    this.lastCheckpointEnd = now;
    this.current = adopted ? 'running' : a.restoreSeq > 0 ? 'restoring' : 'starting';
  }

  get phase(): LocalPhase {
    return this.current;
  }

  get gone(): boolean {
    return this.current === 'gone';
  }

  /**
   * Moves to `next`. From `gone` nothing moves (a step that finishes after
   * the job was dropped just stops): returns false. Any other move not in the
   * table is a bug and throws.
   */
  to(next: LocalPhase): boolean {
    if (this.current === 'gone') return false;
    if (this.current === next) return true;
    if (!TRANSITIONS[this.current].includes(next)) {
      throw new StdchkError('INTERNAL', `job ${this.name}: refused transition ${this.current} -> ${next}`);
    }
    this.current = next;
    return true;
  }

  /** Back to running after a checkpoint, unless something else happened to the job meanwhile. */
  checkpointDone(): void {
    if (this.current === 'checkpointing') this.current = 'running';
  }

  /** Ended: records how, unless it is already gone or its end already known. */
  ended(exit: JobExit): boolean {
    if (this.current === 'gone' || this.current === 'exited') return false;
    this.exit = exit;
    return this.to('exited');
  }
}
