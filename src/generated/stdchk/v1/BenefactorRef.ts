// Original file: proto/common.proto


export interface BenefactorRef {
  'id'?: (string);
  'address'?: (string);
  'host'?: (string);
  'dataAddress'?: (string);
  'dataSocket'?: (string);
  'dataSocketHost'?: (string);
}

export interface BenefactorRef__Output {
  'id': (string);
  'address': (string);
  'host': (string);
  'dataAddress': (string);
  'dataSocket': (string);
  'dataSocketHost': (string);
}
