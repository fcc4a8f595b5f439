// Original file: proto/benefactor.proto

import type { Long } from '@grpc/proto-loader';

export interface InfoReply {
  'id'?: (string);
  'host'?: (string);
  'capacityBytes'?: (number | string | Long);
  'usedBytes'?: (number | string | Long);
  'freeBytes'?: (number | string | Long);
  'chunks'?: (number | string | Long);
}

export interface InfoReply__Output {
  'id': (string);
  'host': (string);
  'capacityBytes': (number);
  'usedBytes': (number);
  'freeBytes': (number);
  'chunks': (number);
}
