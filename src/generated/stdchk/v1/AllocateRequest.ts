// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface AllocateRequest {
  'count'?: (number);
  'bytes'?: (number | string | Long);
  'exclude'?: (string)[];
}

export interface AllocateRequest__Output {
  'count': (number);
  'bytes': (number);
  'exclude': (string)[];
}
