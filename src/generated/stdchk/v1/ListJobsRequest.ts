// Original file: proto/scheduler.proto


export interface ListJobsRequest {
  'states'?: (string)[];
}

export interface ListJobsRequest__Output {
  'states': (string)[];
}
