// Original file: proto/manager.proto


export interface RemoveRequest {
  'path'?: (string);
  'directory'?: (boolean);
  'recursive'?: (boolean);
}

export interface RemoveRequest__Output {
  'path': (string);
  'directory': (boolean);
  'recursive': (boolean);
}
