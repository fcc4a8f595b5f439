// Original file: proto/benefactor.proto

import type { Long } from '@grpc/proto-loader';

export interface StoreAck {
  'seq'?: (number | string | Long);
  'stored'?: (number);
  'existing'?: (number);
  'stamp'?: (number | string | Long);
}

export interface StoreAck__Output {
  'seq': (number);
  'stored': (number);
  'existing': (number);
  'stamp': (number);
}
