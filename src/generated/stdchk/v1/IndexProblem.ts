// Original file: proto/manager.proto


export interface IndexProblem {
  'kind'?: (string);
  'path'?: (string);
  'hash'?: (Buffer | Uint8Array | string);
  'detail'?: (string);
}

export interface IndexProblem__Output {
  'kind': (string);
  'path': (string);
  'hash': (Buffer);
  'detail': (string);
}
