// Original file: proto/scheduler.proto

import type { CheckpointInfo as _stdchk_v1_CheckpointInfo, CheckpointInfo__Output as _stdchk_v1_CheckpointInfo__Output } from '../../stdchk/v1/CheckpointInfo';
import type { RestoreInfo as _stdchk_v1_RestoreInfo, RestoreInfo__Output as _stdchk_v1_RestoreInfo__Output } from '../../stdchk/v1/RestoreInfo';
import type { IntervalInfo as _stdchk_v1_IntervalInfo, IntervalInfo__Output as _stdchk_v1_IntervalInfo__Output } from '../../stdchk/v1/IntervalInfo';
import type { JobState as _stdchk_v1_JobState, JobState__Output as _stdchk_v1_JobState__Output } from '../../stdchk/v1/JobState';
import type { JobActivity as _stdchk_v1_JobActivity, JobActivity__Output as _stdchk_v1_JobActivity__Output } from '../../stdchk/v1/JobActivity';
import type { Long } from '@grpc/proto-loader';

export interface JobStatus {
  'id'?: (string);
  'name'?: (string);
  'kind'?: (string);
  'state'?: (string);
  'activity'?: (string);
  'worker'?: (string);
  'epoch'?: (number | string | Long);
  'checkpoints'?: (_stdchk_v1_CheckpointInfo)[];
  'restores'?: (_stdchk_v1_RestoreInfo)[];
  'exitCode'?: (number);
  'interval'?: (_stdchk_v1_IntervalInfo | null);
  'error'?: (string);
  'submittedAtMs'?: (number | string | Long);
  'startedAtMs'?: (number | string | Long);
  'finishedAtMs'?: (number | string | Long);
  'specJson'?: (string);
  'checkpointsTaken'?: (number | string | Long);
  'checkpointsDeleted'?: (number | string | Long);
  'keep'?: (number);
  'lastCheckpointAtMs'?: (number | string | Long);
  'lastCheckpointError'?: (string);
  'jobState'?: (_stdchk_v1_JobState);
  'jobActivity'?: (_stdchk_v1_JobActivity);
  '_exitCode'?: "exitCode";
}

export interface JobStatus__Output {
  'id': (string);
  'name': (string);
  'kind': (string);
  'state': (string);
  'activity': (string);
  'worker': (string);
  'epoch': (number);
  'checkpoints': (_stdchk_v1_CheckpointInfo__Output)[];
  'restores': (_stdchk_v1_RestoreInfo__Output)[];
  'exitCode'?: (number);
  'interval': (_stdchk_v1_IntervalInfo__Output | null);
  'error': (string);
  'submittedAtMs': (number);
  'startedAtMs': (number);
  'finishedAtMs': (number);
  'specJson': (string);
  'checkpointsTaken': (number);
  'checkpointsDeleted': (number);
  'keep': (number);
  'lastCheckpointAtMs': (number);
  'lastCheckpointError': (string);
  'jobState': (_stdchk_v1_JobState__Output);
  'jobActivity': (_stdchk_v1_JobActivity__Output);
  '_exitCode'?: "exitCode";
}
