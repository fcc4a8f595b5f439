// Original file: proto/scheduler.proto


export interface DeregisterWorkerRequest {
  'workerId'?: (string);
  'incarnation'?: (string);
}

export interface DeregisterWorkerRequest__Output {
  'workerId': (string);
  'incarnation': (string);
}
