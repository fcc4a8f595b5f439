// Original file: proto/manager.proto


export interface ChunkPlacement {
  'hash'?: (Buffer | Uint8Array | string);
  'length'?: (number);
  'refcount'?: (number);
  'target'?: (number);
  'holders'?: (string)[];
  'liveHolders'?: (string)[];
  'zero'?: (boolean);
}

export interface ChunkPlacement__Output {
  'hash': (Buffer);
  'length': (number);
  'refcount': (number);
  'target': (number);
  'holders': (string)[];
  'liveHolders': (string)[];
  'zero': (boolean);
}
