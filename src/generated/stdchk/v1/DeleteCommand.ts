// Original file: proto/manager.proto


export interface DeleteCommand {
  'hashes'?: (Buffer | Uint8Array | string);
}

export interface DeleteCommand__Output {
  'hashes': (Buffer);
}
