// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface DumpPart {
  'records'?: (Buffer | Uint8Array | string);
  'count'?: (number | string | Long);
}

export interface DumpPart__Output {
  'records': (Buffer);
  'count': (number);
}
