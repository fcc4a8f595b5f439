// Original file: proto/manager.proto

import type { BenefactorRef as _stdchk_v1_BenefactorRef, BenefactorRef__Output as _stdchk_v1_BenefactorRef__Output } from '../../stdchk/v1/BenefactorRef';

export interface PrepareReply {
  'present'?: (Buffer | Uint8Array | string);
  'targets'?: (_stdchk_v1_BenefactorRef)[];
}

export interface PrepareReply__Output {
  'present': (Buffer);
  'targets': (_stdchk_v1_BenefactorRef__Output)[];
}
