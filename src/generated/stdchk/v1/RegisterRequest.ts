// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface RegisterRequest {
  'id'?: (string);
  'host'?: (string);
  'address'?: (string);
  'capacityBytes'?: (number | string | Long);
  'usedBytes'?: (number | string | Long);
  'freeBytes'?: (number | string | Long);
  'chunks'?: (number | string | Long);
  'dataAddress'?: (string);
  'dataSocket'?: (string);
  'dataSocketHost'?: (string);
}

export interface RegisterRequest__Output {
  'id': (string);
  'host': (string);
  'address': (string);
  'capacityBytes': (number);
  'usedBytes': (number);
  'freeBytes': (number);
  'chunks': (number);
  'dataAddress': (string);
  'dataSocket': (string);
  'dataSocketHost': (string);
}
