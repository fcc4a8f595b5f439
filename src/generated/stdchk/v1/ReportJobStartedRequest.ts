// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface ReportJobStartedRequest {
  'workerId'?: (string);
  'jobId'?: (string);
  'epoch'?: (number | string | Long);
  'restoredFromSeq'?: (number | string | Long);
  'seconds'?: (number | string);
}

export interface ReportJobStartedRequest__Output {
  'workerId': (string);
  'jobId': (string);
  'epoch': (number);
  'restoredFromSeq': (number);
  'seconds': (number);
}
