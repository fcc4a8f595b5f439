// Original file: proto/scheduler.proto

import type { WorkerJobPhase as _stdchk_v1_WorkerJobPhase, WorkerJobPhase__Output as _stdchk_v1_WorkerJobPhase__Output } from '../../stdchk/v1/WorkerJobPhase';
import type { Long } from '@grpc/proto-loader';

export interface WorkerJob {
  'jobId'?: (string);
  'epoch'?: (number | string | Long);
  'phase'?: (string);
  'exitCode'?: (number);
  'error'?: (string);
  'jobPhase'?: (_stdchk_v1_WorkerJobPhase);
}

export interface WorkerJob__Output {
  'jobId': (string);
  'epoch': (number);
  'phase': (string);
  'exitCode': (number);
  'error': (string);
  'jobPhase': (_stdchk_v1_WorkerJobPhase__Output);
}
