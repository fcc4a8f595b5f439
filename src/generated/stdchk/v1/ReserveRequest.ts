// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface ReserveRequest {
  'reservationId'?: (string);
  'bytes'?: (number | string | Long);
  'replicas'?: (number);
  'ttlMs'?: (number | string | Long);
  'batchBytes'?: (number | string | Long);
}

export interface ReserveRequest__Output {
  'reservationId': (string);
  'bytes': (number);
  'replicas': (number);
  'ttlMs': (number);
  'batchBytes': (number);
}
