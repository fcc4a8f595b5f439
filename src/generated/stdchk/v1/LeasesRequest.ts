// Original file: proto/manager.proto


export interface LeasesRequest {
  'leaseIds'?: (string)[];
}

export interface LeasesRequest__Output {
  'leaseIds': (string)[];
}
