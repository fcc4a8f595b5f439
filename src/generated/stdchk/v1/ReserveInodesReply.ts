// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface ReserveInodesReply {
  'first'?: (number | string | Long);
  'count'?: (number);
}

export interface ReserveInodesReply__Output {
  'first': (number);
  'count': (number);
}
