// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface JobLogsRequest {
  'id'?: (string);
  'offset'?: (number | string | Long);
  'maxBytes'?: (number);
}

export interface JobLogsRequest__Output {
  'id': (string);
  'offset': (number);
  'maxBytes': (number);
}
