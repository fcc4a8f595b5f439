// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface CheckpointInfo {
  'seq'?: (number | string | Long);
  'completedAtMs'?: (number | string | Long);
  'seconds'?: (number | string);
  'bytes'?: (number | string | Long);
  'newBytes'?: (number | string | Long);
  'worker'?: (string);
}

export interface CheckpointInfo__Output {
  'seq': (number);
  'completedAtMs': (number);
  'seconds': (number);
  'bytes': (number);
  'newBytes': (number);
  'worker': (string);
}
