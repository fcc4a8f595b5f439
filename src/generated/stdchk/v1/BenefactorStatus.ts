// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface BenefactorStatus {
  'id'?: (string);
  'host'?: (string);
  'address'?: (string);
  'alive'?: (boolean);
  'capacityBytes'?: (number | string | Long);
  'usedBytes'?: (number | string | Long);
  'freeBytes'?: (number | string | Long);
  'chunks'?: (number | string | Long);
  'lastHeartbeatMs'?: (number | string | Long);
}

export interface BenefactorStatus__Output {
  'id': (string);
  'host': (string);
  'address': (string);
  'alive': (boolean);
  'capacityBytes': (number);
  'usedBytes': (number);
  'freeBytes': (number);
  'chunks': (number);
  'lastHeartbeatMs': (number);
}
