// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface ReserveReply {
  'bytes'?: (number | string | Long);
  'availableBytes'?: (number | string | Long);
}

export interface ReserveReply__Output {
  'bytes': (number);
  'availableBytes': (number);
}
