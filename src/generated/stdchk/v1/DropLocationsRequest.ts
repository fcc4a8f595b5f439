// Original file: proto/manager.proto


export interface DropLocationsRequest {
  'benefactorId'?: (string);
  'hashes'?: (Buffer | Uint8Array | string);
}

export interface DropLocationsRequest__Output {
  'benefactorId': (string);
  'hashes': (Buffer);
}
