// Original file: proto/scheduler.proto

import type { WorkerInfo as _stdchk_v1_WorkerInfo, WorkerInfo__Output as _stdchk_v1_WorkerInfo__Output } from '../../stdchk/v1/WorkerInfo';
import type { Long } from '@grpc/proto-loader';

export interface ListWorkersReply {
  'workers'?: (_stdchk_v1_WorkerInfo)[];
  'workerFailures'?: (number | string | Long);
  'workerSeconds'?: (number | string);
}

export interface ListWorkersReply__Output {
  'workers': (_stdchk_v1_WorkerInfo__Output)[];
  'workerFailures': (number);
  'workerSeconds': (number);
}
