// Original file: proto/scheduler.proto


export interface RegisterWorkerReply {
  'heartbeatIntervalMs'?: (number);
  'heartbeatTimeoutMs'?: (number);
  'leaseMs'?: (number);
}

export interface RegisterWorkerReply__Output {
  'heartbeatIntervalMs': (number);
  'heartbeatTimeoutMs': (number);
  'leaseMs': (number);
}
