// Original file: proto/manager.proto


export interface PrepareRequest {
  'refs'?: (Buffer | Uint8Array | string);
  'replicas'?: (number);
}

export interface PrepareRequest__Output {
  'refs': (Buffer);
  'replicas': (number);
}
