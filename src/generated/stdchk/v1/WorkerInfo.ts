// Original file: proto/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface WorkerInfo {
  'id'?: (string);
  'host'?: (string);
  'alive'?: (boolean);
  'slots'?: (number);
  'jobs'?: (string)[];
  'lastHeartbeatMs'?: (number | string | Long);
  'registeredAtMs'?: (number | string | Long);
  'kinds'?: (string)[];
}

export interface WorkerInfo__Output {
  'id': (string);
  'host': (string);
  'alive': (boolean);
  'slots': (number);
  'jobs': (string)[];
  'lastHeartbeatMs': (number);
  'registeredAtMs': (number);
  'kinds': (string)[];
}
