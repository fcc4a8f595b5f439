import { StdchkError } from '../errors/index.ts';

/**
 * A job's lifecycle at the scheduler, in one place: one phase per job, the
 * transitions allowed between phases, and how a phase is shown to users.
 *
 *   queued ──place──> starting ──started──> running <──> checkpointing
 *     │  └──place (has a complete checkpoint)──> restoring ──restored──┘
 *     │       ^                 │          │         │
 *     │       └──── worker lost, restore failed, fenced (requeue) ─────┘
 *     └──(its lost worker comes back first)──> starting | restoring | running
 *   starting, restoring, running, checkpointing ──exit──> done | failed
 *   every phase but done, failed, cancelled ──cancel──> cancelled
 *
 * Every placement increments the job's epoch; only the worker holding the
 * current epoch may run it, checkpoint it or report on it (fencing).
 *
 * Users see two fields, kept as they always were (`stdchk job --json`):
 * `state` (queued, running, restoring, done, failed, cancelled) and
 * `activity` ("", starting, restoring, checkpointing). Both are derived from
 * the phase (`stateOf`, `activityOf`), never stored.
 */
export type JobPhase =
  'queued' | 'starting' | 'restoring' | 'running' | 'checkpointing' | 'done' | 'failed' | 'cancelled';

export const JOB_PHASES: readonly JobPhase[] = [
  'queued',
  'starting',
  'restoring',
  'running',
  'checkpointing',
  'done',
  'failed',
  'cancelled',
];

/** What users see as a job's state. */
export type JobState = 'queued' | 'running' | 'restoring' | 'done' | 'failed' | 'cancelled';
/** What users see a placed job doing. */
export type JobActivity = '' | 'starting' | 'restoring' | 'checkpointing';

export const JOB_STATES: readonly JobState[] = [
  'queued',
  'running',
  'restoring',
  'done',
  'failed',
  'cancelled',
];

const PLACED_ON_EXIT: readonly JobPhase[] = ['queued', 'done', 'failed', 'cancelled'];

/**
 * The allowed transitions, written down. A transition to the phase a job is
 * already in is no change and always allowed.
 */
export const TRANSITIONS: Readonly<Record<JobPhase, readonly JobPhase[]>> = {
  // placed on a worker; or kept by its lost worker, which came back before the job moved
  queued: ['starting', 'restoring', 'running', 'cancelled'],
  starting: ['running', ...PLACED_ON_EXIT],
  restoring: ['running', ...PLACED_ON_EXIT],
  running: ['checkpointing', ...PLACED_ON_EXIT],
  checkpointing: ['running', ...PLACED_ON_EXIT],
  done: [],
  failed: [],
  cancelled: [],
};

export const FINAL_PHASES: ReadonlySet<JobPhase> = new Set(['done', 'failed', 'cancelled']);
/** Phases in which a worker holds the job. */
export const PLACED_PHASES: ReadonlySet<JobPhase> = new Set([
  'starting',
  'restoring',
  'running',
  'checkpointing',
]);

export function canTransition(from: JobPhase, to: JobPhase): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

/**
 * The one way a job's phase changes: returns `to`, or throws (INTERNAL: a
 * refused transition is a bug in the scheduler, not a bad request) when the
 * table does not allow it.
 */
export function transition(job: { id: string; phase: JobPhase }, to: JobPhase): JobPhase {
  if (!canTransition(job.phase, to)) {
    throw new StdchkError('INTERNAL', `job ${job.id}: refused transition ${job.phase} -> ${to}`, {
      retryable: false,
    });
  }
  job.phase = to;
  return to;
}

export function isFinal(phase: JobPhase): boolean {
  return FINAL_PHASES.has(phase);
}

export function isPlaced(phase: JobPhase): boolean {
  return PLACED_PHASES.has(phase);
}

export function stateOf(phase: JobPhase): JobState {
  switch (phase) {
    case 'starting':
    case 'checkpointing':
      return 'running';
    default:
      return phase;
  }
}

export function activityOf(phase: JobPhase): JobActivity {
  switch (phase) {
    case 'starting':
    case 'restoring':
    case 'checkpointing':
      return phase;
    default:
      return '';
  }
}

/** The phase of a record saved before phases existed (it had `state` and `activity`). */
export function phaseFrom(state: string, activity: string): JobPhase {
  if (state === 'running' && (activity === 'starting' || activity === 'checkpointing')) return activity;
  if (state === 'running' && activity === 'restoring') return 'restoring';
  if ((JOB_STATES as readonly string[]).includes(state)) return state as JobState;
  throw new StdchkError('CORRUPT', `scheduler database: unknown job state ${JSON.stringify(state)}`, {
    retryable: false,
  });
}
