// Original file: proto/manager.proto


export interface MkdirRequest {
  'path'?: (string);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'parents'?: (boolean);
  '_mode'?: "mode";
}

export interface MkdirRequest__Output {
  'path': (string);
  'mode'?: (number);
  'uid': (number);
  'gid': (number);
  'parents': (boolean);
  '_mode'?: "mode";
}
