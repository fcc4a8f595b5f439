// Original file: proto/scheduler.proto


export interface RegisterWorkerRequest {
  'workerId'?: (string);
  'incarnation'?: (string);
  'host'?: (string);
  'slots'?: (number);
  'kinds'?: (string)[];
}

export interface RegisterWorkerRequest__Output {
  'workerId': (string);
  'incarnation': (string);
  'host': (string);
  'slots': (number);
  'kinds': (string)[];
}
