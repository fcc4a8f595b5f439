// Original file: proto/manager.proto


export interface GcRequest {
  'dryRun'?: (boolean);
}

export interface GcRequest__Output {
  'dryRun': (boolean);
}
