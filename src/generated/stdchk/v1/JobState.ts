// Original file: proto/scheduler.proto

export const JobState = {
  JOB_STATE_UNSPECIFIED: 'JOB_STATE_UNSPECIFIED',
  JOB_STATE_QUEUED: 'JOB_STATE_QUEUED',
  JOB_STATE_RUNNING: 'JOB_STATE_RUNNING',
  JOB_STATE_RESTORING: 'JOB_STATE_RESTORING',
  JOB_STATE_DONE: 'JOB_STATE_DONE',
  JOB_STATE_FAILED: 'JOB_STATE_FAILED',
  JOB_STATE_CANCELLED: 'JOB_STATE_CANCELLED',
} as const;

export type JobState =
  | 'JOB_STATE_UNSPECIFIED'
  | 0
  | 'JOB_STATE_QUEUED'
  | 1
  | 'JOB_STATE_RUNNING'
  | 2
  | 'JOB_STATE_RESTORING'
  | 3
  | 'JOB_STATE_DONE'
  | 4
  | 'JOB_STATE_FAILED'
  | 5
  | 'JOB_STATE_CANCELLED'
  | 6

export type JobState__Output = typeof JobState[keyof typeof JobState]
