// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface StoredReplica {
  'benefactorId'?: (string);
  'refs'?: (Buffer | Uint8Array | string);
  'stamp'?: (number | string | Long);
}

export interface StoredReplica__Output {
  'benefactorId': (string);
  'refs': (Buffer);
  'stamp': (number);
}
