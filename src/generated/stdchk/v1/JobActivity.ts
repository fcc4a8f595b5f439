// Original file: proto/scheduler.proto

export const JobActivity = {
  JOB_ACTIVITY_NONE: 'JOB_ACTIVITY_NONE',
  JOB_ACTIVITY_STARTING: 'JOB_ACTIVITY_STARTING',
  JOB_ACTIVITY_RESTORING: 'JOB_ACTIVITY_RESTORING',
  JOB_ACTIVITY_CHECKPOINTING: 'JOB_ACTIVITY_CHECKPOINTING',
} as const;

export type JobActivity =
  | 'JOB_ACTIVITY_NONE'
  | 0
  | 'JOB_ACTIVITY_STARTING'
  | 1
  | 'JOB_ACTIVITY_RESTORING'
  | 2
  | 'JOB_ACTIVITY_CHECKPOINTING'
  | 3

export type JobActivity__Output = typeof JobActivity[keyof typeof JobActivity]
