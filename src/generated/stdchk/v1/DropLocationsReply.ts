// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface DropLocationsReply {
  'dropped'?: (number | string | Long);
}

export interface DropLocationsReply__Output {
  'dropped': (number);
}
