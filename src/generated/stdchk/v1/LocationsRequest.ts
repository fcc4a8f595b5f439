// Original file: proto/manager.proto


export interface LocationsRequest {
  'benefactorId'?: (string);
}

export interface LocationsRequest__Output {
  'benefactorId': (string);
}
