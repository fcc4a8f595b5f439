// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface RegisterReply {
  'heartbeatIntervalMs'?: (number | string | Long);
  'sendInventory'?: (boolean);
}

export interface RegisterReply__Output {
  'heartbeatIntervalMs': (number);
  'sendInventory': (boolean);
}
