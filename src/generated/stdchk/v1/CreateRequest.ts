// Original file: proto/manager.proto


export interface CreateRequest {
  'path'?: (string);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'exclusive'?: (boolean);
  '_mode'?: "mode";
}

export interface CreateRequest__Output {
  'path': (string);
  'mode'?: (number);
  'uid': (number);
  'gid': (number);
  'exclusive': (boolean);
  '_mode'?: "mode";
}
