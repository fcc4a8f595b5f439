// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface BeginCheckpointReply {
  'seq'?: (number | string | Long);
}

export interface BeginCheckpointReply__Output {
  'seq': (number);
}
