// Original file: proto/manager.proto


export interface DrainRequest {
  'benefactorId'?: (string);
}

export interface DrainRequest__Output {
  'benefactorId': (string);
}
