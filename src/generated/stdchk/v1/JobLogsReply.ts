// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface JobLogsReply {
  'data'?: (Buffer | Uint8Array | string);
  'offset'?: (number | string | Long);
  'size'?: (number | string | Long);
  'finished'?: (boolean);
}

export interface JobLogsReply__Output {
  'data': (Buffer);
  'offset': (number);
  'size': (number);
  'finished': (boolean);
}
