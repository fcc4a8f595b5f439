// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface OpenVersionRequest {
  'path'?: (string);
  'version'?: (number | string | Long);
}

export interface OpenVersionRequest__Output {
  'path': (string);
  'version': (number);
}
