// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface ReportCheckpointRequest {
  'workerId'?: (string);
  'jobId'?: (string);
  'epoch'?: (number | string | Long);
  'seq'?: (number | string | Long);
  'ok'?: (boolean);
  'error'?: (string);
  'seconds'?: (number | string);
  'bytes'?: (number | string | Long);
  'newBytes'?: (number | string | Long);
}

export interface ReportCheckpointRequest__Output {
  'workerId': (string);
  'jobId': (string);
  'epoch': (number);
  'seq': (number);
  'ok': (boolean);
  'error': (string);
  'seconds': (number);
  'bytes': (number);
  'newBytes': (number);
}
