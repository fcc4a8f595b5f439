// Original file: proto/benefactor.proto

import type { Long } from '@grpc/proto-loader';

export interface StoreRequest {
  'seq'?: (number | string | Long);
  'refs'?: (Buffer | Uint8Array | string);
  'data'?: (Buffer | Uint8Array | string);
}

export interface StoreRequest__Output {
  'seq': (number);
  'refs': (Buffer);
  'data': (Buffer);
}
