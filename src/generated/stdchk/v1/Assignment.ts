// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface Assignment {
  'jobId'?: (string);
  'epoch'?: (number | string | Long);
  'specJson'?: (string);
  'restoreSeq'?: (number | string | Long);
  'intervalSeconds'?: (number | string);
  'lastSeq'?: (number | string | Long);
}

export interface Assignment__Output {
  'jobId': (string);
  'epoch': (number);
  'specJson': (string);
  'restoreSeq': (number);
  'intervalSeconds': (number);
  'lastSeq': (number);
}
