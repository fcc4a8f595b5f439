// Original file: proto/manager.proto


export interface RenameRequest {
  'from'?: (string);
  'to'?: (string);
}

export interface RenameRequest__Output {
  'from': (string);
  'to': (string);
}
