// Original file: proto/benefactor.proto


export interface ReadRequest {
  'hashes'?: (Buffer | Uint8Array | string);
}

export interface ReadRequest__Output {
  'hashes': (Buffer);
}
