// Original file: proto/scheduler.proto

import type { WorkerJob as _stdchk_v1_WorkerJob, WorkerJob__Output as _stdchk_v1_WorkerJob__Output } from '../../stdchk/v1/WorkerJob';

export interface RegisterWorkerRequest {
  'workerId'?: (string);
  'incarnation'?: (string);
  'host'?: (string);
  'slots'?: (number);
  'kinds'?: (string)[];
  'jobs'?: (_stdchk_v1_WorkerJob)[];
}

export interface RegisterWorkerRequest__Output {
  'workerId': (string);
  'incarnation': (string);
  'host': (string);
  'slots': (number);
  'kinds': (string)[];
  'jobs': (_stdchk_v1_WorkerJob__Output)[];
}
