// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface ScrubStatus {
  'lastCompletedMs'?: (number | string | Long);
  'passes'?: (number | string | Long);
  'progress'?: (number | string);
  'verifiedBytes'?: (number | string | Long);
}

export interface ScrubStatus__Output {
  'lastCompletedMs': (number);
  'passes': (number);
  'progress': (number);
  'verifiedBytes': (number);
}
