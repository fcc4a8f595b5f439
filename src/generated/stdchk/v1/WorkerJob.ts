// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface WorkerJob {
  'jobId'?: (string);
  'epoch'?: (number | string | Long);
  'phase'?: (string);
  'exitCode'?: (number);
  'error'?: (string);
}

export interface WorkerJob__Output {
  'jobId': (string);
  'epoch': (number);
  'phase': (string);
  'exitCode': (number);
  'error': (string);
}
