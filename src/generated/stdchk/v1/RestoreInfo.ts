// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface RestoreInfo {
  'fromSeq'?: (number | string | Long);
  'worker'?: (string);
  'atMs'?: (number | string | Long);
  'seconds'?: (number | string);
  'fromWorker'?: (string);
  'reason'?: (string);
}

export interface RestoreInfo__Output {
  'fromSeq': (number);
  'worker': (string);
  'atMs': (number);
  'seconds': (number);
  'fromWorker': (string);
  'reason': (string);
}
