// Original file: proto/common.proto


export interface BenefactorRef {
  'id'?: (string);
  'address'?: (string);
  'host'?: (string);
}

export interface BenefactorRef__Output {
  'id': (string);
  'address': (string);
  'host': (string);
}
