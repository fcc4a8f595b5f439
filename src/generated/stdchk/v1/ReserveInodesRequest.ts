// Original file: proto/manager.proto


export interface ReserveInodesRequest {
  'count'?: (number);
}

export interface ReserveInodesRequest__Output {
  'count': (number);
}
