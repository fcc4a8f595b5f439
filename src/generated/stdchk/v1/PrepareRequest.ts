// Original file: proto/manager.proto


export interface PrepareRequest {
  'refs'?: (Buffer | Uint8Array | string);
  'replicas'?: (number);
  'lookupOnly'?: (boolean);
  'encrypted'?: (boolean);
}

export interface PrepareRequest__Output {
  'refs': (Buffer);
  'replicas': (number);
  'lookupOnly': (boolean);
  'encrypted': (boolean);
}
