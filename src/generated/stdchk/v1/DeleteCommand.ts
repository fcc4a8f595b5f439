// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface DeleteCommand {
  'hashes'?: (Buffer | Uint8Array | string);
  'bound'?: (number | string | Long);
}

export interface DeleteCommand__Output {
  'hashes': (Buffer);
  'bound': (number);
}
