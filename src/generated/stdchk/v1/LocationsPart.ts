// Original file: proto/manager.proto


export interface LocationsPart {
  'hashes'?: (Buffer | Uint8Array | string);
}

export interface LocationsPart__Output {
  'hashes': (Buffer);
}
