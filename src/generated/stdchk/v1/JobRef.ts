// Original file: proto/scheduler.proto


export interface JobRef {
  'id'?: (string);
}

export interface JobRef__Output {
  'id': (string);
}
