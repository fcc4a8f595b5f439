// Original file: proto/manager.proto

import type { BenefactorRef as _stdchk_v1_BenefactorRef, BenefactorRef__Output as _stdchk_v1_BenefactorRef__Output } from '../../stdchk/v1/BenefactorRef';

export interface AllocateReply {
  'targets'?: (_stdchk_v1_BenefactorRef)[];
}

export interface AllocateReply__Output {
  'targets': (_stdchk_v1_BenefactorRef__Output)[];
}
