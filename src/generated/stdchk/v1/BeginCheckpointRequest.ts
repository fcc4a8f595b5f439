// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface BeginCheckpointRequest {
  'workerId'?: (string);
  'jobId'?: (string);
  'epoch'?: (number | string | Long);
}

export interface BeginCheckpointRequest__Output {
  'workerId': (string);
  'jobId': (string);
  'epoch': (number);
}
