// Original file: proto/scheduler.proto


export interface IntervalInfo {
  'seconds'?: (number | string);
  'policy'?: (string);
  'checkpointCost'?: (number | string);
  'mtbf'?: (number | string);
  'mtbfSource'?: (string);
  'reason'?: (string);
  'youngSeconds'?: (number | string);
}

export interface IntervalInfo__Output {
  'seconds': (number);
  'policy': (string);
  'checkpointCost': (number);
  'mtbf': (number);
  'mtbfSource': (string);
  'reason': (string);
  'youngSeconds': (number);
}
