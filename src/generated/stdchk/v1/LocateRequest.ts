// Original file: proto/manager.proto


export interface LocateRequest {
  'hashes'?: (Buffer | Uint8Array | string);
}

export interface LocateRequest__Output {
  'hashes': (Buffer);
}
