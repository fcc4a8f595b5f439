// Original file: proto/common.proto


export interface ChunkData {
  'hash'?: (Buffer | Uint8Array | string);
  'data'?: (Buffer | Uint8Array | string);
  'missing'?: (boolean);
}

export interface ChunkData__Output {
  'hash': (Buffer);
  'data': (Buffer);
  'missing': (boolean);
}
