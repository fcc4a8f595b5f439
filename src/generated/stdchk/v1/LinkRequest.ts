// Original file: proto/manager.proto


export interface LinkRequest {
  'from'?: (string);
  'to'?: (string);
}

export interface LinkRequest__Output {
  'from': (string);
  'to': (string);
}
