// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface ReportJobExitRequest {
  'workerId'?: (string);
  'jobId'?: (string);
  'epoch'?: (number | string | Long);
  'exitCode'?: (number);
  'error'?: (string);
  'startFailed'?: (boolean);
  'restoreFailed'?: (boolean);
  'restoreSeq'?: (number | string | Long);
}

export interface ReportJobExitRequest__Output {
  'workerId': (string);
  'jobId': (string);
  'epoch': (number);
  'exitCode': (number);
  'error': (string);
  'startFailed': (boolean);
  'restoreFailed': (boolean);
  'restoreSeq': (number);
}
