// Original file: proto/scheduler.proto


export interface SubmitJobRequest {
  'specJson'?: (string);
}

export interface SubmitJobRequest__Output {
  'specJson': (string);
}
