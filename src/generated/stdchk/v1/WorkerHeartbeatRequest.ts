// Original file: proto/scheduler.proto

import type { WorkerJob as _stdchk_v1_WorkerJob, WorkerJob__Output as _stdchk_v1_WorkerJob__Output } from '../../stdchk/v1/WorkerJob';

export interface WorkerHeartbeatRequest {
  'workerId'?: (string);
  'incarnation'?: (string);
  'jobs'?: (_stdchk_v1_WorkerJob)[];
}

export interface WorkerHeartbeatRequest__Output {
  'workerId': (string);
  'incarnation': (string);
  'jobs': (_stdchk_v1_WorkerJob__Output)[];
}
