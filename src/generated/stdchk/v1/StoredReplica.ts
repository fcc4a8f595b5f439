// Original file: proto/manager.proto


export interface StoredReplica {
  'benefactorId'?: (string);
  'refs'?: (Buffer | Uint8Array | string);
}

export interface StoredReplica__Output {
  'benefactorId': (string);
  'refs': (Buffer);
}
