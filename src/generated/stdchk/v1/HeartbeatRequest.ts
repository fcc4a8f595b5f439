// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatRequest {
  'id'?: (string);
  'capacityBytes'?: (number | string | Long);
  'usedBytes'?: (number | string | Long);
  'freeBytes'?: (number | string | Long);
  'chunks'?: (number | string | Long);
  'corruptHashes'?: (Buffer | Uint8Array | string);
}

export interface HeartbeatRequest__Output {
  'id': (string);
  'capacityBytes': (number);
  'usedBytes': (number);
  'freeBytes': (number);
  'chunks': (number);
  'corruptHashes': (Buffer);
}
