// Original file: proto/benefactor.proto


export interface ReadReply {
  'refs'?: (Buffer | Uint8Array | string);
  'data'?: (Buffer | Uint8Array | string);
  'missing'?: (Buffer | Uint8Array | string);
}

export interface ReadReply__Output {
  'refs': (Buffer);
  'data': (Buffer);
  'missing': (Buffer);
}
