// Original file: proto/manager.proto


export interface MkdirRequest {
  'path'?: (string);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'parents'?: (boolean);
}

export interface MkdirRequest__Output {
  'path': (string);
  'mode': (number);
  'uid': (number);
  'gid': (number);
  'parents': (boolean);
}
